import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { TemplateValueError } from '../../lib/template/compile';
import { compileHeader, compileJson, compileShell, compileUrl } from '../../lib/template/places';
import { contextWith } from '../fixtures/template-context';

/** Pieces that have broken URL, header, JSON and shell encoders elsewhere. */
const PIECES = ['a/b?x=1#y', '../', '..', '.', '%2e%2e', '%2E.', '%2F', '/', '\\', '?', '#', '&', '=', '+', ' ', '\r\n', '\r\nX-Injected: 1', '\u0000', '"', "'", '`', '$(id)', ';', 'é', '😀', '\ud800', '\udfff', ''];
const hostile = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 6 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const wellFormed = (text: string) => text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

describe('a hostile label value', () => {
  const url = compileUrl('https://h.example:8443/api/{{ labels.x }}/items?q={{ labels.x }}&n=1#frag');

  it('never changes a URL origin, path structure, query parameters or fragment', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        let rendered: string;
        try {
          rendered = url.render(contextWith({ x: value }));
        } catch (error) {
          // Only a value that would leave the segment empty or a dot segment is refused.
          expect(error).toBeInstanceOf(TemplateValueError);
          expect(['', '.', '..']).toContain(value.toLowerCase().replaceAll('%2e', '.'));
          return;
        }
        const parsed = new URL(rendered);
        expect([parsed.protocol, parsed.hostname, parsed.port, parsed.hash]).toEqual(['https:', 'h.example', '8443', '#frag']);
        const segments = parsed.pathname.split('/');
        expect(segments).toHaveLength(4);
        expect([segments[1], decodeURIComponent(segments[2]!), segments[3]]).toEqual(['api', wellFormed(value), 'items']);
        expect([...parsed.searchParams.keys()]).toEqual(['q', 'n']);
        expect(parsed.searchParams.get('q')).toBe(wellFormed(value));
      }),
      { numRuns: 500 },
    );
  });

  it('never adds a header line, and fetch accepts every header value it renders', () => {
    const header = compileHeader('Bearer {{ labels.x }}');
    fc.assert(
      fc.property(hostile, (value) => {
        try {
          const rendered = header.render(contextWith({ x: value }));
          expect(rendered).toMatch(/^[\t\x20-\x7e]*$/);
          expect(new Headers({ authorization: rendered }).get('authorization')).toBe(rendered.trim());
        } catch (error) {
          expect(error).toBeInstanceOf(TemplateValueError);
          expect(value).toMatch(/[^\t\x20-\x7e]/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stays inside its JSON string', () => {
    const body = compileJson({ query: 'service="{{ labels.x }}"', n: 1 });
    fc.assert(
      fc.property(hostile, (value) => {
        expect(JSON.parse(JSON.stringify(body.render(contextWith({ x: value }))))).toEqual({ query: `service="${value}"`, n: 1 });
      }),
      { numRuns: 500 },
    );
  });

  it('reaches a real shell as exactly one argument', () => {
    const command = compileShell(`set -- {{ labels.x }}; printf '%s|%s' "$#" "$1"`);
    const printable = fc.string({ unit: 'grapheme', maxLength: 20 }).map((extra) => extra.replaceAll('\u0000', ''));
    const value = fc.oneof(hostile.map((text) => wellFormed(text).replaceAll('\u0000', '')), printable);
    fc.assert(
      fc.property(value, (text) => {
        const rendered = command.render(contextWith({ x: text }));
        const output = execFileSync('sh', ['-c', rendered, 'sh'], { encoding: 'utf8' });
        expect(output).toBe(`1|${text}`);
      }),
      { numRuns: 60 },
    );
  });
});
