import { ROOT_NAMES, TIME_NAMES, TimeValue, type TemplateContext } from './context';

/** A template in config is malformed (unknown name or filter, unclosed braces). Found at cold start. */
export class TemplateSyntaxError extends Error {
  override readonly name = 'TemplateSyntaxError';
}

/** A template could not be filled for this click: a value is missing or unfit for where it lands. */
export class TemplateValueError extends Error {
  override readonly name = 'TemplateValueError';
  constructor(
    message: string,
    /** The placeholder's path, e.g. `labels.service`. */
    readonly path: string,
  ) {
    super(message);
  }
}

type Filter = { name: 'default'; fallback: string } | { name: 'lower' | 'upper' | 's' | 'ms' | 'ns' | 'rfc3339' };

/** One `{{ … }}`: a path into the context, an optional time shift, then filters. */
export interface Placeholder {
  /** The path as written, for messages: `labels.service`, `start_time - 15m`. */
  text: string;
  path: string[];
  shiftMs: number;
  filters: Filter[];
}

export type Part = string | Placeholder;

const FILTERS = ['default', 'lower', 'upper', 's', 'ms', 'ns', 'rfc3339'];
const TIME_FORMATS = new Set(['s', 'ms', 'ns', 'rfc3339']);
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Words, strings in either quote, punctuation, or the closing braces. */
const TOKEN = /\s*(?:(\}\})|([A-Za-z0-9_-]+)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([.[\]|:+]))/y;

interface Token {
  kind: 'end' | 'word' | 'string' | 'punct';
  text: string;
  at: number;
}

/** Splits `source` into static text and placeholders; throws TemplateSyntaxError naming the column. */
export function parseTemplate(source: string): Part[] {
  const parts: Part[] = [];
  let index = 0;
  while (index < source.length) {
    const open = source.indexOf('{{', index);
    const staticText = source.slice(index, open === -1 ? undefined : open);
    const stray = staticText.indexOf('}}');
    if (stray !== -1) fail(source, index + stray, '"}}" without an opening "{{"');
    if (staticText) parts.push(staticText);
    if (open === -1) break;
    const tokens = tokenize(source, open + 2);
    parts.push(parsePlaceholder(source, open, tokens));
    index = tokens[tokens.length - 1]!.at + 2;
  }
  return parts;
}

function tokenize(source: string, from: number): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = from;
  for (;;) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) {
      const rest = source.slice(at).trimStart();
      if (!rest) fail(source, from - 2, '"{{" is never closed with "}}"');
      fail(source, source.length - rest.length, `unexpected "${rest[0]}"`);
    }
    const start = match.index + match[0].length - (match[1] ?? match[2] ?? match[3] ?? match[4])!.length;
    if (match[1]) return [...tokens, { kind: 'end', text: '}}', at: start }];
    if (match[2]) tokens.push({ kind: 'word', text: match[2], at: start });
    else if (match[3]) tokens.push({ kind: 'string', text: match[3].slice(1, -1).replace(/\\(.)/g, '$1'), at: start });
    else tokens.push({ kind: 'punct', text: match[4]!, at: start });
  }
}

function parsePlaceholder(source: string, open: number, tokens: Token[]): Placeholder {
  let i = 0;
  const next = () => tokens[i++]!;
  const expect = (kind: Token['kind'], what: string, text?: string): Token => {
    const token = next();
    if (token.kind !== kind || (text && token.text !== text)) fail(source, token.at, `expected ${what}, found "${token.text}"`);
    return token;
  };
  const path = [expect('word', 'a name such as labels.service').text];
  while (tokens[i]!.text === '.' || tokens[i]!.text === '[') {
    if (next().text === '.') {
      path.push(expect('word', 'a name after "."').text);
    } else {
      path.push(expect('string', 'a quoted key inside [ ]').text);
      expect('punct', '"]"', ']');
    }
  }
  checkRoot(source, open, path);
  let shiftMs = 0;
  while (tokens[i]!.text === '-' || tokens[i]!.text === '+') {
    const sign = next().text === '-' ? -1 : 1;
    const duration = expect('word', 'a duration such as 15m');
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(duration.text);
    if (!match) fail(source, duration.at, `"${duration.text}" is not a duration; use a number and ms, s, m, h or d (15m)`);
    if (!TIME_NAMES.has(path[0]!)) fail(source, duration.at, `only times (${[...TIME_NAMES].join(', ')}) can be shifted`);
    shiftMs += sign * Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  const expressionEnd = tokens[i]!.at;
  const filters: Filter[] = [];
  while (next().text === '|') filters.push(parseFilter(source, tokens[i++]!, tokens, () => i++));
  const last = tokens[i - 1]!;
  if (last.kind !== 'end') fail(source, last.at, `unexpected "${last.text}"; expected "|" or "}}"`);
  checkFilters(source, open, path, filters);
  return { text: source.slice(open + 2, expressionEnd).trim(), path, shiftMs, filters };
}

function parseFilter(source: string, name: Token, tokens: Token[], advance: () => number): Filter {
  if (name.kind !== 'word' || !FILTERS.includes(name.text)) {
    fail(source, name.at, `unknown filter "${name.text}"; filters are ${FILTERS.join(', ')}`);
  }
  if (name.text !== 'default') return { name: name.text as Exclude<Filter['name'], 'default'> };
  const colon = tokens[advance()];
  const value = colon?.kind === 'end' ? undefined : tokens[advance()];
  if (colon?.text !== ':' || value?.kind !== 'string') fail(source, name.at, 'default needs a quoted value: default: "prod"');
  return { name: 'default', fallback: value!.text };
}

function checkRoot(source: string, open: number, path: string[]): void {
  const root = path[0]!;
  if (!(ROOT_NAMES as readonly string[]).includes(root)) {
    const hint = /^[a-z_]+[-+]\d/.test(root) ? ' (put spaces around the sign: start_time - 15m)' : '';
    fail(source, open, `unknown name "${root}"${hint}; names are ${ROOT_NAMES.join(', ')}`);
  }
  if (TIME_NAMES.has(root) && path.length > 1) fail(source, open, `${root} is a time and has no fields`);
}

/** Time formats apply to times only and before any default; lower/upper to text only. */
function checkFilters(source: string, open: number, path: string[], filters: Filter[]): void {
  let isTime = TIME_NAMES.has(path[0]!);
  let defaulted = false;
  for (const filter of filters) {
    if (TIME_FORMATS.has(filter.name)) {
      if (!isTime) fail(source, open, `"${filter.name}" formats a time, and ${path.join('.')} is not one${defaulted ? ' after default' : ''}`);
      isTime = false;
    } else if (filter.name === 'default') defaulted = true;
    else if (isTime) fail(source, open, `"${filter.name}" does not apply to a time; format it first (| rfc3339)`);
  }
}

function fail(source: string, at: number, problem: string): never {
  throw new TemplateSyntaxError(`template ${JSON.stringify(source)}: ${problem} (column ${at + 1})`);
}

/**
 * The value of one placeholder for this click, as text. Missing values (absent, null) pass through
 * filters until a default; still missing at the end is an error naming the path.
 */
export function evaluate(placeholder: Placeholder, context: TemplateContext): string {
  let value = lookup(context, placeholder.path);
  if (value instanceof TimeValue && placeholder.shiftMs) value = new TimeValue(value.ms + placeholder.shiftMs);
  for (const filter of placeholder.filters) value = applyFilter(filter, value);
  const where = placeholder.text;
  if (value === undefined || value === null) {
    throw new TemplateValueError(`no value for ${where}; the template can give one with | default: "…"`, where);
  }
  if (value instanceof TimeValue) return String(Math.floor(value.ms / 1000));
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateValueError(`${where} is ${Array.isArray(value) ? 'a list' : 'an object'}, not a single value; name one of its fields`, where);
}

function applyFilter(filter: Filter, value: unknown): unknown {
  if (filter.name === 'default') return value === undefined || value === null ? filter.fallback : value;
  if (value === undefined || value === null) return value;
  if (value instanceof TimeValue) {
    if (filter.name === 's') return String(Math.floor(value.ms / 1000));
    if (filter.name === 'ms') return String(value.ms);
    if (filter.name === 'ns') return (BigInt(value.ms) * 1_000_000n).toString();
    return new Date(value.ms).toISOString();
  }
  const text = String(value);
  return filter.name === 'upper' ? text.toUpperCase() : text.toLowerCase();
}

/** Walks own properties only, so a path can never reach `__proto__` or `constructor`. */
function lookup(context: TemplateContext, path: string[]): unknown {
  let value: unknown = context;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || value instanceof TimeValue || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
