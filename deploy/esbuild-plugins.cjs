// esbuild plugins for serverless-esbuild (custom.esbuild.plugins), also used by the bundle
// budget check and the benchmark so every measurement sees what Lambda runs.
const { join } = require('node:path');
const { projectSourceMap } = require('./project-source-map.cjs');
const { workerPerAction } = require('./worker-bundle.cjs');

module.exports = [
  workerPerAction,
  projectSourceMap,
  {
    // Lambda functions take credentials from the environment only; see lib/aws/lambda-credentials.ts.
    name: 'lambda-env-credentials',
    setup(build) {
      build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
        path: join(__dirname, '..', 'lib', 'aws', 'lambda-credentials.ts'),
      }));
    },
  },
  {
    // The SDK's HTTP handler loads `node:http(s)` with a dynamic import() the first time it sends.
    // In a CommonJS bundle that import builds an ES module facade of node:http, which reads every
    // export, and on Node 22+ some of those load undici: about 15 ms on the first request of every
    // cold Lambda (`npm run bench`, "Cold path"). A require() gives the handler the same module
    // without the facade.
    name: 'builtin-import-as-require',
    setup(build) {
      build.onResolve({ filter: /^node:https?$/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-require' } : undefined));
      build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    },
  },
  {
    // Structured settings given as YAML are converted to JSON by `npm run package`
    // (deploy/function-env.ts), so no deployed function parses YAML: the parser (about 117 KB
    // minified) stays out of every bundle. Locally and in tests the real package is used.
    name: 'yaml-converted-at-package-time',
    setup(build) {
      build.onResolve({ filter: /^yaml$/ }, () => ({ path: 'yaml', namespace: 'yaml-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'yaml-stub' }, () => ({
        contents:
          "exports.parse = () => { throw new Error('a YAML _FILE reached a deployed function; npm run package ships structured settings as JSON'); };",
        loader: 'js',
      }));
    },
  },
  {
    // The receiver ships without a source map: the map would more than double its zip (budget
    // 150 KB) and add to a cold start that sits inside FlashDuty's 1 s deadline, and the receiver
    // never logs stack traces. Workers keep theirs, trimmed to our own code (project-source-map.cjs).
    name: 'receiver-without-source-map',
    setup(build) {
      const entries = [].concat(build.initialOptions.entryPoints ?? []);
      if (entries.some((entry) => String(entry).replace(/\\/g, '/').includes('functions/receiver'))) {
        build.initialOptions.sourcemap = false;
      }
    },
  },
];
