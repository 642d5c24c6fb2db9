import { DeleteItemCommand, type DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Outcome } from '../actions/types';
import { describeError } from '../errors';
import { log } from '../observability';
import { utc } from '../text';
import { isConditionFailed } from './lock';

/** One action on one incident, claimed by one click (its event id). */
export interface CooldownKey {
  action: string;
  incidentId: string;
  eventId: string;
}

/** The click holding a cool-down: when it started, when it finished (if it did), and when the hold ends (ms). */
export interface CooldownHolder {
  eventId: string;
  startedAt: number;
  finishedAt?: number;
  until: number;
}

export interface Cooldown {
  /**
   * Claims the action on the incident for this click for `holdSeconds` (its run, then the
   * cool-down), or names the other click holding it. The holder's own redelivery claims it again.
   */
  claim(key: CooldownKey, holdSeconds: number): Promise<{ held: false } | { held: true; by: CooldownHolder }>;
  /** The click ran and succeeded: its hold now ends one cool-down from now. Never throws (the action already ran). */
  finish(key: CooldownKey): Promise<void>;
  /**
   * The click failed, was refused, or gave up (dead-lettered): frees the action on the incident, so
   * a new click runs instead of being told the failed one "is running" or "just ran". Never throws.
   */
  release(key: CooldownKey): Promise<void>;
}

/**
 * A cool-down per incident and action, as items in the idempotency table (`id` =
 * `cooldown#action#incident`, TTL on `expiration` in seconds; an expired item that TTL has not
 * removed yet counts as free). Conditional writes make one click win a race; the loser reads the
 * winner to say who ran and until when.
 */
export function makeCooldown(client: DynamoDBClient, tableName: string, seconds: number): Cooldown {
  const idOf = (key: CooldownKey) => ({ S: `cooldown#${key.action}#${key.incidentId}` });

  async function holder(key: CooldownKey): Promise<CooldownHolder | undefined> {
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { id: idOf(key) }, ConsistentRead: true }));
    // Whole seconds, as in claim's condition, so the two never disagree about an entry.
    const expiration = Number(Item?.expiration?.N ?? 0);
    if (!Item || Item.owner?.S === key.eventId || expiration < Math.floor(Date.now() / 1000)) return undefined;
    const until = expiration * 1000;
    const finishedAt = Item.finished_at?.N ? Number(Item.finished_at.N) : undefined;
    return { eventId: Item.owner?.S ?? '(unknown)', startedAt: Number(Item.started_at?.N ?? 0), until, ...(finishedAt && { finishedAt }) };
  }

  const ifOwner = { ConditionExpression: '#owner = :owner', ExpressionAttributeNames: { '#owner': 'owner' } };
  const ignoreLost = (what: string) => (error: unknown) => {
    // Not the owner any more: the hold expired and another click took it, which is fine.
    if (!isConditionFailed(error)) log.warn(`could not ${what} the cool-down`, { error: describeError(error) });
  };

  return {
    async claim(key, holdSeconds) {
      // A loser that finds no live holder lost to one that just expired or finished: try again.
      for (let tries = 0; tries < 3; tries++) {
        const now = Date.now();
        const nowSeconds = Math.floor(now / 1000);
        try {
          await client.send(
            new PutItemCommand({
              TableName: tableName,
              Item: { id: idOf(key), owner: { S: key.eventId }, started_at: { N: String(now) }, expiration: { N: String(nowSeconds + Math.ceil(holdSeconds)) } },
              ConditionExpression: 'attribute_not_exists(id) OR expiration < :now OR #owner = :owner',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':now': { N: String(nowSeconds) }, ':owner': { S: key.eventId } },
            }),
          );
          return { held: false };
        } catch (error) {
          if (!isConditionFailed(error)) throw error;
        }
        const by = await holder(key);
        if (by) return { held: true, by };
      }
      throw new Error(`could not claim the cool-down of ${key.action} on incident ${key.incidentId}; will retry`);
    },

    async finish(key) {
      const now = Date.now();
      const values = { ':until': { N: String(Math.floor(now / 1000) + seconds) }, ':now': { N: String(now) }, ':owner': { S: key.eventId } };
      const update = { TableName: tableName, Key: { id: idOf(key) }, UpdateExpression: 'SET expiration = :until, finished_at = :now', ExpressionAttributeValues: values };
      await client.send(new UpdateItemCommand({ ...update, ...ifOwner })).catch(ignoreLost('start'));
    },

    async release(key) {
      const values = { ':owner': { S: key.eventId } };
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: { id: idOf(key) }, ExpressionAttributeValues: values, ...ifOwner })).catch(ignoreLost('release'));
    },
  };
}

/**
 * The outcome written back for a click that came inside another click's cool-down: what ran, and
 * when to click again. A run an event rule started (`trigger`) was held back by a run for the same
 * event type, and nobody is told to click.
 */
export function skippedOutcome(action: string, by: CooldownHolder, cooldownSeconds: number, trigger?: { event_type: string }): Outcome {
  const other = trigger ? `another ${trigger.event_type} event` : 'another click';
  const facts: Array<[string, string]> = [
    [trigger ? 'previous run' : 'previous click', `event ${by.eventId}, started ${utc(by.startedAt)}${by.finishedAt ? `, finished ${utc(by.finishedAt)}` : ''}`],
    ['cool-down ends', by.finishedAt ? utc(by.until) : `${cooldownSeconds} s after that ${trigger ? 'run' : 'click'} finishes, ${utc(by.until)} at the latest`],
  ];
  const again = trigger ? '' : `; click again after ${utc(by.until)} if it is still needed`;
  const summary = by.finishedAt
    ? `${action} just ran on this incident for ${other}, so it was not run again${again}`
    : `${action} is already running (or retrying) on this incident for ${other}, so it was not run again; watch the timeline for its result`;
  return { status: 'skipped', summary, facts };
}
