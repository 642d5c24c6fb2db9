import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cycles, importsOf, longFunctions, packageOf, resolveLocal, sourceFiles } from '../fixtures/imports';

const ROOT = join(__dirname, '..', '..');

/** A file's folder under lib/ (lib/queue), or the file itself when it sits in lib/ (lib/errors.ts). */
const folderOf = (file: string) => file.split('/').slice(0, 2).join('/');

/** The imports between project files under lib/, as `from -> to` edges. */
function libEdges(): Array<[from: string, to: string]> {
  return importsOf(ROOT, sourceFiles(ROOT, 'lib')).flatMap((imp) => {
    const to = resolveLocal(ROOT, imp);
    return to?.startsWith('lib/') ? [[imp.from, to] as [string, string]] : [];
  });
}

function graph(edges: Array<[string, string]>): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const [from, to] of edges) if (from !== to) map.set(from, (map.get(from) ?? new Set()).add(to));
  return map;
}

describe('the import graph of lib/', () => {
  it('runs downward only: no two folders import each other, directly or around a loop', () => {
    const edges = libEdges();
    const loops = cycles(graph(edges.map(([from, to]) => [folderOf(from), folderOf(to)])));
    // On failure, name the imports that tie each loop, so the fix is where to look.
    const ties = loops.map((loop) => edges.filter(([from, to]) => folderOf(from) !== folderOf(to) && loop.includes(folderOf(from)) && loop.includes(folderOf(to))).map(([from, to]) => `${from} -> ${to}`));
    expect(ties).toEqual([]);
  });

  it('has no files that import each other around a loop', () => {
    expect(cycles(graph(libEdges()))).toEqual([]);
  });

  it('is read from every kind of import line: type-only, multi-line, re-exports', () => {
    const imports = importsOf(ROOT, ['lib/worker/handler.ts', 'lib/actions/restart-host/command.ts']);
    expect(imports).toContainEqual({ from: 'lib/worker/handler.ts', specifier: '../actions/types', typeOnly: true });
    expect(imports).toContainEqual({ from: 'lib/actions/restart-host/command.ts', specifier: '@aws-sdk/client-ssm', typeOnly: false });
    expect(resolveLocal(ROOT, { from: 'lib/worker/handler.ts', specifier: '../actions/types', typeOnly: true })).toBe('lib/actions/types.ts');
  });

  it('finds a loop of three and leaves a chain alone', () => {
    const loop = graph([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']]);
    expect(cycles(loop)).toEqual([['a', 'b', 'c']]);
    expect(cycles(graph([['a', 'b'], ['b', 'c']]))).toEqual([]);
  });
});

describe('functions in lib/ and deploy/', () => {
  it('fit on a screen: none is over 60 lines (split a longer one into named steps)', () => {
    expect(longFunctions(ROOT, [...sourceFiles(ROOT, 'lib'), ...sourceFiles(ROOT, 'deploy')], 60)).toEqual([]);
  });

  it('are measured whole, nested functions included', () => {
    const found = longFunctions(ROOT, ['lib/worker/handler.ts'], 10);
    expect(found).toContainEqual(expect.stringMatching(/^lib\/worker\/handler\.ts:\d+ runAction \(\d+ lines\)$/));
    expect(found).toContainEqual(expect.stringMatching(/^lib\/worker\/handler\.ts:\d+ makeWorker \(\d+ lines\)$/));
  });
});

describe('lib/', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const imports = importsOf(ROOT, sourceFiles(ROOT, 'lib'));

  it('ships: every package it imports at run time is a dependency, none a devDependency', () => {
    // Type-only imports are erased from the bundle (e.g. the aws-lambda event types).
    const missing = imports.filter((imp) => !imp.typeOnly && packageOf(imp.specifier) !== undefined && !(packageOf(imp.specifier)! in manifest.dependencies));
    expect(missing.map((imp) => `${imp.from}: ${imp.specifier}`)).toEqual([]);
  });

  it('stands alone: it imports nothing from the local harness, deploy/, scripts/ or tests/', () => {
    // package.json only for its version (the User-Agent), which the bundler inlines.
    const outside = imports.filter((imp) => {
      const to = resolveLocal(ROOT, imp);
      return to !== undefined && !to.startsWith('lib/') && to !== 'package.json';
    });
    expect(outside.map((imp) => `${imp.from}: ${imp.specifier}`)).toEqual([]);
  });
});
