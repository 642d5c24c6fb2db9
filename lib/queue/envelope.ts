import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { parseOrThrow } from '../schema/parse';
import { ValidationError } from '../errors';
import { CustomActionPayload, type ReceivedPayload, withoutNulls } from '../flashduty/payload';

/**
 * What the receiver puts on an action's queue and the worker takes off it. Both ends validate the
 * payload with the same liberal schema (`CustomActionPayload`), nulls read as absent at both ends.
 */
const count = () => v.pipe(v.number(), v.integer('expected an integer'));

export const QueueMessage = v.object({
  version: v.literal(1),
  action: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
  /**
   * The run's id: FlashDuty's event id for a click; `<event id>:<rule>` for a run an event rule
   * started, so two rules on one event are two runs everywhere a run is keyed (queue dedup, once
   * steps, the cool-down, the comment marker, idempotency keys outside).
   */
  event_id: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
  /**
   * Present when an event rule started the run instead of a click: the rule, the event's type and
   * FlashDuty's own event id. The event's time is `payload.event_time` (ms), as for a click.
   */
  trigger: v.optional(
    v.object({
      rule: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
      event_type: v.string(),
      event_id: v.string(),
    }),
  ),
  /** When the receiver accepted the click (ms since epoch). */
  received_at: count(),
  /** Present when the payload was shrunk to fit one SQS message; says what was left out. */
  compacted: v.optional(
    v.object({
      original_bytes: count(),
      alerts_dropped: count(),
      strings_shortened: count(),
      keys_dropped: count(),
    }),
  ),
  payload: CustomActionPayload,
});

export type QueueMessage = v.InferOutput<typeof QueueMessage>;

/** A message as the receiver writes it: its payload checked as a push (alerts only as objects). */
export type OutgoingMessage = Omit<QueueMessage, 'payload'> & { payload: ReceivedPayload };

/** Parses and validates a queue message body; throws ValidationError naming what was wrong. */
export function decodeQueueMessage(body: string): QueueMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('queue message is not valid JSON', ['(body): is not valid JSON']);
  }
  return parseOrThrow(QueueMessage, withoutNulls(value), 'queue message');
}

/** SQS takes 1-128 printable ASCII characters as a deduplication id. */
const DEDUP_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * One click, whatever its delivery: action, incident and event id. FlashDuty's event ids are only
 * known to be unique per incident, so the same id on two incidents is two clicks. Hashed when it
 * does not fit SQS's deduplication id.
 */
export function clickKeyOf(message: OutgoingMessage): string {
  const key = `${message.action}/${message.payload.incident.incident_id}/${message.event_id}`;
  return DEDUP_ID.test(key) ? key : `sha256-${createHash('sha256').update(key).digest('hex')}`;
}

/** Whether `word` has the shape of a click key (clickKeyOf): for telling a run another click started from one started by hand. */
export function looksLikeClickKey(word: string): boolean {
  return /^[a-z0-9-]+\/[0-9a-f]{24}\/\S+$|^sha256-[0-9a-f]{64}$/.test(word);
}

/**
 * SQS FIFO ids for a message. The group is the incident, so clicks on one incident run in order;
 * the deduplication id is the click key, so FlashDuty's retry of a push is absorbed by the queue.
 */
export function fifoIdsOf(message: OutgoingMessage): { MessageGroupId: string; MessageDeduplicationId: string } {
  return { MessageGroupId: message.payload.incident.incident_id, MessageDeduplicationId: clickKeyOf(message) };
}
