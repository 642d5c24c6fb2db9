import { ConditionalCheckFailedException, DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnderWayError } from '../errors';

/** The lock is held by someone else and did not come free in time. Retryable. */
export class BusyError extends Error {
  override readonly name = 'BusyError';
}

/** A conditional write whose condition did not hold (by class, or by name when the SDK copy differs). */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

export type Exclusive = <T>(key: string, fn: () => Promise<T>, options?: { waitSeconds?: number; holdSeconds?: number }) => Promise<T>;

/**
 * Named locks across every worker instance, as items in the idempotency table (`id` = `lock#key`,
 * TTL on `expiration`, so a crashed holder's lock frees itself). `owner` is the click's key
 * (clickKeyOf): a retry of the same click takes its own lock back at once, and a click on another
 * incident that happens to share the event id does not. Released when `fn` ends, unless it throws
 * UnderWayError: then the effect the lock guards is still going on.
 */
export function makeExclusive(client: DynamoDBClient, tableName: string, owner: string): Exclusive {
  return async (key, fn, options = {}) => {
    const id = { S: `lock#${key}` };
    const waitUntil = Date.now() + (options.waitSeconds ?? 20) * 1000;
    for (;;) {
      const now = Math.floor(Date.now() / 1000);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { id, owner: { S: owner }, expiration: { N: String(now + (options.holdSeconds ?? 300)) } },
            ConditionExpression: 'attribute_not_exists(id) OR expiration < :now OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':now': { N: String(now) }, ':owner': { S: owner } },
          }),
        );
        break;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        if (Date.now() >= waitUntil) throw new BusyError(`${key} is busy with another click; will retry`);
        await sleep(1000);
      }
    }
    let underWay = false;
    try {
      return await fn();
    } catch (error) {
      // What the lock guards is still going on: the click's retry takes the lock back, or it expires.
      underWay = error instanceof UnderWayError;
      throw error;
    } finally {
      if (!underWay) await release(client, tableName, id, owner);
    }
  };
}

async function release(client: DynamoDBClient, tableName: string, id: { S: string }, owner: string): Promise<void> {
  await client
    .send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { id },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: owner } },
      }),
    )
    .catch(() => undefined); // expired and taken over, or already gone: nothing to release
}
