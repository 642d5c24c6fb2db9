import * as v from 'valibot';
import type { Action, AnyAction } from '../actions/types';
import { ConfigError } from '../errors';
import { OPEN_API_URL, RATE_LIMIT_PER_MINUTE, RATE_LIMIT_PER_SECOND } from '../flashduty/facts';
import type { AccountLimits } from '../flashduty/rate-limit';
import { type GuardrailConfig, guardrailConfig } from './guardrails';
import { boolVar, intVar, readConfig, secretVar, setBy, stringVar, urlVar } from '../schema/env';
import { AwsEnv, MAX_RECEIVE_COUNT, PowertoolsEnv, SECRET_MAX_AGE_SECONDS } from './platform';
import type { SecretRef } from '../schema/secret';

/** The account's FlashDuty limits: read by every worker, and by the deploy and the local stack to check and enforce them. */
export const FlashDutyRateEnv = v.object({
  FLASHDUTY_RATE_PER_SECOND: intVar(RATE_LIMIT_PER_SECOND, 1, 100_000, "FlashDuty's requests per second for the whole account; each worker instance keeps to its share (see Performance)."),
  FLASHDUTY_RATE_PER_MINUTE: intVar(RATE_LIMIT_PER_MINUTE, 1, 6_000_000, "FlashDuty's requests per minute for the whole account; each worker instance keeps to its share."),
});

/** FlashDuty's limits for the account, as configured (default: the documented 50/s and 1,000/min). */
export function flashdutyAccountLimits(env: NodeJS.ProcessEnv): AccountLimits {
  const c = readConfig(FlashDutyRateEnv, env, 'FlashDuty rate configuration');
  return { perSecond: c.FLASHDUTY_RATE_PER_SECOND, perMinute: c.FLASHDUTY_RATE_PER_MINUTE };
}

export const WorkerEnv = v.object({
  ACTION_NAME: setBy('stack', stringVar(undefined, 'The action this worker runs.')),
  QUEUE_URL: setBy('stack', stringVar(undefined, "The worker's own queue (retry delays, early acknowledge).")),
  IDEMPOTENCY_TABLE: setBy('stack', stringVar(undefined, 'DynamoDB table remembering which steps of a click already happened, and host locks.')),
  MAX_RECEIVE_COUNT,
  DRY_RUN: boolVar(false, 'Describe the exact request instead of changing anything outside FlashDuty; still comments. `true` in the local stack.'),
  RETRY_BASE_SECONDS: intVar(10, 0, 3600, 'First retry delay after a failure; doubles each time.'),
  FLASHDUTY_API_URL: urlVar(OPEN_API_URL, 'FlashDuty Open API base URL (locally: the stand-in).'),
  FLASHDUTY_APP_KEY: secretVar('FlashDuty APP key whose owner may manage the incidents; never logged.', { required: true, parameter: 'flashduty-app-key' }),
  FLASHDUTY_TIMEOUT_MS: intVar(5000, 100, 30_000, 'Time allowed for one FlashDuty API attempt.'),
  FLASHDUTY_RETRY_BASE_MS: intVar(1000, 10, 30_000, 'First backoff before retrying FlashDuty (429, 5xx, no answer); doubles, at most 4 attempts.'),
  FLASHDUTY_MUTE_REPLY: boolVar(false, 'Set `mute_reply` on our comments, keeping them out of the team\'s IM and ticket syncs (see "Writing back exactly once").'),
  ...FlashDutyRateEnv.entries,
  FLASHDUTY_RATE_SHARE: setBy('stack', intVar(1, 1, 100_000, 'Worker instances that may call FlashDuty at once: the sum of every enabled worker\'s `WORKER_MAX_CONCURRENCY`.')),
  COOLDOWN_SECONDS: intVar(60, 0, 86_400, 'After a click of an action with side effects, further clicks on that incident are written back as skipped this long; 0 turns it off.'),
  SECRET_MAX_AGE_SECONDS,
  ...AwsEnv,
  AWS_ENDPOINT_URL_DYNAMODB: setBy('local', stringVar(undefined, 'DynamoDB endpoint override (the local stack and tests).')),
  ...PowertoolsEnv,
});

export interface WorkerConfig<ActionConfig = unknown> {
  action: Action<ActionConfig>;
  /** The action's own settings, validated with its schema. */
  actionConfig: ActionConfig;
  /** The platform's guardrails for the action: `<ACTION>_ALLOWED_PERSONS`, `<ACTION>_MAX_RUNS_PER_HOUR`. */
  guardrails: GuardrailConfig;
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
  /** FlashDuty's limits for the account, and how many worker instances share them. */
  flashdutyLimits: AccountLimits;
  flashdutyRateShare: number;
  /** After a click of an action with side effects, further clicks on that incident are skipped this long; 0 turns it off. */
  cooldownSeconds: number;
  appKey: SecretRef;
  /** How long a secret read from SSM is kept before it is read again. */
  secretMaxAgeSeconds: number;
  region: string;
  endpoints: { sqs?: string; ssm?: string; dynamodb?: string };
}

/** Reads and checks a worker's configuration, including its action's, once at cold start. */
export function workerConfig(env: NodeJS.ProcessEnv, actions: ReadonlyArray<AnyAction>): WorkerConfig {
  const c = readConfig(WorkerEnv, env, 'worker configuration');
  const required = (name: string, value: string | undefined) => {
    if (!value) throw new ConfigError(`${name}: missing`);
    return value;
  };
  const name = required('ACTION_NAME', c.ACTION_NAME);
  const action = actions.find((a) => a.name === name);
  if (!action) throw new ConfigError(`ACTION_NAME: unknown action "${name}"; known: ${actions.map((a) => a.name).join(', ')}`);
  return {
    action,
    actionConfig: actionConfig(action, env),
    guardrails: guardrailConfig(action.name, env),
    queueUrl: required('QUEUE_URL', c.QUEUE_URL),
    idempotencyTable: required('IDEMPOTENCY_TABLE', c.IDEMPOTENCY_TABLE),
    dryRun: c.DRY_RUN,
    maxReceiveCount: c.MAX_RECEIVE_COUNT,
    retryBaseSeconds: c.RETRY_BASE_SECONDS,
    flashdutyUrl: c.FLASHDUTY_API_URL,
    flashdutyTimeoutMs: c.FLASHDUTY_TIMEOUT_MS,
    flashdutyRetryBaseMs: c.FLASHDUTY_RETRY_BASE_MS,
    flashdutyMuteReply: c.FLASHDUTY_MUTE_REPLY,
    flashdutyLimits: { perSecond: c.FLASHDUTY_RATE_PER_SECOND, perMinute: c.FLASHDUTY_RATE_PER_MINUTE },
    flashdutyRateShare: c.FLASHDUTY_RATE_SHARE,
    cooldownSeconds: c.COOLDOWN_SECONDS,
    appKey: c.FLASHDUTY_APP_KEY,
    secretMaxAgeSeconds: c.SECRET_MAX_AGE_SECONDS,
    region: c.AWS_REGION ?? 'us-east-1',
    endpoints: { sqs: c.AWS_ENDPOINT_URL_SQS, ssm: c.AWS_ENDPOINT_URL_SSM, dynamodb: c.AWS_ENDPOINT_URL_DYNAMODB },
  };
}

/** Validates an action's own environment variables with its schema; errors name the variable. */
export function actionConfig<Config>(action: Action<Config>, env: NodeJS.ProcessEnv, root?: string): Config {
  const config = readConfig(action.config, env, `${action.name} configuration`, root);
  const problem = action.checkConfig?.(config);
  if (problem) throw new ConfigError(`invalid ${action.name} configuration: ${problem}`);
  return config;
}
