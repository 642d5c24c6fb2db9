import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import type { QueueMessage } from '../queue/envelope';

/**
 * How long a finished step is remembered: as long as a message can wait in the DLQ (14 days), so a
 * redriven click never re-runs what already succeeded and never comments twice.
 */
export const REMEMBER_SECONDS = 14 * 24 * 3600;

/** Marks a result returned from the store instead of from running the step again. */
export const REPLAYED = '__replayed';

/**
 * Makes a step of a run happen at most once per click (action + incident + `event_id`: FlashDuty's
 * event ids are only known to be unique per incident), with Powertools Idempotency on DynamoDB: a
 * duplicate delivery gets the stored result instead of a second run. A step that throws is
 * forgotten, so its retry runs it again. A step still in progress (another delivery, or a crashed
 * one until its Lambda deadline passes) makes the duplicate fail and retry.
 */
export function makeOnce(client: DynamoDBClient, tableName: string, action: string) {
  const config = new IdempotencyConfig({
    // The same parts as the queue's deduplication id (clickKeyOf); Powertools hashes the list.
    eventKeyJmesPath: '[action, payload.incident.incident_id, event_id]',
    expiresAfterSeconds: REMEMBER_SECONDS,
    responseHook: (response) =>
      response !== null && typeof response === 'object' && !Array.isArray(response) ? { ...response, [REPLAYED]: true } : response,
  });
  // One persistence layer per step: Powertools keeps the key prefix on the layer instance.
  const step = <Args extends [QueueMessage, ...unknown[]], R>(name: string, fn: (...args: Args) => Promise<R>) =>
    makeIdempotent(fn, {
      persistenceStore: new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: client }),
      config,
      keyPrefix: `${action}#${name}`,
    }) as (...args: Args) => Promise<R>;
  return {
    step,
    /** Lets in-progress records expire when this invocation's time runs out. */
    registerContext: (context: Context) => config.registerLambdaContext(context),
  };
}

/** True when `result` came from the store (a duplicate delivery), not from running the step. */
export function wasReplayed(result: unknown): boolean {
  return result !== null && typeof result === 'object' && (result as Record<string, unknown>)[REPLAYED] === true;
}
