// The esbuild settings for every Lambda bundle, used by serverless-esbuild (serverless.yml
// custom.esbuild.config) and by the benchmark, so both measure what Lambda runs.
const plugins = require('./esbuild-plugins.cjs');

/** Options esbuild itself understands. */
const esbuildOptions = {
  bundle: true,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  keepNames: true,
  target: 'node24',
  platform: 'node',
  format: 'cjs',
  // ESM entry points of the AWS SDK tree-shake better: a smaller, faster-starting receiver.
  mainFields: ['module', 'main'],
  plugins,
};

module.exports = () => ({
  ...esbuildOptions,
  // Bundle the AWS SDK too: a pinned version instead of whatever the runtime ships.
  exclude: [],
  packager: 'npm',
});
module.exports.esbuildOptions = esbuildOptions;
