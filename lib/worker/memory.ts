import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { REMEMBER_SECONDS } from './once';

/** What an action keeps across deliveries of a click (see ActionContext.memory). */
export interface Memory {
  /** The value last remembered under `key` by this action, or undefined. */
  recall<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores `value` (JSON) under `key`, replacing what was there; kept as long as a click can be redriven. */
  remember(key: string, value: unknown): Promise<void>;
}

/**
 * Small notes an action writes to the idempotency table (`id` = `memory#<action>#<key>`, TTL on
 * `expiration`) so that a run which crashed after an outside write, or whose answer was lost, can
 * find what it already did instead of doing it again. Reads are strongly consistent: the note
 * written just before a crash must be seen by the delivery that follows it.
 */
export function makeMemory(client: DynamoDBClient, tableName: string, action: string): Memory {
  const id = (key: string) => ({ S: `memory#${action}#${key}` });
  return {
    async recall<T>(key: string): Promise<T | undefined> {
      const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { id: id(key) }, ConsistentRead: true }));
      const value = Item?.value?.S;
      return value === undefined ? undefined : (JSON.parse(value) as T);
    },
    async remember(key: string, value: unknown): Promise<void> {
      const expiration = Math.floor(Date.now() / 1000) + REMEMBER_SECONDS;
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { id: id(key), value: { S: JSON.stringify(value) }, expiration: { N: String(expiration) } } }),
      );
    },
  };
}
