import { Alert, CustomActionPayload, Incident, Person, type ReceivedPayload } from '../flashduty/payload';
import { escapeNonAscii, truncate } from '../text';
import { RawAlert } from '../flashduty/raw-alerts';
import type { OutgoingMessage } from './envelope';

/**
 * Fits a queue message into `maxBytes` of JSON, losing as little as possible. The JSON is pure
 * ASCII (see `asciiJson`), and its size is counted as sent. Incidents can carry
 * hundreds of alerts and arbitrary extra keys; a click must never be refused for size, and the
 * result must still be valid JSON that passes the payload schema. Steps, least lossy first:
 *   0. keep as many alerts as fit (counts such as `alert_cnt` stay as sent); when the first alert
 *      left out is a giant one, step 1 is taken instead if it keeps more;
 *   1. also shorten strings longer than 2,048 characters;
 *   2. also drop keys the schema does not know, cap maps and lists at 20 entries, strings at 512;
 *   3. keep only the essential fields (ESSENTIAL), 10 labels, strings at 256;
 *   4. the same with strings at 64 (a string of emoji costs 12 bytes a character once escaped).
 * `compacted` in the message says what was left out; actions that need the full incident can
 * fetch it from the Open API by `incident_id`.
 */
export function encodeQueueMessage(message: OutgoingMessage, maxBytes: number): string {
  const whole = layout(message, message.payload);
  const wholeBytes = whole?.bytes(whole.count) ?? Infinity;
  if (whole !== undefined && wholeBytes <= maxBytes) return whole.body(whole.count);
  const originalBytes = Number.isFinite(wholeBytes) ? wholeBytes : 0;
  const originalAlerts = message.payload.incident.alerts?.length ?? 0;

  let parsed: ReceivedPayload | undefined;
  const fitAt = (step: number) => {
    const counters = { strings_shortened: 0, keys_dropped: 0 };
    // Step 0 keeps the payload as it is. The later steps rewrite alerts, so alerts kept as text
    // (RawAlert) are parsed for them, once.
    const payload = step === 0 ? message.payload : LATER_STEPS[step - 1]!((parsed ??= withParsedAlerts(message.payload)), counters);
    const compacted = (keep: number) => ({ original_bytes: originalBytes, alerts_dropped: originalAlerts - keep, ...counters });
    const laid = layout(message, payload, compacted);
    if (laid === undefined || laid.bytes(0) > maxBytes) return undefined;
    const keep = mostAlertsThatFit(laid, maxBytes);
    // The first alert left out holds a string step 1 would shorten?
    const nextIsLong = keep < laid.count && holdsLongString(payload.incident.alerts![keep]);
    return { keep, nextIsLong, body: () => laid.body(keep) };
  };
  for (let step = 0; step <= LATER_STEPS.length; step++) {
    const fit = fitAt(step);
    if (fit === undefined) continue;
    // A giant alert stops step 0 there, and every alert after it is dropped, where shortening the
    // long strings (step 1) may keep them, which loses less.
    const shortened = step === 0 && fit.nextIsLong ? fitAt(1) : undefined;
    return shortened && shortened.keep > fit.keep ? shortened.body() : fit.body();
  }
  throw new RangeError(`message cannot be made to fit ${maxBytes} bytes`);
}

/**
 * How many alerts (a prefix) fit. The size of the rest of the message with none, plus the list's,
 * estimates the size with any prefix; the exact size then settles it, a step or two either way.
 * (The rest differs from the estimate by the digits of the count of dropped alerts; and when the
 * list cannot go where the placeholder is, the alerts are encoded directly, which for alerts kept
 * as text can differ from their text's size.)
 */
function mostAlertsThatFit(laid: Layout, maxBytes: number): number {
  const rest = laid.bytes(0) - laid.list.bytes(0);
  let keep = 0;
  while (keep < laid.count && rest + laid.list.bytes(keep + 1) <= maxBytes) keep++;
  while (keep > 0 && laid.bytes(keep) > maxBytes) keep--;
  while (keep < laid.count && laid.bytes(keep + 1) <= maxBytes) keep++;
  return keep;
}

/** A message's JSON for any prefix of its alerts (see `layout`). */
interface Layout {
  /** How many alerts the payload carries (0 when it has none). */
  count: number;
  /** The alert list's JSON for any prefix: its size, for the estimate, and its text. */
  list: AlertList;
  /** Bytes of the message with its first `keep` alerts. */
  bytes: (keep: number) => number;
  body: (keep: number) => string;
}

/**
 * The message's JSON laid out around its alerts, which can be hundreds: the rest of the message is
 * encoded with a placeholder where the list goes, so the size of any prefix is a sum and its body a
 * join. Undefined when something does not encode (nesting too deep for the stack: a later step
 * cuts it).
 */
function layout(
  message: OutgoingMessage,
  payload: ReceivedPayload,
  compacted?: (keep: number) => object,
): Layout | undefined {
  const alerts = payload.incident.alerts ?? [];
  const direct = (keep: number) =>
    tryStringify({
      ...message,
      ...(compacted && { compacted: compacted(keep) }),
      payload: payload.incident.alerts ? { ...payload, incident: { ...payload.incident, alerts: alerts.slice(0, keep) } } : payload,
    });
  const list = alertList(alerts);
  if (list === undefined) return undefined;
  const arounds = new Map<number, { text: string; at: number } | undefined>();
  const around = (keep: number) => {
    if (arounds.has(keep)) return arounds.get(keep);
    const text = tryStringify({ ...message, ...(compacted && { compacted: compacted(keep) }), payload: { ...payload, incident: { ...payload.incident, alerts: ALERTS_SLOT } } });
    const at = text?.indexOf(ALERTS_SLOT_JSON) ?? -1;
    // A string in the incident equal to the placeholder would make it ambiguous: then encode directly.
    const slot = text === undefined || at < 0 || text.indexOf(ALERTS_SLOT_JSON, at + 1) >= 0 ? undefined : { text, at };
    arounds.set(keep, slot);
    return slot;
  };
  // JSON in printable ASCII: a string's length is its size in bytes.
  return {
    count: payload.incident.alerts ? alerts.length : 0,
    list,
    bytes: (keep) => {
      const slot = payload.incident.alerts ? around(keep) : undefined;
      return slot ? slot.text.length - ALERTS_SLOT_JSON.length + list.bytes(keep) : (direct(keep)?.length ?? Infinity);
    },
    body: (keep) => {
      const slot = payload.incident.alerts ? around(keep) : undefined;
      if (!slot) return direct(keep) as string;
      // One join, not concatenation: a flat string, which the SDK's serializer reads several times faster.
      return [slot.text.slice(0, slot.at), ...list.parts(keep), slot.text.slice(slot.at + ALERTS_SLOT_JSON.length)].join('');
    },
  };
}

/** The JSON of an alert list's prefixes: its size and its text (in parts, to be joined once). */
interface AlertList {
  bytes: (keep: number) => number;
  parts: (keep: number) => string[];
}

/**
 * An alert list as JSON. Alerts kept as text (RawAlert) are not encoded again; when they stood in
 * the push one after another with only a comma between them (FlashDuty's compact JSON), a prefix
 * of them is one slice of the push, so nothing is copied until the message is joined. Any other
 * alert is encoded once. Cached by the list: the runs an event starts share their payload.
 * Undefined when an alert does not encode.
 */
function alertList(alerts: unknown[]): AlertList | undefined {
  if (ALERT_LISTS.has(alerts)) return ALERT_LISTS.get(alerts);
  const first = alerts[0];
  let list: AlertList | undefined;
  if (first instanceof RawAlert && alerts.every((alert, i) => alert instanceof RawAlert && alert.source === first.source && (i === 0 || alert.start === (alerts[i - 1] as RawAlert).end + 1))) {
    const end = (keep: number) => (alerts[keep - 1] as RawAlert).end;
    list = {
      bytes: (keep) => (keep === 0 ? 2 : end(keep) - first.start + 2),
      parts: (keep) => ['[', keep === 0 ? '' : first.source.slice(first.start, end(keep)), ']'],
    };
  } else {
    const pieces = alerts.map((alert) => (alert instanceof RawAlert ? alert.text : tryStringify(alert)));
    if (pieces.every((piece) => piece !== undefined)) {
      const sums = [0];
      for (const piece of pieces) sums.push(sums[sums.length - 1]! + piece.length);
      list = {
        bytes: (keep) => sums[keep]! + Math.max(0, keep - 1) + 2,
        parts: (keep) => ['[', pieces.slice(0, keep).join(','), ']'],
      };
    }
  }
  ALERT_LISTS.set(alerts, list);
  return list;
}

/** The alerts of a payload a later step rewrites: parsed already (withParsedAlerts), never text. */
function plainAlerts(payload: ReceivedPayload): Array<Record<string, unknown>> | undefined {
  const { alerts } = payload.incident;
  if (alerts?.some((alert) => alert instanceof RawAlert)) throw new TypeError('alerts kept as text must be parsed before they are rewritten');
  return alerts as Array<Record<string, unknown>> | undefined;
}

/** Weak: a list and its JSON go with the request. */
const ALERT_LISTS = new WeakMap<unknown[], AlertList | undefined>();

/** The payload with its alerts kept as text parsed, for the steps that rewrite alerts. */
function withParsedAlerts(payload: ReceivedPayload): ReceivedPayload {
  const { alerts } = payload.incident;
  if (!alerts?.some((alert) => alert instanceof RawAlert)) return payload;
  const parsed = alerts.map((alert) => (alert instanceof RawAlert ? (alert.toJSON() as Record<string, unknown>) : alert));
  return { ...payload, incident: { ...payload.incident, alerts: parsed } };
}

/** Where the alert list goes while the rest of the message is encoded. */
const ALERTS_SLOT = '\u0000flashduty-actions:alerts\u0000';
const ALERTS_SLOT_JSON = JSON.stringify(ALERTS_SLOT);

/** The smallest budget the last step is sure to fit (essential fields, 10 labels, short strings). */
export const MIN_MESSAGE_BYTES = 64 * 1024;

type Counters = { strings_shortened: number; keys_dropped: number };
type Step = (payload: ReceivedPayload, counters: Counters) => ReceivedPayload;

/** Strings longer than this are shortened from step 1 on. */
const LONG_STRING = 2048;
/** A JSON string token whose text is longer than LONG_STRING: needed (not enough) for its value to be. */
const LONG_STRING_TOKEN = new RegExp(`"(?:[^"\\\\]|\\\\.){${LONG_STRING + 1},}"`);

/**
 * Whether an alert holds a string longer than LONG_STRING: one regular expression over an alert kept
 * as text (its escapes only make a token longer than its value), a walk over any other. One alert,
 * so a push of ordinary alerts, however many, pays next to nothing.
 */
function holdsLongString(value: unknown, depth = 0): boolean {
  if (value instanceof RawAlert) return LONG_STRING_TOKEN.test(value.text);
  if (typeof value === 'string') return value.length > LONG_STRING;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return false;
  return Object.values(value).some((item) => holdsLongString(item, depth + 1));
}

/** Steps 1-4 (step 0 is the payload as it is). */
const LATER_STEPS: Step[] = [
  (payload, c) => shorten(payload, LONG_STRING, c),
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
function knownKeys(payload: ReceivedPayload, which: 'all' | 'essential', c: Counters): ReceivedPayload {
  const pick = <T extends object>(obj: T, entries: Record<string, unknown>): T => {
    const keep = (key: string) => Object.hasOwn(entries, key) && (which === 'all' || ESSENTIAL.has(key));
    const kept = Object.entries(obj).filter(([key]) => keep(key));
    c.keys_dropped += Object.keys(obj).length - kept.length;
    return Object.fromEntries(kept) as T;
  };
  const incident = pick(payload.incident, Incident.entries);
  const alerts = plainAlerts(payload);
  return {
    ...pick(payload, CustomActionPayload.entries),
    ...(payload.person && { person: pick(payload.person, Person.entries) }),
    incident: { ...incident, ...(alerts && { alerts: alerts.map((alert) => pick(alert, Alert.entries)) }) },
  };
}

/** Caps the open-ended maps and lists: labels, custom fields (flattened), responders. */
function capCollections(payload: ReceivedPayload, max: number, c: Counters): ReceivedPayload {
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
  const alerts = plainAlerts(payload);
  return {
    ...payload,
    incident: {
      ...incident,
      ...(incident.labels && { labels: firstEntries(incident.labels) }),
      ...(incident.fields && { fields: Object.fromEntries(first(Object.entries(incident.fields)).map(([k, v]) => [k, flat(v)])) }),
      ...(incident.responders && { responders: first(incident.responders) }),
      // Alerts arrive unchecked (ReceivedPayload): only a map of labels is capped.
      ...(alerts && { alerts: alerts.map((alert) => (isMap(alert.labels) ? { ...alert, labels: firstEntries(alert.labels) } : alert)) }),
    },
  };
}

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function tryStringify(value: unknown): string | undefined {
  try {
    return asciiJson(value);
  } catch {
    return undefined; // nesting too deep for the stack: a later step cuts it
  }
}

/** JSON in printable ASCII (`escapeNonAscii`). JSON.stringify already escapes control characters and lone surrogates. */
export function asciiJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? json : escapeNonAscii(json);
}
