/**
 * `npm run setup -- --stage <stage> [--region <r>] [--rotate-token | --finish-rotation] [--rotate-app-key]`: creates the
 * stage's secret parameters when missing (a generated webhook token; the FlashDuty app key from
 * FLASHDUTY_APP_KEY in the environment, piped on stdin, or typed at a hidden prompt), then prints
 * which other secret parameters the stage's actions read are missing, and what to enter in
 * FlashDuty's Custom Action form for each action the deployed stack serves.
 * Changes nothing that exists, unless asked to rotate the token or the app key.
 */
import { randomBytes } from 'node:crypto';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { workerParameters } from '../deploy/serverless-parts';
import { stackSettings } from '../deploy/stack';
import { parseTokenList } from '../lib/auth/tokens';
import { ConfigError } from '../lib/errors';
import { readSecretInput } from './hidden-input';
import { buttonName, stackEndpoints, deploySettings, parseOptions, readParameter, secretParameterNames } from './operator';
import { runScript, ScriptError } from './queues';

const USAGE = 'npm run setup -- --stage <stage> [--region <region>] [--rotate-token | --finish-rotation] [--rotate-app-key]';

const options = parseOptions(process.argv.slice(2), { usage: USAGE, values: [], switches: ['--rotate-token', '--finish-rotation', '--rotate-app-key'] }, process.env);

const newToken = () => randomBytes(32).toString('hex');

async function main(): Promise<void> {
  const { stage, region, switches } = options;
  const env = deploySettings(stage);
  const names = secretParameterNames(stage, env);
  const ssm = new SSMClient({ region });
  const put = (name: string, value: string, overwrite: boolean) =>
    ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: overwrite, Description: `flashduty-actions ${stage} (npm run setup)` }));

  let tokens = parseTokenList((await readParameter(ssm, names.tokens)) ?? '');
  if (tokens.length === 0) {
    const { value, created } = await createIfMissing(ssm, names.tokens, newToken(), put);
    tokens = parseTokenList(value);
    console.log(created ? `created ${names.tokens} with a new token` : `${names.tokens} was just created elsewhere; using it`);
  } else if (switches.has('--rotate-token')) {
    tokens = await rotate(tokens, (value) => put(names.tokens, value, true), stage);
  } else if (switches.has('--finish-rotation')) {
    tokens = await finishRotation(tokens, (value) => put(names.tokens, value, true), names.tokens);
  } else {
    console.log(`${names.tokens} exists (${tokens.length} token${tokens.length > 1 ? 's: a rotation is under way' : ''}); left as it is`);
  }

  const exists = (await readParameter(ssm, names.appKey)) !== undefined;
  if (!exists || switches.has('--rotate-app-key')) {
    const appKey = await readSecretInput('FLASHDUTY_APP_KEY', 'FlashDuty APP key (Account -> APP Keys; not shown as you type): ', process.env);
    if (exists) {
      await put(names.appKey, appKey, true);
      // Workers read the key again after SECRET_MAX_AGE_SECONDS (300 s by default): no redeploy needed.
      console.log(`replaced the key in ${names.appKey}; workers use it within 5 minutes (SECRET_MAX_AGE_SECONDS): delete the old key in FlashDuty after that`);
    } else {
      const { created } = await createIfMissing(ssm, names.appKey, appKey, put);
      console.log(created ? `created ${names.appKey}` : `${names.appKey} was just created elsewhere; left as it is`);
    }
  } else {
    console.log(`${names.appKey} exists; left as it is (--rotate-app-key replaces it)`);
  }
  await checkOtherSecrets(ssm, stage, env, [names.tokens, names.appKey]);
  ssm.destroy();
  await printForms(region, stage, tokens.at(-1)!);
}

/**
 * Every other SSM parameter the stage's workers read (an action's `<KEY>_PARAM`, a rollback
 * target's `token_param`, an enrich header's `secret_param`, a default name the stack grants):
 * setup cannot know their values, so it says which are missing and how to create each, without
 * reading any value.
 */
async function checkOtherSecrets(ssm: SSMClient, stage: string, env: NodeJS.ProcessEnv, own: string[]): Promise<void> {
  let names: string[];
  try {
    const settings = stackSettings(env, stage);
    names = [...new Set(settings.actions.flatMap((action) => workerParameters(settings, env, action)))].filter((name) => !own.includes(name));
  } catch (error) {
    // The settings may live elsewhere (CI) or not be written yet: the forms below matter more.
    if (!(error instanceof ConfigError)) throw error;
    return void console.log(`could not list the other secrets the stage's actions read, from this shell's settings: ${error.message}`);
  }
  for (const name of names) {
    const found = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: false })).then(
      () => 'exists',
      (error: Error) => (error.name === 'ParameterNotFound' ? undefined : `could not be checked (${error.name})`),
    );
    if (found) console.log(`${name} ${found}`);
    else console.log(`${name} is missing: the action that reads it fails until it exists; create it with\n  read -rs VALUE && aws ssm put-parameter --type SecureString --name ${name} --value "$VALUE"`);
  }
}

/**
 * Creates `name` only if it does not exist (SSM refuses the create otherwise). A create whose answer
 * was lost and was sent again, or another setup racing this one, finds the parameter there: its
 * value is read back and kept, never overwritten.
 */
async function createIfMissing(ssm: SSMClient, name: string, value: string, put: (name: string, value: string, overwrite: boolean) => Promise<unknown>): Promise<{ value: string; created: boolean }> {
  try {
    await put(name, value, false);
    return { value, created: true };
  } catch (error) {
    if ((error as Error).name !== 'ParameterAlreadyExists') throw error;
    return { value: (await readParameter(ssm, name)) ?? '', created: false };
  }
}

/** Adds a second token; the old one keeps working until the rotation is finished. */
async function rotate(tokens: string[], write: (value: string) => Promise<unknown>, stage: string): Promise<string[]> {
  if (tokens.length > 1) {
    throw new ScriptError(`a rotation is already under way (${tokens.length} tokens); finish it first with \`npm run setup -- --stage ${stage} --finish-rotation\``);
  }
  const next = [...tokens, newToken()];
  await write(next.join(','));
  console.log(
    [
      'added a second token; the receiver accepts both within 5 minutes (it reloads its tokens every SECRET_MAX_AGE_SECONDS).',
      '  1. after those 5 minutes, put the new Authorization header below into each Custom Action in FlashDuty and click one,',
      `  2. then remove the old token: npm run setup -- --stage ${stage} --finish-rotation (refused within the next 5 minutes)`,
    ].join('\n'),
  );
  return next;
}

/** Keeps only the newest token. */
async function finishRotation(tokens: string[], write: (value: string) => Promise<unknown>, name: string): Promise<string[]> {
  if (tokens.length === 1) {
    console.log(`${name} holds one token; no rotation to finish`);
    return tokens;
  }
  await write(tokens.at(-1)!);
  console.log(`removed the old token from ${name}; the receiver refuses it within 5 minutes (SECRET_MAX_AGE_SECONDS)`);
  return [tokens.at(-1)!];
}

/** The Custom Action form, per action the stack serves. */
async function printForms(region: string, stage: string, token: string): Promise<void> {
  const { actions, others } = await stackEndpoints(region, stage);
  if (actions.size === 0) throw new ScriptError(`the stack for stage "${stage}" has no action URLs in its outputs; is ENABLED_ACTIONS empty?`);
  console.log(`\nIn FlashDuty: Integration Center -> Webhook -> Custom Action, once per action (stage ${stage}, ${region}):`);
  for (const [action, url] of actions) {
    console.log(`\n  Action name     ${buttonName(action)}`);
    console.log(`  Endpoint        ${url}`);
    console.log(`  Headers         Authorization = Bearer ${token}`);
    console.log('  TLS verification on; Channels: those whose incidents should show the button');
  }
  for (const [key, url] of others) console.log(`\nAlso in the stack's outputs: ${key} ${url}`);
  console.log(`\nThen prove the wiring without FlashDuty: npm run smoke -- --stage ${stage} --incident <incident id>`);
}

runScript(main, { stage: options.stage, sqsPort: '' });
