import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const majorIn = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1]);

// A move to a new Node major touches five places; any one left behind means the tests or the
// bundle run on a Node the deployed functions do not.
describe('the Node major', () => {
  const lambda = majorIn(read('serverless.yml'), /^\s*runtime:\s*nodejs(\d+)\.x\s*$/m);
  const pkg = JSON.parse(read('package.json'));

  it('is one Lambda runtime in serverless.yml', () => {
    expect(lambda).toBe(24);
  });

  it('is the one the tests run on, from the node devDependency', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(lambda);
    expect(majorIn(pkg.devDependencies.node, /^\^(\d+)\./)).toBe(lambda);
  });

  it('is the one esbuild targets, the engines floor and the @types/node major', () => {
    const { esbuildOptions } = require('../../deploy/esbuild.config.cjs') as { esbuildOptions: { target: string } };
    expect(esbuildOptions.target).toBe(`node${lambda}`);
    expect(pkg.engines.node).toBe(`>=${lambda}`);
    expect(majorIn(pkg.devDependencies['@types/node'], /^\^(\d+)\./)).toBe(lambda);
  });
});
