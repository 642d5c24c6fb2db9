import { clickKeyOf, type QueueMessage } from '../queue/envelope';

/** A point in time. Templates shift it (`start_time - 15m`) and format it (`| ms`, `| rfc3339`). */
export class TimeValue {
  constructor(readonly ms: number) {}
}

/**
 * What a template can name. Built once per click from the queue message, so a retried run of the
 * same click renders the same text (no "now": use `received_at`, fixed when the click arrived).
 */
export interface TemplateContext {
  /** Every field of the incident as FlashDuty sent it (`incident.title`, `incident.labels.x`, …). */
  incident: Record<string, unknown>;
  /** The incident's labels, then the first alert's labels for keys the incident lacks. */
  labels: Record<string, string>;
  /** The first alert, when there is one. */
  alert: Record<string, unknown> | undefined;
  /** Who clicked: `person_id`, `person_name`, `email`. */
  person: Record<string, unknown> | undefined;
  event_id: string;
  action: string;
  /** The click's key (clickKeyOf): action, incident and event id; what once-only records use. */
  click_key: string;
  start_time: TimeValue | undefined;
  /** Only when the incident has ended. */
  end_time: TimeValue | undefined;
  /** When FlashDuty sent the click. */
  event_time: TimeValue;
  /** When the receiver accepted the click. */
  received_at: TimeValue;
}

/** The names a template may start with; time names take `± duration` and time filters. */
export const ROOT_NAMES = ['incident', 'labels', 'alert', 'person', 'event_id', 'action', 'click_key', 'start_time', 'end_time', 'event_time', 'received_at'] as const;
export const TIME_NAMES: ReadonlySet<string> = new Set(['start_time', 'end_time', 'event_time', 'received_at']);

type Alert = Record<string, unknown>;

/**
 * The template context of one click. `alerts` replaces the payload's alerts when the caller fetched
 * them (incident webhooks and manual incidents carry none).
 */
export function templateContext(message: QueueMessage, options: { alerts?: Alert[] } = {}): TemplateContext {
  const { incident, person } = message.payload;
  const alert = (options.alerts ?? incident.alerts ?? [])[0] as Alert | undefined;
  return {
    incident: incident as Record<string, unknown>,
    labels: { ...stringsOf(alert?.labels), ...stringsOf(incident.labels) },
    alert,
    person: person as Record<string, unknown> | undefined,
    event_id: message.event_id,
    action: message.action,
    click_key: clickKeyOf(message),
    start_time: incident.start_time !== undefined ? new TimeValue(incident.start_time * 1000) : undefined,
    end_time: incident.end_time ? new TimeValue(incident.end_time * 1000) : undefined,
    event_time: new TimeValue(message.payload.event_time),
    received_at: new TimeValue(message.received_at),
  };
}

/** Label maps from a fetched alert are not validated: keep only string values. */
function stringsOf(labels: unknown): Record<string, string> {
  if (labels === null || typeof labels !== 'object') return {};
  return Object.fromEntries(Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
