import fc from 'fast-check';
import { makeHttp, redactUrl, secret } from '../../lib/http/outbound';

const value = fc.string({ unit: 'grapheme', minLength: 4, maxLength: 20 }).filter((text) => /[A-Za-z0-9]{4}/.test(text));

describe('redaction', () => {
  it('never shows a query value or user info in a URL meant for errors and logs', () => {
    fc.assert(
      fc.property(value, value, (query, password) => {
        const url = new URL('https://h.example/api');
        url.searchParams.set('token', query);
        url.username = 'user';
        url.password = password;
        const shown = redactUrl(url.href, false, true);
        expect(shown).toBe('https://***@h.example/api?token=***');
      }),
    );
  });

  it('never shows a secret header value or a secret URL in a dry-run description', () => {
    const describe = (token: string) =>
      makeHttp().describe({ method: 'POST', url: secret(`https://hooks.example/T0/${encodeURIComponent(token)}`), headers: { authorization: secret(`Bearer ${token}`) }, json: { text: 'hi' } });
    // A token that is part of the description's fixed text (say "http") would be found there.
    const fixed = describe('0');
    const token = value.filter((text) => /^[\x20-\x7e]+$/.test(text) && text.trim() === text && !fixed.includes(text));
    fc.assert(
      fc.property(token, (token) => {
        const described = describe(token);
        expect(described).not.toContain(token);
        expect(described).not.toContain(encodeURIComponent(token));
        expect(described).toContain('https://hooks.example/*** (');
      }),
    );
  });
});
