import { parseTokenList, TokenVerifier } from '../../lib/auth/tokens';

const CURRENT = 'current-token-0123456789';
const NEXT = 'next-token-abcdefghijkl';

describe('TokenVerifier', () => {
  const verifier = new TokenVerifier([CURRENT, NEXT], 'WEBHOOK_TOKENS');

  it('accepts every configured token, so one can be rotated without downtime', () => {
    expect(verifier.verify(`Bearer ${CURRENT}`)).toBe(true);
    expect(verifier.verify(`Bearer ${NEXT}`)).toBe(true);
  });

  it('accepts the scheme in any case and surrounding blanks', () => {
    expect(verifier.verify(`bearer   ${CURRENT} `)).toBe(true);
  });

  it.each([
    ['missing header', undefined],
    ['empty header', ''],
    ['no scheme', CURRENT],
    ['another scheme', `Basic ${CURRENT}`],
    ['prefix of a token', `Bearer ${CURRENT.slice(0, -1)}`],
    ['token with extra text', `Bearer ${CURRENT}x`],
    ['two tokens', `Bearer ${CURRENT} ${NEXT}`],
    ['empty token', 'Bearer '],
  ])('refuses a %s', (_label, header) => {
    expect(verifier.verify(header)).toBe(false);
  });

  it('refuses to start without tokens or with a short one, without echoing it', () => {
    expect(() => new TokenVerifier([], 'WEBHOOK_TOKENS')).toThrow('WEBHOOK_TOKENS: no webhook token configured');
    const attempt = () => new TokenVerifier([CURRENT, 'short-secret'], 'WEBHOOK_TOKENS');
    expect(attempt).toThrow('WEBHOOK_TOKENS: token #2 is shorter than 16 characters');
    expect(attempt).not.toThrow(/short-secret/);
  });

  it('splits a comma-separated list and drops blanks', () => {
    expect(parseTokenList(` ${CURRENT}, ,${NEXT},`)).toEqual([CURRENT, NEXT]);
  });
});
