import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ACTIONS } from '../lib/actions/registry';
import { queueNames } from '../lib/queue/names';
import { SERVICE } from '../deploy/stack';
import { dotenvFor } from '../deploy/preflight';
import { ROOT } from './local-env';
import { checkNode } from './node-check';

export interface StageQueues {
  action: string;
  queueUrl: string;
  dlqUrl: string;
}

/**
 * `--stage <name>` (default `local`) and `--region <region>` from argv, and at most
 * `usage.positional` other arguments. The local stage talks to the emulator `npm start` runs on
 * SQS_PORT (default 9324); any other stage talks to real SQS with the usual AWS credentials.
 * Anything else (a misspelt option, a missing value, an extra argument) prints the usage and
 * exits 2: a typo must not fall back to the local stack and report success.
 */
export function stageOptions(argv: string[], env: NodeJS.ProcessEnv, usage: { line: string; positional: number }): { stage: string; sqs: SQSClient; rest: string[]; sqsPort: string } {
  const rest: string[] = [];
  let stage = 'local';
  let region: string | undefined;
  const refuse = (why: string): never => {
    console.error(`${why}\n${usage.line}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--stage' || arg === '--region') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) refuse(`${arg} needs a value`);
      if (arg === '--stage') stage = value!;
      else region = value!;
    } else if (arg.startsWith('-')) refuse(`unknown option ${arg}`);
    else rest.push(arg);
  }
  if (rest.length > usage.positional) refuse(`unexpected argument ${rest[usage.positional]}`);
  // The stage's region as its deploy reads it (`.env.<stage>` too), so the scripts reach the stack npm run package built.
  region ??= (stage === 'local' ? env.AWS_REGION : deploySettings(stage, env).AWS_REGION) ?? 'us-east-1';
  const sqsPort = env.SQS_PORT ?? '9324';
  const sqs =
    stage === 'local'
      ? new SQSClient({ endpoint: `http://127.0.0.1:${sqsPort}`, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
      : new SQSClient({ region });
  return { stage, sqs, rest, sqsPort };
}

/** The stage's deploy settings as osls reads them: `.env.<stage>` (else `.env`), under the environment. */
export function deploySettings(stage: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...dotenvFor(stage, ROOT)?.vars, ...env };
}

/** An action name the registry knows, or a ScriptError listing the known ones. */
export function knownAction(action: string): string {
  const names = ACTIONS.map((a) => a.name);
  if (!names.includes(action)) throw new ScriptError(`unknown action "${action}"; known: ${names.join(', ')}`, 2);
  return action;
}

/** A failure the user can fix, with what to do; printed without a stack. */
export class ScriptError extends Error {
  override readonly name = 'ScriptError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Runs a script's main and turns what commonly goes wrong into what to do: the local stack not
 * running, no AWS credentials for a deployed stage.
 */
export function runScript(main: () => Promise<void>, where: { stage: string; sqsPort: string }): void {
  checkNode();
  main().catch((error: unknown) => {
    console.error(explain(error, where));
    process.exit(error instanceof ScriptError ? error.exitCode : 1);
  });
}

function explain(error: unknown, { stage, sqsPort }: { stage: string; sqsPort: string }): string {
  if (error instanceof ScriptError) return error.message;
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  if (stage === 'local' && (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e.message ?? ''))) {
    return `nothing answers on 127.0.0.1:${sqsPort} (SQS_PORT), so the local stack is not running: start it with \`npm start\` in another terminal (with the same SQS_PORT), or pass --stage <stage> for a deployed stack`;
  }
  if (e.name === 'CredentialsProviderError') return `no AWS credentials for stage "${stage}" (${e.message}): set AWS_PROFILE, or run \`aws sso login\`, then try again`;
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
}

/** The queue and DLQ of each named action in a stage; actions without queues there are skipped. */
export async function stageQueues(sqs: SQSClient, stage: string, actions = ACTIONS.map((a) => a.name)): Promise<StageQueues[]> {
  const found: StageQueues[] = [];
  for (const action of actions) {
    const names = queueNames(`${SERVICE}-${stage}`, action);
    try {
      const { QueueUrl: queueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: names.queue }));
      const { QueueUrl: dlqUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: names.dlq }));
      found.push({ action, queueUrl: queueUrl!, dlqUrl: dlqUrl! });
    } catch (error) {
      if ((error as Error).name !== 'QueueDoesNotExist' && !/NonExistentQueue|does not exist/i.test((error as Error).message)) throw error;
    }
  }
  return found;
}
