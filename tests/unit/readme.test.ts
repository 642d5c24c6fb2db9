import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { defineAction } from '../../lib/actions/types';
import { intVar } from '../../lib/schema/env';
import { configGroups, declaredKeys, declaredNames } from '../../deploy/config-catalog';
import { configReference, renderLocalEnv, renderReadme } from '../../deploy/config-docs';
import { probeAction } from '../fixtures/probe-action';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const readme = read('README.md');

/** Code outside the config layer; the benchmark harness (scripts/bench) sets variables for what it measures. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if ([join('scripts', 'bench'), join('lib', 'config')].includes(path)) return [];
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|cjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const action = (config: unknown) => defineAction({ name: 'probe', description: 'p', config: config as v.GenericSchema<unknown, unknown>, run: async () => ({ status: 'succeeded', summary: '' }) });

describe('README', () => {
  it('shows the example event rules exactly as deploy/event-rules.yaml, which npm start loads', () => {
    const shown = /<!-- event-rules:start -->\n```yaml\n([\s\S]*?)```\n<!-- event-rules:end -->/.exec(readme)?.[1];
    expect(shown).toBe(read('deploy/event-rules.yaml'));
    expect(read('deploy/local.env')).toMatch(/^EVENT_RULES_FILE=deploy\/event-rules\.yaml$/m);
  });

  it('holds exactly the configuration reference and local.env that npm run docs generates', () => {
    expect(read('deploy/local.env')).toBe(renderLocalEnv(read('deploy/local.env')));
    expect(readme).toBe(renderReadme(readme, read('deploy/local.env')));
  });

  it('is generated from declarations that cover every key the code reads by name', () => {
    const declared = declaredNames();
    const patterns = [/\benv\.([A-Z][A-Z0-9_]+)/g, /\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g, /portOf\('([A-Z][A-Z0-9_]+)'\)/g, /\$\{env:([A-Z][A-Z0-9_]+)/g];
    const files = ['lib', 'local', 'deploy', 'scripts', 'functions'].flatMap(sourceFiles).filter((file) => file !== join('scripts', 'bench.ts'));
    const undeclared: string[] = [];
    for (const file of [...files, 'serverless.yml']) {
      for (const pattern of patterns) for (const [, key] of read(file).matchAll(pattern)) if (!declared.has(key!)) undeclared.push(`${file}: ${key}`);
    }
    for (const [, key] of read('deploy/local.env').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)) if (!declared.has(key!)) undeclared.push(`deploy/local.env: ${key}`);
    expect(undeclared).toEqual([]);
  });

  it('refuses a schema it cannot list: a union, or an entry without a builder or a meaning', () => {
    const groups = (config: unknown) => [{ title: 'probe', intro: '', schemas: [action(config).config] }];
    expect(() => configReference(groups(v.union([v.object({}), v.object({})])))).toThrow('probe: the config schema must be v.object({...}) of env builders, got union');
    expect(() => configReference(groups(v.object({ PROBE_X: v.optional(v.string(), '') })))).toThrow('probe: PROBE_X is not declared with an env builder');
    expect(() => configReference(groups(v.object({ PROBE_X: intVar(1, 0, 2, ' ') })))).toThrow('probe: PROBE_X has no meaning');
  });

  it("lists a new action's settings in local.env's generated tail, commented, unless the file sets them", () => {
    const tail = renderLocalEnv('PROBE_LIMIT=3\n', [probeAction]);
    expect(tail).toContain('# probe\n#PROBE_SOURCES=[]  (or PROBE_SOURCES_FILE=<JSON or YAML file>)\n#PROBE_TOKEN=  (or PROBE_TOKEN_PARAM=<SSM SecureString name>)\n');
    expect(tail).not.toContain('#PROBE_LIMIT');
    expect(renderLocalEnv(tail, [probeAction])).toBe(tail);
  });

  it('refuses one key declared twice with different declarations', () => {
    const one = { title: 'a', intro: '', schemas: [v.object({ PROBE_X: intVar(1, 0, 2, 'x') })] };
    const two = { title: 'b', intro: '', schemas: [v.object({ PROBE_X: intVar(1, 0, 2, 'x') })] };
    expect(() => declaredKeys([one, two])).toThrow('PROBE_X is declared twice (a and b)');
  });

  it('documents every action in the registry, each under its own heading', () => {
    for (const group of configGroups()) expect(readme).toContain(`#### ${group.title}`);
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
