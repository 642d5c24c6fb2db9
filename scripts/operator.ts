/**
 * What `npm run setup` and `npm run smoke` share: their options, the stage's deploy settings, the
 * names of its secret parameters and functions, and its stack's outputs. Every AWS client is the
 * real SDK client with the usual credential chain; AWS_ENDPOINT_URL_<SERVICE> points one at a
 * local stand-in (the tests do).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { SERVICE } from '../deploy/stack';
import { deploySettings, ScriptError } from './queues';

export interface Options {
  stage: string;
  region: string;
  values: Map<string, string>;
  switches: Set<string>;
}

/**
 * `--stage` (required), `--region`, and the script's own options; anything else is a usage error,
 * so a typo never runs against the wrong thing.
 */
export function parseOptions(argv: string[], spec: { usage: string; values: string[]; switches: string[] }, env: NodeJS.ProcessEnv): Options {
  try {
    return readOptions(argv, spec, env);
  } catch (error) {
    // Parsed before runScript takes over: say the usage error plainly, without a stack.
    if (!(error instanceof ScriptError)) throw error;
    console.error(error.message);
    process.exit(error.exitCode);
  }
}

function readOptions(argv: string[], spec: { usage: string; values: string[]; switches: string[] }, env: NodeJS.ProcessEnv): Options {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (spec.switches.includes(arg)) switches.add(arg);
    else if ([...spec.values, '--stage', '--region'].includes(arg) && argv[i + 1] !== undefined) values.set(arg, argv[++i]!);
    else throw new ScriptError(`${arg.startsWith('--') ? `unknown or incomplete option ${arg}` : `unexpected argument "${arg}"`}\nusage: ${spec.usage}`, 2);
  }
  const stage = values.get('--stage');
  if (!stage) throw new ScriptError(`--stage is required\nusage: ${spec.usage}`, 2);
  if (stage === 'local') throw new ScriptError('stage "local" is the one `npm start` runs on this machine; name a deployed stage', 2);
  // The stage's region as its deploy reads it (`.env.<stage>` too), so the scripts reach the stack npm run package built.
  return { stage, region: values.get('--region') ?? deploySettings(stage, env).AWS_REGION ?? 'us-east-1', values, switches };
}

export { deploySettings } from './queues';

/** The SSM parameters holding the stage's tokens and app key: `<KEY>_PARAM`, else the stage default. */
export function secretParameterNames(stage: string, env: NodeJS.ProcessEnv): { tokens: string; appKey: string } {
  return {
    tokens: env.WEBHOOK_TOKENS_PARAM || `/${SERVICE}/${stage}/webhook-tokens`,
    appKey: env.FLASHDUTY_APP_KEY_PARAM || `/${SERVICE}/${stage}/flashduty-app-key`,
  };
}

export const stackName = (stage: string) => `${SERVICE}-${stage}`;
export const receiverFunctionName = (stage: string) => `${SERVICE}-${stage}-receiver`;

/**
 * The endpoints the stack serves, from its outputs: each action's (`<Action>ActionUrl`, by action
 * name), and any other `…Url` output (such as an incident webhook endpoint), by output key.
 */
export async function stackEndpoints(region: string, stage: string): Promise<{ actions: Map<string, string>; others: Map<string, string> }> {
  const cloudformation = new CloudFormationClient({ region });
  try {
    const { Stacks = [] } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName(stage) }));
    const actions = new Map<string, string>();
    const others = new Map<string, string>();
    for (const { OutputKey: key, OutputValue: url } of Stacks[0]?.Outputs ?? []) {
      if (!key?.endsWith('Url') || !url) continue;
      if (key.endsWith('ActionUrl')) actions.set(decodeURIComponent(url.split('/').pop()!), url);
      else others.set(key, url);
    }
    return { actions, others };
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) {
      throw new ScriptError(`no stack ${stackName(stage)} in ${region}: deploy it first (\`npx osls deploy --stage ${stage}\`), or check --stage and --region`);
    }
    throw error;
  } finally {
    cloudformation.destroy();
  }
}

/** A parameter's decrypted value, or undefined when it does not exist. */
export async function readParameter(ssm: SSMClient, name: string): Promise<string | undefined> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return Parameter?.Value;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') return undefined;
    throw error;
  }
}

/** `restart-host` -> `Restart host`: a button label to start from. */
export const buttonName = (action: string) => action.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());
