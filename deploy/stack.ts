import { ACTIONS } from '../lib/actions/registry';
import type { Action, AnyAction } from '../lib/actions/types';
import { intVar, readConfig, listVar } from '../lib/schema/env';
import { ENABLED_ACTIONS, MAX_RECEIVE_COUNT } from '../lib/config/platform';
import { ConfigError } from '../lib/errors';
import { SERVICE_NAME as SERVICE } from '../lib/telemetry-names';
import { queueNames } from '../lib/queue/names';
import * as v from 'valibot';

/**
 * The one description of the stack, used by `serverless.yml` (through `deploy/serverless.js`) and
 * by the local stack, so both create the same queues with the same settings.
 */
// The stack's service name is also the `service` dimension of every metric the alarms watch.
export { SERVICE };

/** Default worker timeout; an action may ask for more (`worker.timeoutSeconds`). */
export const DEFAULT_WORKER_TIMEOUT_SECONDS = 30;
/** SQS visibility timeout per worker timeout: AWS advises at least 6x for Lambda consumers. */
export const VISIBILITY_PER_TIMEOUT = 6;

export interface StackSettings {
  service: string;
  stage: string;
  actions: Array<Action<unknown>>;
  maxReceiveCount: number;
  /** Instances of each worker Lambda may run at once (its SQS event source's MaximumConcurrency). */
  workerMaxConcurrency: number;
  /** Where an action's worker is bundled from; deploy/worker-bundle.cjs unless a test brings its own. */
  moduleOf?: (action: string) => string;
}

export const DeployEnv = v.object({
  // Deploys start with the harmless echo action; switch real ones on deliberately.
  ENABLED_ACTIONS,
  MAX_RECEIVE_COUNT,
  // Five instances of a worker already use FlashDuty's whole 50 requests/s (a click's write-back takes
  // about 100 ms, so one instance makes at most ~10 calls/s), and a storm of hundreds of incidents
  // then holds at most 5 of the account's Lambda concurrency per action. 2 is AWS's minimum.
  WORKER_MAX_CONCURRENCY: intVar(5, 2, 1000, "Instances of each worker that may run at once (its SQS event source's `MaximumConcurrency`); FlashDuty's rate is split over their sum."),
  DEPLOY_ALLOW: listVar([], 'Risks a deploy takes on purpose: `plaintext-secrets` (a secret given inline lands in the template), `dry-run` (DRY_RUN=true deployed).'),
});

/**
 * Reads the deploy-time settings; `ENABLED_ACTIONS` decides which workers and queues exist. Actions
 * come from the registry unless a caller (a test) brings its own.
 */
export function stackSettings(env: NodeJS.ProcessEnv, stage: string, known: ReadonlyArray<AnyAction> = ACTIONS): StackSettings {
  const config = readConfig(DeployEnv, env, 'deploy configuration');
  const names = known.map((a) => a.name).join(', ');
  if (config.ENABLED_ACTIONS.length === 0) throw new ConfigError(`ENABLED_ACTIONS: list at least one of ${names}`);
  const actions = config.ENABLED_ACTIONS.map((name) => {
    const action = known.find((a) => a.name === name);
    if (!action) throw new ConfigError(`ENABLED_ACTIONS: unknown action "${name}"; known: ${names}`);
    return action;
  });
  return { service: SERVICE, stage, actions, maxReceiveCount: config.MAX_RECEIVE_COUNT, workerMaxConcurrency: config.WORKER_MAX_CONCURRENCY };
}

/**
 * Worker instances that may call FlashDuty at the same moment across the stack: each worker's
 * maximum concurrency, summed. Each instance keeps to 1/share of the account's rate limits.
 */
export function flashdutyRateShare(settings: StackSettings): number {
  return settings.actions.length * settings.workerMaxConcurrency;
}

/**
 * High-throughput FIFO: deduplication and the throughput limit per message group (each click's
 * group is its incident), so a storm is not capped at 300 sends per second per queue.
 */
const HIGH_THROUGHPUT_FIFO = { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' };

export function workerTimeoutSeconds(action: Action<unknown>): number {
  return action.worker?.timeoutSeconds ?? DEFAULT_WORKER_TIMEOUT_SECONDS;
}

/** `restart-host` -> `RestartHost`, for CloudFormation logical ids. */
export function logicalName(action: string): string {
  return action.replace(/(^|-)([a-z0-9])/g, (_m, _dash, letter: string) => letter.toUpperCase());
}

export const queueLogicalId = (action: string) => `${logicalName(action)}Queue`;
export const dlqLogicalId = (action: string) => `${logicalName(action)}DeadLetterQueue`;

export type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };

export const IDEMPOTENCY_TABLE_ID = 'IdempotencyTable';

/**
 * The table that remembers, per click, which steps already happened (Powertools Idempotency's
 * layout: key `id`, TTL on `expiration`).
 */
export function idempotencyTableResource(settings: StackSettings): Resource {
  return {
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      TableName: `${settings.service}-${settings.stage}-idempotency`,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      SSESpecification: { SSEEnabled: true },
    },
  };
}

/** A FIFO queue and a FIFO dead-letter queue per enabled action. */
export function queueResources(settings: StackSettings): Record<string, Resource> {
  const resources: Record<string, Resource> = {};
  for (const action of settings.actions) {
    const names = queueNames(`${settings.service}-${settings.stage}`, action.name);
    resources[dlqLogicalId(action.name)] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: names.dlq,
        FifoQueue: true,
        ...HIGH_THROUGHPUT_FIFO,
        MessageRetentionPeriod: 14 * 24 * 3600,
        SqsManagedSseEnabled: true,
      },
    };
    resources[queueLogicalId(action.name)] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: names.queue,
        FifoQueue: true,
        ...HIGH_THROUGHPUT_FIFO,
        ContentBasedDeduplication: false,
        VisibilityTimeout: VISIBILITY_PER_TIMEOUT * workerTimeoutSeconds(action),
        MessageRetentionPeriod: 4 * 24 * 3600,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [dlqLogicalId(action.name), 'Arn'] },
          maxReceiveCount: settings.maxReceiveCount,
        },
      },
    };
  }
  return resources;
}
