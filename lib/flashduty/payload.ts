import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { describeIssues } from '../config/issues';
import { ValidationError } from '../errors';
import { INCIDENT_ID_PATTERN } from './facts';

/**
 * The Custom Action push body (FlashDuty docs, "Custom Action" payload tables). Objects are loose:
 * real pushes carry keys the tables do not list, and we pass them on to the actions untouched.
 */
const int = () => z.int();
const seconds = () => z.optional(z.int());
const eventId = () => z.string().check(z.maxLength(256));
const labels = () => z.optional(z.record(z.string(), z.string()));

export const Person = z.looseObject({
  person_id: int(),
  person_name: z.string(),
  email: z.string(),
});

const Severity = z.enum(['Critical', 'Warning', 'Info']);
const Status = z.enum(['Critical', 'Warning', 'Info', 'Ok']);

export const Alert = z.looseObject({
  alert_id: z.string(),
  data_source_id: int(),
  title: z.string(),
  alert_key: z.string(),
  alert_severity: Severity,
  alert_status: Status,
  progress: z.enum(['Triggered', 'Closed']),
  created_at: int(),
  updated_at: int(),
  start_time: int(),
  last_time: int(),
  description: z.optional(z.string()),
  end_time: seconds(),
  close_time: seconds(),
  labels: labels(),
});

export const Incident = z.looseObject({
  incident_id: z.string().check(z.regex(INCIDENT_ID_PATTERN, 'expected a 24-character hex ObjectID')),
  title: z.string(),
  incident_severity: Severity,
  incident_status: Status,
  progress: z.enum(['Triggered', 'Processing', 'Closed']),
  created_at: int(),
  updated_at: int(),
  start_time: int(),
  detail_url: z.string(),
  description: z.optional(z.string()),
  impact: z.optional(z.string()),
  root_cause: z.optional(z.string()),
  resolution: z.optional(z.string()),
  last_time: seconds(),
  end_time: seconds(),
  ack_time: seconds(),
  close_time: seconds(),
  snoozed_before: seconds(),
  labels: labels(),
  fields: z.optional(z.record(z.string(), z.unknown())),
  creator: z.optional(Person),
  closer: z.optional(Person),
  responders: z.optional(z.array(z.looseObject({ ...Person.shape, assigned_at: seconds(), acknowledged_at: seconds() }))),
  alerts: z.optional(z.array(Alert)),
  alert_cnt: z.optional(int()),
  channel_id: z.optional(int()),
  channel_name: z.optional(z.string()),
  group_method: z.optional(z.string()),
  /** FlashDuty's own curl examples put the event id here instead of at the top level. */
  event_id: z.optional(eventId()),
});

export const CustomActionPayload = z.looseObject({
  event_time: int(),
  event_type: z.literal('i_custom'),
  event_id: z.optional(eventId()),
  person: z.optional(Person),
  incident: Incident,
});

export type CustomActionPayload = z.infer<typeof CustomActionPayload>;
export type IncidentPayload = z.infer<typeof Incident>;
export type AlertPayload = z.infer<typeof Alert>;

/** Validates an already-decoded value against the payload schema; throws ValidationError. */
export function validatePayload(value: unknown, prefix = ''): CustomActionPayload {
  const result = CustomActionPayload.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues, prefix);
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
