import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { describeIssues } from '../config/issues';
import { ValidationError } from '../errors';
import { INCIDENT_ID_PATTERN } from './facts';

/**
 * The Custom Action push body (FlashDuty docs, "Custom Action" payload tables). Objects are loose:
 * real pushes carry keys the tables do not list, and we pass them on to the actions untouched.
 */
const int = () => v.pipe(v.number(), v.integer('expected an integer'));
const seconds = () => v.optional(int());
const eventId = () => v.pipe(v.string(), v.maxLength(256, 'must be at most 256 characters'));
const labels = () => v.optional(v.record(v.string(), v.string()));

export const Person = v.looseObject({
  person_id: int(),
  person_name: v.string(),
  email: v.string(),
});

const Severity = v.picklist(['Critical', 'Warning', 'Info']);
const Status = v.picklist(['Critical', 'Warning', 'Info', 'Ok']);

export const Alert = v.looseObject({
  alert_id: v.string(),
  data_source_id: int(),
  title: v.string(),
  alert_key: v.string(),
  alert_severity: Severity,
  alert_status: Status,
  progress: v.picklist(['Triggered', 'Closed']),
  created_at: int(),
  updated_at: int(),
  start_time: int(),
  last_time: int(),
  description: v.optional(v.string()),
  end_time: seconds(),
  close_time: seconds(),
  labels: labels(),
});

export const Incident = v.looseObject({
  incident_id: v.pipe(v.string(), v.regex(INCIDENT_ID_PATTERN, 'expected a 24-character hex ObjectID')),
  title: v.string(),
  incident_severity: Severity,
  incident_status: Status,
  progress: v.picklist(['Triggered', 'Processing', 'Closed']),
  created_at: int(),
  updated_at: int(),
  start_time: int(),
  detail_url: v.string(),
  description: v.optional(v.string()),
  impact: v.optional(v.string()),
  root_cause: v.optional(v.string()),
  resolution: v.optional(v.string()),
  last_time: seconds(),
  end_time: seconds(),
  ack_time: seconds(),
  close_time: seconds(),
  snoozed_before: seconds(),
  labels: labels(),
  fields: v.optional(v.record(v.string(), v.unknown())),
  creator: v.optional(Person),
  closer: v.optional(Person),
  responders: v.optional(v.array(v.looseObject({ ...Person.entries, assigned_at: seconds(), acknowledged_at: seconds() }))),
  alerts: v.optional(v.array(Alert)),
  alert_cnt: v.optional(int()),
  channel_id: v.optional(int()),
  channel_name: v.optional(v.string()),
  group_method: v.optional(v.string()),
  /** FlashDuty's own curl examples put the event id here instead of at the top level. */
  event_id: v.optional(eventId()),
});

export const CustomActionPayload = v.looseObject({
  event_time: int(),
  event_type: v.literal('i_custom'),
  event_id: v.optional(eventId()),
  person: v.optional(Person),
  incident: Incident,
});

export type CustomActionPayload = v.InferOutput<typeof CustomActionPayload>;
export type IncidentPayload = v.InferOutput<typeof Incident>;

/** Validates an already-decoded value against the payload schema; throws ValidationError. */
export function validatePayload(value: unknown, prefix = ''): CustomActionPayload {
  const result = v.safeParse(CustomActionPayload, value);
  if (result.success) return result.output;
  const problems = describeIssues(result.issues, prefix);
  throw new ValidationError(`invalid payload: ${problems.slice(0, 5).join('; ')}`, problems);
}

/**
 * The event's id: top-level `event_id` (the docs' tables), else `incident.event_id` (the docs'
 * examples), else a hash of the raw body, which stays the same when FlashDuty retries the push.
 */
export function eventIdOf(payload: CustomActionPayload, rawBody: string): string {
  const id = payload.event_id?.trim() || payload.incident.event_id?.trim();
  return id || `sha256-${createHash('sha256').update(rawBody).digest('hex')}`;
}
