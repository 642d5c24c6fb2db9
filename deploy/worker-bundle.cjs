// One worker bundle per action, holding only that action: an action's dependencies (restart-host's
// SSM client, say) land in its own worker's zip and no other.
//
// serverless-esbuild builds one bundle per distinct entry file, so workers sharing
// `functions/worker.handler` would share one bundle holding every action. Instead each worker's
// handler names its action's module (`lib/actions/echo.handler`). When esbuild is asked to build
// an action's module as an entry point, the plugin below builds `functions/worker.ts` in its place,
// under the module's output name (the file Lambda loads), with the action registry cut down to
// that one module. Tests and the local stack import the full registry and are not affected.
const { existsSync } = require('node:fs');
const { basename, join, posix, relative, resolve } = require('node:path');

const ROOT = join(__dirname, '..');
const ACTIONS_DIR = join(ROOT, 'lib', 'actions');
const WORKER_ENTRY = join(ROOT, 'functions', 'worker.ts');
const REGISTRY = join(ACTIONS_DIR, 'registry');

/**
 * Where an action lives, relative to the project root and without extension: `lib/actions/<name>`
 * or `lib/actions/<name>/index`. The worker's handler is `<that>.handler`.
 */
function actionModule(name) {
  for (const file of [`${name}.ts`, `${name}/index.ts`]) {
    if (existsSync(join(ACTIONS_DIR, file))) return posix.join('lib/actions', file.replace(/\.ts$/, ''));
  }
  throw new Error(`action "${name}" must live in lib/actions/${name}.ts or lib/actions/${name}/index.ts: its worker is bundled from that module`);
}

/** The action whose module `entry` is (`lib/actions/<name>.ts` or `.../<name>/index.ts`), if it is one. */
function actionOfEntry(entry, workingDir) {
  const path = relative(ACTIONS_DIR, resolve(workingDir, String(entry))).replace(/\\/g, '/');
  return /^([a-z0-9][a-z0-9-]*)(?:\/index)?\.ts$/.exec(path)?.[1];
}

const workerPerAction = {
  name: 'worker-per-action',
  setup(build) {
    const entries = [].concat(build.initialOptions.entryPoints ?? []);
    const entry = entries.length === 1 && typeof entries[0] === 'string' ? entries[0] : undefined;
    const action = entry && actionOfEntry(entry, build.initialOptions.absWorkingDir ?? process.cwd());
    if (!action) return;
    const module = join(ROOT, actionModule(action));
    build.initialOptions.entryPoints = [{ in: WORKER_ENTRY, out: basename(module) }];
    build.onResolve({ filter: /\/registry$/ }, (args) =>
      resolve(args.resolveDir, args.path) === REGISTRY ? { path: REGISTRY, namespace: 'worker-per-action' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'worker-per-action' }, () => ({
      contents: `import * as module from ${JSON.stringify(module)};\nexport const ACTIONS = Object.values(module).filter((a) => a?.name === ${JSON.stringify(action)});\n`,
      resolveDir: ACTIONS_DIR,
      loader: 'ts',
    }));
  },
};

module.exports = { actionModule, workerPerAction };
