import { randomUUID } from 'node:crypto';
import sample from '../tests/fixtures/custom-action.json';

/** A JSON object, as a push body is. */
export type Payload = Record<string, unknown>;

/** FlashDuty's sample Custom Action push (tests/fixtures/custom-action.json). */
export const samplePayload = (): Payload => structuredClone(sample) as Payload;

/**
 * `payload` as FlashDuty would send it now: a fresh `event_time` (ms) and `event_id` at the top
 * level, where the tables put it (any `incident.event_id` is dropped, so the two never disagree).
 * Without this the receiver would refuse a replayed time, or the queue deduplicate a repeated id.
 */
export function stamped(payload: Payload, now = Date.now()): Payload {
  const incident = payload.incident && typeof payload.incident === 'object' ? { ...(payload.incident as Payload) } : payload.incident;
  if (incident && typeof incident === 'object') delete (incident as Payload).event_id;
  return { ...payload, ...(incident !== undefined && { incident }), event_time: now, event_id: randomUUID().replace(/-/g, '') };
}
