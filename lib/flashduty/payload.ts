import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { parseOrThrow } from '../schema/parse';
import { INCIDENT_ID_PATTERN } from './facts';
import type { RawAlert } from './raw-alerts';

/**
 * The Custom Action push body (FlashDuty docs, "Custom Action" payload tables), read liberally:
 * FlashDuty never retries a refused push, so a 400 is a click lost. Only what routing and dedup
 * need is required (`event_time`, `incident.incident_id`); every other field is optional, enums
 * take any string (FlashDuty's grow: alerts already carry `Ok`), timestamps may be floats, and
 * objects are loose so keys the tables do not list reach the actions untouched. Actions that need
 * a deeper field check it themselves and say which one is missing.
 */
const number = () => v.optional(v.number());
const text = () => v.optional(v.string());
/** Ids arrive as strings, but a Go client may send a number; both become the same string. */
const eventId = () =>
  v.pipe(v.union([v.string(), v.number()]), v.transform(String), v.maxLength(256, 'must be at most 256 characters'));
/**
 * Label values are strings in the docs; numbers and booleans become their string form, and
 * anything else its JSON, so an odd label never costs the click (an action reading it refuses it).
 */
const labelValue = v.pipe(
  v.unknown(),
  v.transform((value) => (typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value))),
);
const labels = () => v.optional(v.record(v.string(), labelValue));

/** A value below 10^12 cannot be milliseconds after 2001: it is seconds, sent by mistake or by an older client. */
const SECONDS_BELOW = 1e12;
const eventTime = v.pipe(v.number(), v.transform((time) => Math.round(time < SECONDS_BELOW ? time * 1000 : time)));

export const Person = v.looseObject({
  person_id: number(),
  person_name: text(),
  email: text(),
});

/** Known values: Critical, Warning, Info (and Ok for alerts and statuses); others are kept as sent. */
const Severity = text;
/** Known values: Triggered, Processing, Closed; others are kept as sent. */
const Progress = text;

/**
 * An alert field of the wrong type is dropped rather than refusing anything: the receiver passes
 * alerts on unchecked (see ReceivedPayload), and the worker must not fail a click over one.
 */
const lenient = <T extends v.GenericSchema>(schema: T) => v.fallback(v.optional(schema), undefined);

export const Alert = v.looseObject({
  alert_id: lenient(v.string()),
  data_source_id: lenient(v.number()),
  title: lenient(v.string()),
  alert_key: lenient(v.string()),
  alert_severity: lenient(v.string()),
  alert_status: lenient(v.string()),
  progress: lenient(v.string()),
  created_at: lenient(v.number()),
  updated_at: lenient(v.number()),
  start_time: lenient(v.number()),
  last_time: lenient(v.number()),
  description: lenient(v.string()),
  end_time: lenient(v.number()),
  close_time: lenient(v.number()),
  labels: lenient(v.record(v.string(), labelValue)),
});

export const Incident = v.looseObject({
  incident_id: v.pipe(v.string(), v.regex(INCIDENT_ID_PATTERN, 'expected a 24-character hex ObjectID')),
  title: text(),
  incident_severity: Severity(),
  incident_status: Severity(),
  progress: Progress(),
  created_at: number(),
  updated_at: number(),
  start_time: number(),
  detail_url: text(),
  description: text(),
  impact: text(),
  root_cause: text(),
  resolution: text(),
  last_time: number(),
  end_time: number(),
  ack_time: number(),
  close_time: number(),
  snoozed_before: number(),
  labels: labels(),
  fields: v.optional(v.record(v.string(), v.unknown())),
  creator: v.optional(Person),
  closer: v.optional(Person),
  responders: v.optional(v.array(v.looseObject({ ...Person.entries, assigned_at: number(), acknowledged_at: number() }))),
  alerts: v.optional(v.array(Alert)),
  alert_cnt: number(),
  channel_id: number(),
  channel_name: text(),
  group_method: text(),
  /** FlashDuty's own curl examples put the event id here instead of at the top level. */
  event_id: v.optional(eventId()),
});

export const CustomActionPayload = v.looseObject({
  event_time: eventTime,
  /** `i_custom` for a click in the docs; any string is kept, as FlashDuty's event types grow. */
  event_type: text(),
  event_id: v.optional(eventId()),
  person: v.optional(Person),
  incident: Incident,
});

export type CustomActionPayload = v.InferOutput<typeof CustomActionPayload>;
export type IncidentPayload = v.InferOutput<typeof Incident>;

/** An object, passed on as it is (an array too: the worker's looseObject reads one as an object, as the receiver did). */
const anyObject = v.custom<Record<string, unknown> | RawAlert>((value) => typeof value === 'object' && value !== null, 'expected an object');

/**
 * The push as the receiver reads it: the same schema, except that each alert is only checked to be
 * an object (in a push of 64 K characters or more, a RawAlert: its text as sent, see raw-alerts.ts). An
 * incident can carry hundreds of alerts, and checking every field of every one cost the receiver
 * more than parsing the push (`npm run bench`, "Big incidents"). The worker checks
 * them field by field when it decodes the queue message (`Alert`, where a wrong type is dropped),
 * so alert label values become strings there, not here, and the nulls inside alerts are dropped
 * there too (`validatePayload`).
 */
export const ReceivedPayload = v.looseObject({
  ...CustomActionPayload.entries,
  incident: v.looseObject({ ...Incident.entries, alerts: v.optional(v.array(anyObject)) }),
});
export type ReceivedPayload = v.InferOutput<typeof ReceivedPayload>;

/** Below this depth nothing the schema reads lives; deeper values are passed on as they are. */
const NULL_DEPTH = 32;

/**
 * FlashDuty is written in Go: empty lists, maps and pointers arrive as `null`. Null means absent,
 * everywhere: null keys and null list items are dropped. Only what holds a null is copied (the
 * rest is returned as it is), so a push without nulls costs a walk, not a rebuild. Inside the
 * `opaque` list, if given, only its own null items are dropped.
 */
export function withoutNulls(value: unknown, depth = 0, opaque?: unknown[]): unknown {
  if (value === null || typeof value !== 'object' || depth >= NULL_DEPTH) return value;
  if (value === opaque) return opaque.includes(null) ? opaque.filter((item) => item !== null) : opaque;
  if (Array.isArray(value)) {
    const kept = value.filter((item) => item !== null).map((item) => withoutNulls(item, depth + 1, opaque));
    return kept.length === value.length && kept.every((item, i) => item === value[i]) ? value : kept;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) {
    const item = record[keys[i]!];
    const cleaned = withoutNulls(item, depth + 1, opaque);
    if (item !== null && cleaned === item) continue;
    // The first change: copy what came before, then go on cleaning into the copy.
    // (Entries, not assignment: a `__proto__` key stays a key.)
    const entries: Array<[string, unknown]> = keys.slice(0, i).map((key) => [key, record[key]]);
    for (const key of keys.slice(i)) {
      if (record[key] !== null) entries.push([key, withoutNulls(record[key], depth + 1, opaque)]);
    }
    return Object.fromEntries(entries);
  }
  return value;
}

/** Validates an already-decoded value against the payload schema; throws ValidationError. */
export function validatePayload(value: unknown, prefix = ''): CustomActionPayload {
  return parseOrThrow(CustomActionPayload, withoutNulls(value), 'payload', { prefix });
}

/**
 * The receiver's check of a push (`ReceivedPayload`); throws ValidationError. The alerts are
 * passed on unread, so only null items are dropped from their list: the worker drops the nulls
 * inside them (`validatePayload`).
 */
export function validatePush(value: unknown): ReceivedPayload {
  const alerts = (value as { incident?: { alerts?: unknown } } | null)?.incident?.alerts;
  return parseOrThrow(ReceivedPayload, withoutNulls(value, 0, Array.isArray(alerts) ? alerts : undefined), 'payload', { prefix: '' });
}

/**
 * The event's id: top-level `event_id` (the docs' tables), else `incident.event_id` (the docs'
 * examples), else a hash of the raw body, which stays the same when FlashDuty retries the push.
 */
export function eventIdOf(payload: ReceivedPayload, rawBody: string): string {
  const id = payload.event_id?.trim() || payload.incident.event_id?.trim();
  return id || `sha256-${createHash('sha256').update(rawBody).digest('hex')}`;
}
