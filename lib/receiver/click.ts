import { ValidationError } from '../errors';
import { eventIdOf, type ReceivedPayload, validatePush } from '../flashduty/payload';
import { parseWithRawAlerts, RAW_ALERTS_FROM_CHARS } from '../flashduty/raw-alerts';

/** How far ahead of our clock an `event_time` may be before we treat it as forged. */
export const MAX_FUTURE_SKEW_MS = 60_000;

export interface Click {
  payload: ReceivedPayload;
  eventId: string;
  /** The decoded body, as sent. */
  raw: string;
}

/**
 * A numeric event_id that a JavaScript number cannot hold exactly is kept as its digits as
 * written: past 2^53 a number drops the last ones, so two clicks with Go int64 ids could share one
 * deduplication key and the second would be silently dropped. One a number holds exactly stays a
 * number (the click's own becomes its digits through the schema anyway). (A reviver's
 * `context.source`: Node 21 and later.)
 */
function eventIdAsWritten(key: string, value: unknown, context?: { source?: string }): unknown {
  const source = context?.source;
  return key === 'event_id' && typeof value === 'number' && source !== undefined && String(value) !== source ? source : value;
}

/**
 * The body as a value. A reviver runs on every key and costs a 900-alert push several times the
 * parse itself, so it only runs when some `event_id` in the body is a number; FlashDuty sends strings.
 * A big push's alerts are left as text (RawAlert): parsing and encoding them back was most of the
 * receiver's work for one.
 */
function parseBody(raw: string): unknown {
  if (NUMERIC_EVENT_ID.test(raw)) return parseKeepingIds(raw);
  return (raw.length >= RAW_ALERTS_FROM_CHARS ? parseWithRawAlerts(raw) : undefined) ?? JSON.parse(raw);
}

/**
 * With the reviver; but the reviver walks the value recursively, so a push nested thousands deep
 * overflows the stack where a plain parse does not. Such a push is read plainly, and refused only
 * if the click's own event_id is then a number that lost digits.
 */
function parseKeepingIds(raw: string): unknown {
  try {
    return JSON.parse(raw, eventIdAsWritten);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  const value = JSON.parse(raw) as { event_id?: unknown; incident?: { event_id?: unknown } } | null;
  for (const [where, id] of [['event_id', value?.event_id], ['incident.event_id', value?.incident?.event_id]] as const) {
    if (typeof id === 'number' && !Number.isSafeInteger(id)) {
      throw new ValidationError(`${where} is a number too large to read exactly in a push nested this deep; send it as a string`, []);
    }
  }
  return value;
}

/** An `event_id` key with a number for its value, wherever it is (a string that merely looks so only costs the slower parse). */
const NUMERIC_EVENT_ID = /"event_id"\s*:\s*-?\d/;

/**
 * Decodes, parses and validates a FlashDuty push body (a Custom Action click or an Incident Webhook
 * event: the same envelope), and refuses stale or far-future events (replay protection). Throws
 * ValidationError whose message names what was wrong.
 */
export function parseClick(
  body: string | undefined,
  isBase64Encoded: boolean,
  options: { now: number; maxEventAgeMs: number },
): Click {
  const raw = isBase64Encoded ? Buffer.from(body ?? '', 'base64').toString('utf8') : (body ?? '');
  if (raw.trim() === '') throw new ValidationError('request body is empty; expected a FlashDuty JSON payload', []);
  let value: unknown;
  try {
    value = parseBody(raw);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError('request body is not valid JSON', []);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('request body must be a JSON object', []);
  }
  const payload = validatePush(value);

  const age = options.now - payload.event_time;
  if (age > options.maxEventAgeMs) {
    throw new ValidationError(
      `event_time is ${Math.round(age / 1000)} s old; events older than ${options.maxEventAgeMs / 1000} s are refused (event_time is in milliseconds, or seconds when below 10^12)`,
      [],
    );
  }
  if (-age > MAX_FUTURE_SKEW_MS) {
    throw new ValidationError(`event_time is ${Math.round(-age / 1000)} s in the future (event_time is in milliseconds, or seconds when below 10^12)`, []);
  }
  return { payload, eventId: eventIdOf(payload, raw), raw };
}
