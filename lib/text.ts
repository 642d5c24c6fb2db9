/**
 * Shortens `text` to at most `max` code points (what JSON Schema's maxLength counts), ending with
 * "…" when cut. Never splits a character in two.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text.slice(0, max * 2));
  if (points.length <= max && text.length <= max * 2) return text;
  return `${points.slice(0, max - 1).join('')}…`;
}

/** A time (ms since the epoch) as responders read it in a comment: `2026-11-30 03:12:05 UTC`. */
export function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * JSON text in printable ASCII: every UTF-16 unit from U+007F up written as a `\uXXXX` escape, which
 * JSON.parse reads back as the same string. SQS refuses characters outside its XML-derived set
 * (U+FFFE, U+FFFF; emulators also refuse anything above U+FFFF), and a lone surrogate is not
 * encodable at all; escaped, any JSON string passes. Only valid for JSON (outside its strings there
 * is nothing to escape).
 */
export function escapeNonAscii(json: string): string {
  // The common case, nothing to escape, is told natively (a character past U+007F takes more than
  // one byte in UTF-8): several times faster than any regular expression over a 400 KB incident.
  if (Buffer.byteLength(json, 'utf8') === json.length && !json.includes('\x7f')) return json;
  return escapeEveryNonAscii(json);
}

/** `escapeNonAscii` without its check, for a caller that has made it already. */
export function escapeEveryNonAscii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
