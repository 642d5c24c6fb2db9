import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIONS } from '../../lib/actions/registry';
import { ReceiverEnv } from '../../lib/config/receiver';
import { WorkerEnv } from '../../lib/config/worker';
import { DeployEnv } from '../../deploy/stack';
import { actionConfigKeys, ServerlessEnv } from '../../deploy/serverless-parts';
import { PreflightEnv } from '../../deploy/preflight';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Product code; the benchmark harness (scripts/bench) only sets variables for what it measures. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (path === join('scripts', 'bench')) return [];
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|cjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every environment variable the code, the deploy template and the local tools read. */
function keysTheCodeReads(): Set<string> {
  const keys = new Set<string>();
  for (const schema of [ReceiverEnv, WorkerEnv, DeployEnv, ServerlessEnv, PreflightEnv]) Object.keys(schema.entries).forEach((k) => keys.add(k));
  for (const action of ACTIONS) actionConfigKeys(action).forEach((k) => keys.add(k));
  // The receiver reads one queue URL per enabled action (lib/queue/names.ts).
  keys.add('QUEUE_URL_<ACTION>');
  const patterns = [/\benv\.([A-Z][A-Z0-9_]+)/g, /\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g, /portOf\('([A-Z][A-Z0-9_]+)'\)/g, /\$\{env:([A-Z][A-Z0-9_]+)/g];
  const files = ['lib', 'deploy', 'scripts', 'functions'].flatMap(sourceFiles).filter((file) => file !== join('scripts', 'bench.ts'));
  for (const file of [...files, 'serverless.yml']) {
    const text = read(file);
    for (const pattern of patterns) for (const [, key] of text.matchAll(pattern)) keys.add(key!);
    for (const [, list] of text.matchAll(/pick\(env, \[([^\]]*)\]/g)) for (const [, key] of list!.matchAll(/'([A-Z][A-Z0-9_]+)'/g)) keys.add(key!);
  }
  // Variables serverless.yml sets for every function are read by Powertools.
  const providerEnv = /\n {2}environment:\n((?: {4}.*\n)+)/.exec(read('serverless.yml'))?.[1] ?? '';
  for (const [, key] of providerEnv.matchAll(/^ {4}([A-Z][A-Z0-9_]+):/gm)) keys.add(key!);
  for (const [, key] of read('deploy/local.env').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)) keys.add(key!);
  return keys;
}

function keysInTheTable(): Set<string> {
  const table = /<!-- config:start -->([\s\S]*?)<!-- config:end -->/.exec(readme)?.[1] ?? '';
  const keys = new Set<string>();
  for (const row of table.split('\n').filter((line) => line.startsWith('| `'))) {
    const first = row.split('|')[1] ?? '';
    for (const [, key] of first.matchAll(/`([A-Z][A-Z0-9_<>]+)`/g)) keys.add(key!);
  }
  return keys;
}

describe('README', () => {
  it('lists every environment variable the code reads, and none it does not', () => {
    const code = [...keysTheCodeReads()].sort();
    const table = [...keysInTheTable()].sort();
    expect(code.filter((key) => !table.includes(key))).toEqual([]);
    expect(table.filter((key) => !code.includes(key))).toEqual([]);
  });

  it('shows exactly the example configuration npm start loads', () => {
    const block = /<!-- local\.env:start -->\n```sh\n([\s\S]*?)```\n<!-- local\.env:end -->/.exec(readme)?.[1];
    expect(block).toBe(read('deploy/local.env'));
  });

  it('opens with the three-command quick start and has the sections a newcomer needs', () => {
    expect(readme).toContain('npm ci\nnpm start');
    expect(readme).toContain('npm run send -- restart-host');
    for (const heading of ['## Quick start', '## Deploy to AWS', '### Create the Custom Action in FlashDuty', '## Configuration reference', '## Security notes', '## Operations', '## Troubleshooting', '## Adding an action']) {
      expect(readme).toContain(heading);
    }
  });

  it('names only npm scripts that exist', () => {
    const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
    for (const [, name] of readme.matchAll(/npm run ([a-z:-]+)/g)) expect(scripts).toContain(name);
  });
});
