// Glue between serverless.yml and the TypeScript stack description (deploy/*.ts). Works with osls
// and Serverless Framework v4: both call exported functions referenced by ${file(...):name}.
const { require: load } = require('tsx/cjs/api');

const { stackSettings } = load('./stack.ts', __filename);
const { serverlessFunctions, serverlessResources } = load('./serverless-parts.ts', __filename);

async function settingsFor(resolveVariable) {
  const stage = await resolveVariable('sls:stage');
  return stackSettings(process.env, stage);
}

module.exports.functions = async ({ resolveVariable }) => serverlessFunctions(await settingsFor(resolveVariable), process.env);
module.exports.resources = async ({ resolveVariable }) => serverlessResources(await settingsFor(resolveVariable), process.env);
