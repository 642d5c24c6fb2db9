import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { ACTIONS } from '../../lib/actions/registry';
import { bundleWorker } from '../../deploy/bundle';

const { actionModule } = require('../../deploy/worker-bundle.cjs') as { actionModule: (action: string) => string };

/** The project files that make up an action: its module, or its folder. */
const ownFiles = (action: string) => {
  const module = actionModule(action);
  return (file: string) => (module.endsWith('/index') ? file.startsWith(module.replace(/index$/, '')) : file === `${module}.ts`);
};

describe('worker bundles, one per action', () => {
  const inputs = new Map<string, string[]>();
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'worker-bundles-'));
    for (const action of ACTIONS) {
      const { metafile }: { metafile: Metafile } = await bundleWorker(action.name, join(dir, action.name));
      inputs.set(action.name, Object.keys(metafile.inputs));
    }
  }, 120_000);

  it.each(ACTIONS.map((a) => a.name))('bundles the %s worker with its own action and no other', (name) => {
    const files = inputs.get(name)!;
    expect(files).toContain('functions/worker.ts');
    expect(files.some(ownFiles(name))).toBe(true);
    const others = ACTIONS.filter((a) => a.name !== name).map((a) => ownFiles(a.name));
    expect(files.filter((file) => others.some((isOther) => isOther(file)))).toEqual([]);
  });
});

describe('where a worker is bundled from', () => {
  it.each(ACTIONS.map((a) => [a.name, a] as const))('finds the %s action exported by the module named after it', (name, action) => {
    const module: Record<string, unknown> = require(join(__dirname, '..', '..', actionModule(name)));
    expect(Object.values(module)).toContain(action);
  });

  it('refuses an action without a module of its name, saying where it must live', () => {
    expect(() => actionModule('no-such-action')).toThrow('action "no-such-action" must live in lib/actions/no-such-action.ts or lib/actions/no-such-action/index.ts');
  });
});
