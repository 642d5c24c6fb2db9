import { randomUUID } from 'node:crypto';
import sample from '../tests/fixtures/custom-action.json';
import sampleEvent from '../tests/fixtures/incident-webhook.json';

/** A JSON object, as a push body is. */
export type Payload = Record<string, unknown>;

/** FlashDuty's sample Custom Action push (tests/fixtures/custom-action.json). */
export const samplePayload = (): Payload => structuredClone(sample) as Payload;

/**
 * FlashDuty's sample Incident Webhook event (tests/fixtures/incident-webhook.json) of type
 * `eventType`, its incident labelled like the sample click's (resource=es.nj.01, service=engine),
 * which the local stand-ins know: the docs' example carries only `check`. The incident is as the
 * event leaves it (FlashDuty sends it after the change): the sample is a new one, `Triggered`, so
 * an `i_rslv` would otherwise tell status-page the incident is still open.
 */
export function sampleEventPayload(eventType: string): Payload {
  const event = structuredClone(sampleEvent);
  const after = LIFECYCLE[eventType];
  const lifecycle = after && Object.fromEntries([['progress', after.progress], ...after.times.map((key) => [key, event.incident.updated_at])]);
  return { ...event, event_type: eventType, incident: { ...event.incident, ...lifecycle, labels: { ...event.incident.labels, ...sample.incident.labels } } };
}

/** The event types that move an incident along, with its progress after them and the times they set. */
const LIFECYCLE: Record<string, { progress: string; times: Array<'ack_time' | 'close_time' | 'end_time'> }> = {
  i_ack: { progress: 'Processing', times: ['ack_time'] },
  i_unack: { progress: 'Triggered', times: [] },
  i_rslv: { progress: 'Closed', times: ['close_time', 'end_time'] },
  i_reopen: { progress: 'Triggered', times: [] },
};

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
