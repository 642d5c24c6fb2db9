import { mkdtempSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';

const { decode, encode, keepSources } = require('../../deploy/project-source-map.cjs') as {
  decode: (segment: string) => number[];
  encode: (fields: number[]) => string;
  keepSources: (map: SourceMapPayload, keep: (source: string) => boolean) => SourceMapPayload;
};

const ROOT = join(__dirname, '..', '..');
const ours = (source: string) => !source.includes('node_modules/');

/** Every mapped position of a map: generated line and column, and the source it maps to. */
function positions(map: SourceMapPayload): Array<{ line: number; column: number; source: string }> {
  const found: Array<{ line: number; column: number; source: string }> = [];
  let source = 0;
  map.mappings.split(';').forEach((text, line) => {
    let column = 0;
    for (const segment of text ? text.split(',') : []) {
      const fields = decode(segment);
      column += fields[0]!;
      if (fields.length >= 4) source += fields[1]!;
      if (fields.length >= 4) found.push({ line, column, source: map.sources[source]! });
    }
  });
  return found;
}

describe('source maps trimmed to our own code', () => {
  let full: SourceMapPayload;
  beforeAll(async () => {
    // A small bundle that mixes our code with a dependency (valibot).
    const outdir = mkdtempSync(join(tmpdir(), 'source-map-'));
    await build({ entryPoints: [join(ROOT, 'lib/schema/env.ts')], bundle: true, minify: true, sourcemap: true, platform: 'node', outdir, logLevel: 'error' });
    full = JSON.parse(readFileSync(join(outdir, 'env.js.map'), 'utf8'));
  });

  it('reads back every VLQ field it writes', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -(2 ** 30), max: 2 ** 30 }), { minLength: 1, maxLength: 5 }), (fields) => {
      expect(decode(encode(fields))).toEqual(fields);
    }));
  });

  it('maps every position in our code exactly as the full map does', () => {
    const trimmed = new SourceMap(keepSources(full, ours));
    const original = new SourceMap(full);
    const inOurCode = positions(full).filter((p) => ours(p.source));
    expect(inOurCode.length).toBeGreaterThan(10);
    for (const { line, column } of inOurCode) expect(trimmed.findEntry(line, column)).toEqual(original.findEntry(line, column));
  });

  it("maps a position in a dependency's code to nothing rather than to neighbouring code", () => {
    const trimmed = new SourceMap(keepSources(full, ours));
    const inDependencies = positions(full).filter((p) => !ours(p.source));
    expect(inDependencies.length).toBeGreaterThan(10);
    for (const { line, column } of inDependencies) expect(trimmed.findEntry(line, column)).not.toHaveProperty('originalSource', expect.any(String));
  });

  it('keeps code at the very end of the bundle unmapped when it is a dependency', () => {
    const map = { version: 3, file: 'x.js', sources: ['../lib/a.ts', '../node_modules/b/index.js'], sourceRoot: '', sourcesContent: [], names: [], mappings: 'AAAA,ECAA' };
    const trimmed = new SourceMap(keepSources(map, ours));
    expect(trimmed.findEntry(0, 0)).toHaveProperty('originalSource');
    expect(trimmed.findEntry(0, 3)).not.toHaveProperty('originalSource', expect.any(String));
  });

  it('drops the sources and names nothing refers to', () => {
    const trimmed = keepSources(full, ours);
    expect(trimmed.sources.length).toBeGreaterThan(0);
    expect(trimmed.sources.every(ours)).toBe(true);
    expect(trimmed.names.length).toBeLessThan(full.names.length);
  });
});
