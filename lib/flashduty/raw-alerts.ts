import { escapeEveryNonAscii } from '../text';

/**
 * A big push's alerts, kept as the text they arrived in instead of being parsed and encoded again.
 * The receiver never reads an alert (the worker checks them field by field), and for a 900-alert
 * push parsing them and encoding them back into the queue message was most of its work
 * (`npm run bench`, "Big incidents"). An alert is a span of `source` (the body with everything past
 * U+007E escaped) holding printable ASCII only, so its length is its size in the message.
 *
 * The text is kept as written, so it is counted as sent: Go's `\u003c` for `<` takes six bytes
 * where encoding the parsed alert wrote one, and a push full of them keeps a few alerts fewer than
 * re-encoding would. The values are the same, except that `-0` stays `-0` (re-encoding wrote 0).
 */
export class RawAlert {
  constructor(
    readonly source: string,
    readonly start: number,
    readonly end: number,
  ) {}

  get text(): string {
    return this.source.slice(this.start, this.end);
  }

  /** The alert as a value, for whatever encodes it generically (JSON.stringify calls this). */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/**
 * Pushes shorter than this (in characters) are parsed whole, their alerts plain values: at the
 * threshold that costs about 0.3 ms more than reading the alerts as text (0.4 ms against 0.12 here, with
 * the encoding of the message).
 */
export const RAW_ALERTS_FROM_CHARS = 64 * 1024;

/**
 * Parses a push, leaving `incident.alerts` as RawAlerts. Undefined when that cannot be done exactly,
 * and the caller parses the whole body as usual (which also reports what is wrong with it):
 *   - no `"alerts": [` in the body, or the first one is not the incident's list that JSON.parse
 *     would keep (a repeated key, an `alerts` elsewhere first): checked by parsing the body with a
 *     marker in place of the list and finding the marker at `incident.alerts`;
 *   - an item that is not an object or null, nests deeper than ITEM reads (3 levels), has
 *     whitespace inside, or is not valid JSON;
 *   - `\u0000` anywhere in the body (then a string could decode to the marker);
 *   - much text outside ASCII (more than one extra UTF-8 byte per five characters: a tenth of it
 *     Chinese): escaping it then costs about what this saves (measured at that share), and a
 *     string of a million escapes would overflow the expression's stack.
 * Null items are dropped, as the receiver drops them from a parsed list. Non-ASCII text is escaped
 * first (`escapeNonAscii`), which changes no value.
 * The engine compiles ITEM at its first use (about 4 ms here): a cold instance's first big push
 * pays that once. Its worst case is linear: 1 MB of escapes in one string took 26 ms here.
 */
export function parseWithRawAlerts(raw: string): unknown {
  if (raw.includes('\\u0000')) return undefined;
  const extra = Buffer.byteLength(raw, 'utf8') - raw.length;
  if (extra > raw.length / 5) return undefined;
  const source = extra === 0 && !raw.includes('\x7f') ? raw : escapeEveryNonAscii(raw);
  LIST_START.lastIndex = 0;
  const opening = LIST_START.exec(source);
  if (opening === null) return undefined;
  const alerts: RawAlert[] = [];
  let at = LIST_START.lastIndex;
  EMPTY_LIST_END.lastIndex = at;
  if (EMPTY_LIST_END.test(source)) {
    at = EMPTY_LIST_END.lastIndex;
  } else {
    for (;;) {
      ITEM.lastIndex = at;
      const item = execSafely(ITEM, source);
      if (item === null) return undefined;
      const [, before, isNull, after, separator] = item;
      if (isNull === undefined) alerts.push(new RawAlert(source, at + before!.length, ITEM.lastIndex - 1 - after!.length));
      at = ITEM.lastIndex;
      if (separator === ']') break;
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(`${source.slice(0, opening.index + opening[0].length - 1)}${MARKER_JSON}${source.slice(at)}`);
  } catch {
    return undefined;
  }
  const incident = (value as { incident?: { alerts?: unknown } } | null)?.incident;
  if (incident?.alerts !== MARKER) return undefined;
  incident.alerts = alerts;
  return value;
}

/** A regular expression too deep for the engine's stack throws; then the body is parsed whole. */
function execSafely(pattern: RegExp, text: string): RegExpExecArray | null {
  try {
    return pattern.exec(text);
  } catch {
    return null;
  }
}

const MARKER = '\u0000flashduty-actions:raw-alerts\u0000';
const MARKER_JSON = JSON.stringify(MARKER);

// JSON's grammar (RFC 8259), as regular expressions: one engine pass per alert validates it and
// finds its end, where a scanner in JavaScript cost as much as parsing. Whitespace is allowed
// between the alerts but not inside one (FlashDuty's JSON has none; skipping it cost a quarter of
// the time): an alert with some is read the usual way.
const WS = '[ \\t\\n\\r]*';
const STRING = '"[^"\\\\\\x00-\\x1f]*(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\\\\x00-\\x1f]*)*"';
// A number that stays finite: at most 200 digits before the point and a two-digit exponent.
// (`1e400` is Infinity once parsed, which re-encoding writes as null: such an alert goes the usual way.)
const NUMBER = '-?(?:0|[1-9][0-9]{0,199})(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]{1,2})?';
const SCALAR = `${STRING}|${NUMBER}|true|false|null`;

/** A compact JSON object whose values nest at most `depth` more levels. */
function object(depth: number): string {
  const member = `${STRING}:${value(depth)}`;
  return `\\{(?:${member}(?:,${member})*)?\\}`;
}

function value(depth: number): string {
  if (depth === 0) return `(?:${SCALAR})`;
  const inner = value(depth - 1);
  return `(?:${SCALAR}|${object(depth - 1)}|\\[(?:${inner}(?:,${inner})*)?\\])`;
}

/** Where the list starts: the first `"alerts": [` (checked afterwards to be the incident's). */
const LIST_START = new RegExp(`"alerts"${WS}:${WS}\\[`, 'g');
const EMPTY_LIST_END = new RegExp(`${WS}\\]`, 'y');
/**
 * One item and what follows it: (whitespace)(an object, or `null` captured)(whitespace)(`,` or `]`).
 * An alert's labels are its second level; a third is allowed.
 */
const ITEM = new RegExp(`(${WS})(?:${object(2)}|(null))(${WS})([,\\]])`, 'y');
