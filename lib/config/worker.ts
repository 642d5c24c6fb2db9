import * as v from 'valibot';
import type { Action } from '../actions/types';
import { ConfigError } from '../errors';
import { OPEN_API_URL } from '../flashduty/facts';
import { boolVar, intVar, readConfig, stringVar, urlVar } from './env';

export const WorkerEnv = v.object({
  ACTION_NAME: stringVar(),
  QUEUE_URL: stringVar(),
  IDEMPOTENCY_TABLE: stringVar(),
  DRY_RUN: boolVar(false),
  MAX_RECEIVE_COUNT: intVar(3, 1, 100),
  RETRY_BASE_SECONDS: intVar(10, 0, 3600),
  FLASHDUTY_API_URL: urlVar(OPEN_API_URL),
  FLASHDUTY_APP_KEY: stringVar(),
  FLASHDUTY_APP_KEY_PARAM: stringVar(),
  FLASHDUTY_TIMEOUT_MS: intVar(5000, 100, 30_000),
  FLASHDUTY_RETRY_BASE_MS: intVar(1000, 10, 30_000),
  FLASHDUTY_MUTE_REPLY: boolVar(false),
  COOLDOWN_SECONDS: intVar(60, 0, 86_400),
  AWS_REGION: stringVar('us-east-1'),
  AWS_ENDPOINT_URL_SQS: stringVar(),
  AWS_ENDPOINT_URL_SSM: stringVar(),
  AWS_ENDPOINT_URL_DYNAMODB: stringVar(),
});

export interface WorkerConfig<ActionConfig = unknown> {
  action: Action<ActionConfig>;
  /** The action's own settings, validated with its schema. */
  actionConfig: ActionConfig;
  queueUrl: string;
  idempotencyTable: string;
  dryRun: boolean;
  /** Deliveries before SQS moves a message to the DLQ; must match the queue's redrive policy. */
  maxReceiveCount: number;
  /** First retry delay; each further retry doubles it. */
  retryBaseSeconds: number;
  flashdutyUrl: string;
  /** One FlashDuty call: time per attempt, and the first backoff delay (FlashDuty advises 1 s). */
  flashdutyTimeoutMs: number;
  flashdutyRetryBaseMs: number;
  /** `mute_reply` on our comments: true keeps them out of the team's IM and ticket syncs. */
  flashdutyMuteReply: boolean;
  /** After a click of an action with side effects, further clicks on that incident are skipped this long; 0 turns it off. */
  cooldownSeconds: number;
  appKey: { inline: string } | { parameter: string };
  region: string;
  endpoints: { sqs?: string; ssm?: string; dynamodb?: string };
}

/** Reads and checks a worker's configuration, including its action's, once at cold start. */
export function workerConfig(env: NodeJS.ProcessEnv, actions: ReadonlyArray<Action<any>>): WorkerConfig {
  const c = readConfig(WorkerEnv, env, 'worker configuration');
  const required = (name: string, value: string | undefined) => {
    if (!value) throw new ConfigError(`${name}: missing`);
    return value;
  };
  const name = required('ACTION_NAME', c.ACTION_NAME);
  const action = actions.find((a) => a.name === name);
  if (!action) throw new ConfigError(`ACTION_NAME: unknown action "${name}"; known: ${actions.map((a) => a.name).join(', ')}`);
  if (c.FLASHDUTY_APP_KEY && c.FLASHDUTY_APP_KEY_PARAM) {
    throw new ConfigError('FLASHDUTY_APP_KEY and FLASHDUTY_APP_KEY_PARAM are both set; set exactly one');
  }
  if (!c.FLASHDUTY_APP_KEY && !c.FLASHDUTY_APP_KEY_PARAM) {
    throw new ConfigError('FLASHDUTY_APP_KEY or FLASHDUTY_APP_KEY_PARAM: set one, so results can be written to the incident');
  }
  return {
    action,
    actionConfig: actionConfig(action, env),
    queueUrl: required('QUEUE_URL', c.QUEUE_URL),
    idempotencyTable: required('IDEMPOTENCY_TABLE', c.IDEMPOTENCY_TABLE),
    dryRun: c.DRY_RUN,
    maxReceiveCount: c.MAX_RECEIVE_COUNT,
    retryBaseSeconds: c.RETRY_BASE_SECONDS,
    flashdutyUrl: c.FLASHDUTY_API_URL,
    flashdutyTimeoutMs: c.FLASHDUTY_TIMEOUT_MS,
    flashdutyRetryBaseMs: c.FLASHDUTY_RETRY_BASE_MS,
    flashdutyMuteReply: c.FLASHDUTY_MUTE_REPLY,
    cooldownSeconds: c.COOLDOWN_SECONDS,
    appKey: c.FLASHDUTY_APP_KEY_PARAM ? { parameter: c.FLASHDUTY_APP_KEY_PARAM } : { inline: c.FLASHDUTY_APP_KEY! },
    region: c.AWS_REGION ?? 'us-east-1',
    endpoints: { sqs: c.AWS_ENDPOINT_URL_SQS, ssm: c.AWS_ENDPOINT_URL_SSM, dynamodb: c.AWS_ENDPOINT_URL_DYNAMODB },
  };
}

/** Validates an action's own environment variables with its schema; errors name the variable. */
export function actionConfig<Config>(action: Action<Config>, env: NodeJS.ProcessEnv): Config {
  return readConfig(action.config, env, `${action.name} configuration`);
}
