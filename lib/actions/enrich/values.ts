import { truncate } from '../../text';
import type { FieldType } from './config';

/** FlashDuty limits (facts.md §4): text fields hold 3,000 characters, select options 200. */
export const TEXT_FIELD_MAX_CHARS = 3000;
const OPTION_MAX_CHARS = 200;
/** One `show` value in the comment; the comment as a whole has 1,024 characters. */
const SHOWN_MAX_CHARS = 160;

type Shaped = { ok: true; value: string | string[] | boolean } | { ok: false; problem: string };

const scalar = (value: unknown): value is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof value);

/** A JMESPath result as one line of text: scalars as is, lists of scalars joined, anything else as JSON. */
function asText(value: unknown): string {
  if (scalar(value)) return String(value);
  if (Array.isArray(value) && value.every(scalar)) return value.map(String).join(', ');
  return JSON.stringify(value);
}

/** A `show` value for the comment: one line, cut. */
export const shown = (value: unknown): string => (value === undefined ? '(nothing in the answer)' : truncate(asText(value).replace(/\s+/g, ' ').trim(), SHOWN_MAX_CHARS));

/**
 * Shapes a JMESPath result for a custom field of `type`: text cut to its limit; single-select one
 * string; multi-select a list of strings; checkbox a boolean. A value that cannot take the shape is
 * a problem to report, never a guess written onto the incident.
 */
export function shapeField(type: FieldType, value: unknown): Shaped {
  switch (type) {
    case 'text':
      return { ok: true, value: truncate(asText(value), TEXT_FIELD_MAX_CHARS) };
    case 'single_select': {
      const one = Array.isArray(value) && value.length === 1 ? value[0] : value;
      if (!scalar(one)) return { ok: false, problem: `a single-select field takes one value, got ${describe(value)}` };
      return option(String(one));
    }
    case 'multi_select': {
      const items = Array.isArray(value) ? value.filter((item) => item !== null) : [value];
      if (!items.every(scalar)) return { ok: false, problem: `a multi-select field takes a list of strings, got ${describe(value)}` };
      const options = [...new Set(items.map(String))];
      const long = options.find((item) => item.length > OPTION_MAX_CHARS);
      return long ? { ok: false, problem: `option "${truncate(long, 40)}" is longer than ${OPTION_MAX_CHARS} characters` } : { ok: true, value: options };
    }
    case 'checkbox':
      return checkbox(value);
  }
}

function option(value: string): Shaped {
  return value.length > OPTION_MAX_CHARS ? { ok: false, problem: `"${truncate(value, 40)}" is longer than an option can be (${OPTION_MAX_CHARS} characters)` } : { ok: true, value };
}

const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

function checkbox(value: unknown): Shaped {
  if (typeof value === 'boolean') return { ok: true, value };
  if (typeof value === 'number' && (value === 0 || value === 1)) return { ok: true, value: value === 1 };
  const word = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (word !== undefined && TRUE.has(word)) return { ok: true, value: true };
  if (word !== undefined && FALSE.has(word)) return { ok: true, value: false };
  return { ok: false, problem: `a checkbox field takes true or false, got ${describe(value)}` };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'an object';
  return truncate(JSON.stringify(value) ?? String(value), 40);
}
