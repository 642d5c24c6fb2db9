import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { describeIssues } from '../config/issues';
import { ValidationError } from '../errors';
import { CustomActionPayload } from '../flashduty/payload';

/**
 * What the receiver puts on an action's queue and the worker takes off it. Both ends validate the
 * payload with the same schema (`CustomActionPayload`).
 */
export const QueueMessage = z.object({
  version: z.literal(1),
  action: z.string().check(z.minLength(1)),
  event_id: z.string().check(z.minLength(1)),
  /** When the receiver accepted the click (ms since epoch). */
  received_at: z.int(),
  /** Present when the payload was shrunk to fit one SQS message; says what was left out. */
  compacted: z.optional(
    z.object({
      original_bytes: z.int(),
      alerts_dropped: z.int(),
      strings_shortened: z.int(),
      keys_dropped: z.int(),
    }),
  ),
  payload: CustomActionPayload,
});

export type QueueMessage = z.infer<typeof QueueMessage>;

/** Parses and validates a queue message body; throws ValidationError naming what was wrong. */
export function decodeQueueMessage(body: string): QueueMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('queue message is not valid JSON', ['(body): is not valid JSON']);
  }
  const result = QueueMessage.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  throw new ValidationError(`invalid queue message: ${problems.slice(0, 5).join('; ')}`, problems);
}

/**
 * SQS FIFO ids for a message. The group is the incident, so clicks on one incident run in order;
 * the deduplication id is the event id, so FlashDuty's retry of a push is absorbed by the queue.
 * SQS allows 1-128 printable ASCII characters; anything else is hashed.
 */
export function fifoIdsOf(message: QueueMessage): { MessageGroupId: string; MessageDeduplicationId: string } {
  const id = message.event_id;
  const dedup = /^[\x21-\x7e]{1,128}$/.test(id) ? id : createHash('sha256').update(id).digest('hex');
  return { MessageGroupId: message.payload.incident.incident_id, MessageDeduplicationId: dedup };
}
