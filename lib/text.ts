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
