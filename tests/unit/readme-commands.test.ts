import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const readme = read('README.md');
const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;

/** Every `npm run <script> [-- options]` the README shows, with the options it passes. */
const commands = [...readme.matchAll(/npm run ([a-z:]+)(?: -- ([^`\n]*))?/g)].map(([, script, args]) => ({ script: script!, options: [...(args ?? '').matchAll(/(--[a-z-]+)/g)].map(([o]) => o!) }));

describe('the commands the README shows', () => {
  it('name only npm scripts package.json has', () => {
    expect(commands.length).toBeGreaterThan(10);
    expect([...new Set(commands.map((c) => c.script))].filter((script) => !(script in scripts))).toEqual([]);
  });

  it('pass only options the operator scripts accept', () => {
    const files: Record<string, string> = { setup: 'scripts/setup.ts', smoke: 'scripts/smoke.ts', send: 'scripts/send-options.ts', status: 'scripts/queues.ts', redrive: 'scripts/queues.ts', package: 'scripts/package.ts' };
    const unknown = commands.flatMap(({ script, options }) => {
      const file = files[script];
      if (!file) return [];
      // The options a script names in quotes: its parser's list ('--rotate-token', '--label', …).
      const known = new Set(['--stage', '--region', ...[...`${read(file)}${read('scripts/operator.ts')}`.matchAll(/'(--[a-z-]+)'/g)].map(([, o]) => o!)]);
      return options.filter((option) => !known.has(option)).map((option) => `npm run ${script} -- ${option}`);
    });
    expect(unknown).toEqual([]);
  });
});
