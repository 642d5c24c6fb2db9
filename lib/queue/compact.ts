import { Alert, CustomActionPayload, Incident, Person } from '../flashduty/payload';
import { truncate } from '../text';
import type { QueueMessage } from './envelope';

/**
 * Fits a queue message into `maxBytes` of JSON, losing as little as possible. The JSON is pure
 * ASCII (see `asciiJson`), and its size is counted as sent. Incidents can carry
 * hundreds of alerts and arbitrary extra keys; a click must never be refused for size, and the
 * result must still be valid JSON that passes the payload schema. Steps, least lossy first:
 *   0. keep as many alerts as fit (counts such as `alert_cnt` stay as sent);
 *   1. also shorten strings longer than 2,048 characters;
 *   2. also drop keys the schema does not know, cap maps and lists at 20 entries, strings at 512;
 *   3. keep only the essential fields (ESSENTIAL), 10 labels, strings at 256;
 *   4. the same with strings at 64 (a string of emoji costs 12 bytes a character once escaped).
 * `compacted` in the message says what was left out; actions that need the full incident can
 * fetch it from the Open API by `incident_id`.
 */
export function encodeQueueMessage(message: QueueMessage, maxBytes: number): string {
  const whole = tryStringify(message);
  if (whole !== undefined && byteLength(whole) <= maxBytes) return whole;
  const originalBytes = whole === undefined ? 0 : byteLength(whole);
  const originalAlerts = message.payload.incident.alerts?.length ?? 0;

  for (const step of STEPS) {
    const counters = { strings_shortened: 0, keys_dropped: 0 };
    const payload = step(message.payload, counters);
    const alerts = payload.incident.alerts;
    const encode = (keep: number) =>
      tryStringify({
        ...message,
        compacted: { original_bytes: originalBytes, alerts_dropped: originalAlerts - keep, ...counters },
        payload: alerts ? { ...payload, incident: { ...payload.incident, alerts: alerts.slice(0, keep) } } : payload,
      });
    const fits = (keep: number) => {
      const body = encode(keep);
      return body !== undefined && byteLength(body) <= maxBytes;
    };
    const none = encode(0);
    if (none === undefined || byteLength(none) > maxBytes) continue;
    return encode(mostAlertsThatFit(alerts ?? [], byteLength(none), maxBytes, fits)) as string;
  }
  throw new RangeError(`message cannot be made to fit ${maxBytes} bytes`);
}

/**
 * How many of `alerts` (a prefix) fit, given the message's size with none. Each alert adds its own
 * JSON and a comma, so prefix sums estimate the count from one encoding of each alert, where a
 * binary search would encode the whole message ten times: a 900-alert incident costs the receiver
 * milliseconds, not tens of them. The estimate never overshoots (fewer alerts dropped only
 * shortens `alerts_dropped`); `fits` confirms it and looks one further, with the binary search
 * as the fallback should an alert not encode alone as it does in the list.
 */
function mostAlertsThatFit(alerts: unknown[], bytesWithNone: number, maxBytes: number, fits: (keep: number) => boolean): number {
  let size = bytesWithNone;
  let keep = 0;
  for (const alert of alerts) {
    const added = (tryStringify(alert)?.length ?? Infinity) + (keep > 0 ? 1 : 0);
    if (size + added > maxBytes) break;
    size += added;
    keep++;
  }
  if (keep > 0 && !fits(keep)) return binarySearch(0, keep, fits);
  while (keep < alerts.length && fits(keep + 1)) keep++;
  return keep;
}

/** The largest count in [lo, hi] that fits, `lo` known to fit. */
function binarySearch(lo: number, hi: number, fits: (keep: number) => boolean): number {
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The smallest budget the last step is sure to fit (essential fields, 10 labels, short strings). */
export const MIN_MESSAGE_BYTES = 64 * 1024;

type Counters = { strings_shortened: number; keys_dropped: number };
type Step = (payload: CustomActionPayload, counters: Counters) => CustomActionPayload;

const STEPS: Step[] = [
  (payload) => payload,
  (payload, c) => shorten(payload, 2048, c),
  (payload, c) => shorten(capCollections(knownKeys(payload, 'all', c), 20, c), 512, c),
  (payload, c) => shorten(capCollections(knownKeys(payload, 'essential', c), 10, c), 256, c),
  (payload, c) => shorten(capCollections(knownKeys(payload, 'essential', c), 10, c), 64, c),
];

/** What the last steps keep: what routing, dedup, the comment and label-driven actions read. */
const ESSENTIAL = new Set([
  ...['event_time', 'event_type', 'event_id', 'person', 'incident'],
  ...['person_id', 'person_name', 'email'],
  ...['incident_id', 'title', 'incident_severity', 'incident_status', 'progress', 'created_at', 'updated_at', 'start_time', 'detail_url', 'labels'],
]);

/** Deeper than any field the schema knows; anything below is dropped, which also guards JSON.stringify. */
const MAX_DEPTH = 16;

function shorten<T>(value: T, max: number, c: Counters, depth = 0): T {
  const cut = (text: string) => {
    const short = truncate(text, max);
    if (short !== text) c.strings_shortened++;
    return short;
  };
  if (typeof value === 'string') return cut(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) {
    c.keys_dropped++;
    return null as T;
  }
  if (Array.isArray(value)) return value.map((item) => shorten(item, max, c, depth + 1)) as T;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [cut(key), shorten(item, max, c, depth + 1)])) as T;
}

/** Keeps the keys the schema names: all of them, or only the essential ones. */
function knownKeys(payload: CustomActionPayload, which: 'all' | 'essential', c: Counters): CustomActionPayload {
  const pick = <T extends object>(obj: T, entries: Record<string, unknown>): T => {
    const keep = (key: string) => key in entries && (which === 'all' || ESSENTIAL.has(key));
    const kept = Object.entries(obj).filter(([key]) => keep(key));
    c.keys_dropped += Object.keys(obj).length - kept.length;
    return Object.fromEntries(kept) as T;
  };
  const incident = pick(payload.incident, Incident.entries);
  return {
    ...pick(payload, CustomActionPayload.entries),
    ...(payload.person && { person: pick(payload.person, Person.entries) }),
    incident: { ...incident, ...(incident.alerts && { alerts: incident.alerts.map((alert) => pick(alert, Alert.entries)) }) },
  };
}

/** Caps the open-ended maps and lists: labels, custom fields (flattened), responders. */
function capCollections(payload: CustomActionPayload, max: number, c: Counters): CustomActionPayload {
  const first = <T>(items: T[]): T[] => {
    if (items.length > max) c.keys_dropped += items.length - max;
    return items.slice(0, max);
  };
  const firstEntries = <T extends object>(map: T): T => Object.fromEntries(first(Object.entries(map))) as T;
  // A custom field holds a string, a bool or a list of options; nested structures are more than a click needs.
  const flat = (value: unknown): unknown => {
    if (Array.isArray(value)) return first(value.filter((item) => item === null || typeof item !== 'object'));
    if (value !== null && typeof value === 'object') {
      c.keys_dropped++;
      return null;
    }
    return value;
  };
  const { incident } = payload;
  return {
    ...payload,
    incident: {
      ...incident,
      ...(incident.labels && { labels: firstEntries(incident.labels) }),
      ...(incident.fields && { fields: Object.fromEntries(first(Object.entries(incident.fields)).map(([k, v]) => [k, flat(v)])) }),
      ...(incident.responders && { responders: first(incident.responders) }),
      ...(incident.alerts && { alerts: incident.alerts.map((alert) => (alert.labels ? { ...alert, labels: firstEntries(alert.labels) } : alert)) }),
    },
  };
}

function tryStringify(value: unknown): string | undefined {
  try {
    return asciiJson(value);
  } catch {
    return undefined; // nesting too deep for the stack: a later step cuts it
  }
}

/**
 * JSON in printable ASCII: every other UTF-16 unit written as a \uXXXX escape. SQS refuses characters outside
 * its XML-derived set (U+FFFE, U+FFFF; emulators also refuse anything above U+FFFF), and a lone
 * surrogate is not encodable at all; escaped, any JSON string passes, and JSON.parse on the worker
 * restores it exactly. JSON.stringify already escapes control characters and lone surrogates.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
