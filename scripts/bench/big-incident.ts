/**
 * The "big incident" push: FlashDuty's sample click carrying 900 alerts, about 400 KB, as a template
 * for scripts/bench/load.mjs, and the queue message the receiver makes of it (compacted to fit one
 * SQS message), which the enqueue floor sends in its place.
 */
import sample from '../../tests/fixtures/custom-action.json';
import { encodeQueueMessage } from '../../lib/queue/compact';
import type { QueueMessage } from '../../lib/queue/envelope';

export const BIG_ALERTS = 900;
const TARGET_BYTES = 400 * 1024;

export interface BigIncident {
  /** The push, with __EVENT_ID__ and __EVENT_TIME__ for load.mjs to fill in. */
  template: string;
  bytes: number;
  /** What the receiver enqueues for it, compacted to `maxBytes`. */
  compacted: string;
}

export function bigIncident(maxBytes: number): BigIncident {
  // The sample's alert without its optional fields (labels, title rule, responder), so 900 of them
  // come to about 400 KB as the issue has it; its description is padded to the size.
  const { labels: _labels, title_rule: _rule, responder_email: _email, responder_id: _id, responder_name: _name, ...alert } = sample.incident.alerts[0]!;
  const alertsOf = (pad: number) => Array.from({ length: BIG_ALERTS }, (_, i) => ({ ...alert, alert_id: i.toString(16).padStart(24, '0'), description: 'x'.repeat(pad) }));
  const payloadOf = (pad: number) => ({ ...sample, event_id: '__EVENT_ID__', event_time: 0, incident: { ...sample.incident, alerts: alertsOf(pad), alert_cnt: BIG_ALERTS } });
  const bare = Buffer.byteLength(JSON.stringify(payloadOf(0)));
  const payload = payloadOf(Math.max(0, Math.round((TARGET_BYTES - bare) / BIG_ALERTS)));
  const template = JSON.stringify(payload).replace('"event_time":0', '"event_time":__EVENT_TIME__');
  const message = { version: 1, action: 'echo', event_id: `big-${'0'.repeat(32)}`, received_at: Date.now(), payload: { ...payload, event_time: Date.now() } };
  return { template, bytes: Buffer.byteLength(template), compacted: encodeQueueMessage(message as unknown as QueueMessage, maxBytes) };
}
