// Glue between serverless.yml and the TypeScript stack description (deploy/*.ts). Works with osls
// and Serverless Framework v4: both call exported functions referenced by ${file(...):name}.
const { join } = require('node:path');
const { require: load } = require('tsx/cjs/api');

const { stackSettings } = load('./stack.ts', __filename);
const { functionNamesOnly, serverlessFunctions, serverlessResources } = load('./serverless-parts.ts', __filename);
const { assertDeployable } = load('./preflight.ts', __filename);

/**
 * The deploy tool's command (`osls deploy --stage prod` -> deploy). Only the commands that build
 * and ship artifacts are held to the deploy checks: `remove`, `info`, `logs` and the like must
 * still work on a stage deployed on purpose as a dry run (DEPLOY_ALLOW=dry-run, no longer set).
 */
const words = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const command = words[0];
// Any word that names a build counts, wherever it stands (`osls --stage prod deploy`): when in doubt, check.
const builds = command === undefined || words.some((word) => word === 'package' || word === 'deploy');

// Every package and deploy passes here first: no plaintext secret or local setting gets through.
async function settingsFor(resolveVariable) {
  const stage = await resolveVariable('sls:stage');
  const region = await resolveVariable('self:provider.region');
  if (builds) assertDeployable(process.env, { stage, region, serviceDir: join(__dirname, '..') });
  return stackSettings(process.env, stage);
}

// A configuration error is the operator's to fix, and its message says what: show it without a stack
// trace (osls prints a rejection's stack).
const plainConfigErrors = (build) => async (...args) => {
  try {
    return await build(...args);
  } catch (error) {
    if (error && error.name === 'ConfigError') error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
};

/**
 * For a command that builds nothing (remove, info, logs), a configuration that fails its checks
 * (an action's settings, a stage name too long) must not stop it: the stack is named by service and
 * stage alone. It goes on with the functions' names only, and no resources, after a warning.
 */
const orNamesOnly = (build, fallback) => async (options) => {
  try {
    return await build(options);
  } catch (error) {
    if (builds || !error || error.name !== 'ConfigError') throw error;
    console.warn(`WARNING: ${error.message}; osls ${command} goes on with the functions' names only`);
    return fallback();
  }
};

module.exports.functions = plainConfigErrors(
  orNamesOnly(async ({ resolveVariable }) => serverlessFunctions(await settingsFor(resolveVariable), process.env), () => functionNamesOnly(process.env)),
);
module.exports.resources = plainConfigErrors(orNamesOnly(async ({ resolveVariable }) => serverlessResources(await settingsFor(resolveVariable), process.env), () => ({})));
