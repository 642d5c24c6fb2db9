import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { makeSecretReader } from '../aws/secrets';
import type { WorkerConfig } from '../config/worker';
import { FlashDutyClient } from '../flashduty/client';
import { instanceWindows, RateLimiter } from '../flashduty/rate-limit';
import { LOOP_WINDOW_SECONDS, type WorkerDeps } from './handler';
import { makeCooldown } from './cooldown';
import { makeGuardrails, makeRunBudget } from './guardrails';
import { makeExclusive } from './lock';
import { makeMemory } from './memory';
import { makeOnce } from './once';

/** Builds a worker's real dependencies from its configuration, once per cold start. */
export function workerDeps(config: WorkerConfig): WorkerDeps {
  const { region, endpoints } = config;
  const sqs = new SQSClient({ region, endpoint: endpoints.sqs, maxAttempts: 3 });
  const dynamodb = new DynamoDBClient({ region, endpoint: endpoints.dynamodb, maxAttempts: 3 });
  const secret = makeSecretReader({ region, endpoint: endpoints.ssm, maxAgeSeconds: config.secretMaxAgeSeconds });
  const flashduty = new FlashDutyClient({
    baseUrl: config.flashdutyUrl,
    attemptTimeoutMs: config.flashdutyTimeoutMs,
    baseDelayMs: config.flashdutyRetryBaseMs,
    muteReply: config.flashdutyMuteReply,
    appKey: () => secret(config.appKey),
    limiter: new RateLimiter(instanceWindows(config.flashdutyLimits, config.flashdutyRateShare)),
  });
  return {
    action: config.action,
    aws: { region, endpoints },
    exclusiveFor: (owner) => makeExclusive(dynamodb, config.idempotencyTable, owner),
    actionConfig: config.actionConfig,
    memory: makeMemory(dynamodb, config.idempotencyTable, config.action.name),
    secret,
    dryRun: config.dryRun,
    cooldown: config.cooldownSeconds > 0 ? makeCooldown(dynamodb, config.idempotencyTable, config.cooldownSeconds) : undefined,
    cooldownSeconds: config.cooldownSeconds,
    loops: makeCooldown(dynamodb, config.idempotencyTable, LOOP_WINDOW_SECONDS),
    guardrails: makeGuardrails(
      config.action.name,
      config.guardrails,
      config.guardrails.maxRunsPerHour > 0 ? makeRunBudget(dynamodb, config.idempotencyTable, config.action.name, config.guardrails.maxRunsPerHour) : undefined,
    ),
    maxReceiveCount: config.maxReceiveCount,
    retryBaseSeconds: config.retryBaseSeconds,
    flashduty,
    queue: {
      acknowledge: async (receiptHandle) => {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: config.queueUrl, ReceiptHandle: receiptHandle }));
      },
      retryAfter: async (receiptHandle, seconds) => {
        await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: config.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
      },
    },
    once: makeOnce(dynamodb, config.idempotencyTable, config.action.name),
  };
}
