import * as v from 'valibot';
import { EVENT_STATUSES, type EventStatus } from './config';

/**
 * What the incident's custom field records about its public event: which provider, page and event,
 * the last status and event_time applied (so an older event never undoes a newer one), the click
 * that applied it (so a redelivered click is recognised), and every component the event touched
 * (all of them go back to operational on resolve). Stored as compact JSON in a text field.
 */
export const Link = v.object({
  provider: v.picklist(['flashduty', 'statuspage']),
  page: v.string(),
  id: v.pipe(v.string(), v.minLength(1)),
  status: v.picklist(EVENT_STATUSES),
  /** event_time (ms) of the newest click or event applied. */
  at: v.number(),
  /** event_id of the click that wrote this. */
  click: v.string(),
  components: v.array(v.string()),
  url: v.optional(v.string()),
});
export type Link = v.InferOutput<typeof Link>;

export type LinkRead = { link: Link } | { none: true } | { problem: string };

/** Reads the field's value: absent or empty is "no event yet"; anything else must be a link. */
export function parseLink(value: unknown, field: string): LinkRead {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return { none: true };
  let data = value;
  if (typeof value === 'string') {
    try {
      data = JSON.parse(value);
    } catch {
      return { problem: `custom field ${field} holds ${JSON.stringify(value.slice(0, 80))}, which is not a status page link this action wrote; clear it to open a new public event` };
    }
  }
  const result = v.safeParse(Link, data);
  if (result.success) return { link: result.output };
  return { problem: `custom field ${field} holds a value this action cannot read (${result.issues[0].message}); clear it to open a new public event` };
}

export const formatLink = (link: Link): string => JSON.stringify(link);

/** The status a click asks for, from the incident's progress and status. */
export function desiredStatus(incident: Record<string, unknown>, processing: EventStatus): { status: EventStatus } | { problem: string } {
  if (incident.progress === 'Closed' || incident.incident_status === 'Ok') return { status: 'resolved' };
  if (incident.progress === 'Processing') return { status: processing };
  if (incident.progress === 'Triggered') return { status: 'investigating' };
  return { problem: `the incident has no usable progress (got ${JSON.stringify(incident.progress ?? null)}), so the public status is unknown` };
}
