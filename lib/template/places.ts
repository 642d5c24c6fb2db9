import { evaluate, parseTemplate, type Part, type Placeholder, TemplateSyntaxError, TemplateValueError } from './compile';
import type { TemplateContext } from './context';

/**
 * Where a rendered template lands. Each place encodes values for itself, so a value can only ever
 * be data there: one path segment, one query value, one header value, one quoted shell word.
 */
export type Place = 'url' | 'header' | 'shell' | 'text';

/** A template parsed once (at cold start); `render` fills it for one click. */
export interface Compiled<P extends Place = Place> {
  readonly place: P;
  readonly source: string;
  render(context: TemplateContext): string;
}

/** A plain host name, IP or id: what restart-host has always required of a value put in a command. */
export const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

type Encode = (value: string, placeholder: Placeholder, index: number) => string;

function compiled<P extends Place>(place: P, source: string, parts: Part[], encode: Encode, finish = (text: string) => text): Compiled<P> {
  return {
    place,
    source,
    render: (context) => finish(parts.map((part, index) => (typeof part === 'string' ? part : encode(evaluate(part, context), part, index))).join('')),
  };
}

const refuse = (placeholder: Placeholder, problem: string): never => {
  throw new TemplateValueError(`the value of ${placeholder.text} ${problem}`, placeholder.text);
};

/** Text used as is (comment lines, titles, JSON string values): no encoding. */
export function compileText(source: string): Compiled<'text'> {
  return compiled('text', source, parseTemplate(source), (value) => value);
}

/** Marks a path value (`\0<index>\x01value\0`) while the path is checked; never in a valid URL. */
const MARK = '\u0000';
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and SOH are our own markers (see MARK)
const MARKED = /\u0000(\d+)\u0001|\u0000/g;

/**
 * A URL. Scheme, host and port are static text (a placeholder there is a config error); a value in
 * the path becomes one percent-encoded segment, never "", "." or ".."; in the query or fragment it
 * becomes one encoded key or value, so it cannot add a parameter.
 */
export function compileUrl(source: string): Compiled<'url'> {
  const parts = parseTemplate(source);
  const head = typeof parts[0] === 'string' ? parts[0] : '';
  const origin = /^https?:\/\/[^/?#\s]+(?=[/?#]|$)/i.exec(head)?.[0];
  if (!origin || (head === origin && parts.length > 1)) {
    throw new TemplateSyntaxError(`URL template ${JSON.stringify(source)}: must start with http:// or https:// and a fixed host, with no placeholder before the path`);
  }
  try {
    new URL(origin);
  } catch {
    throw new TemplateSyntaxError(`URL template ${JSON.stringify(source)}: ${origin} is not a valid origin`);
  }
  if (source.includes(MARK)) throw new TemplateSyntaxError(`URL template ${JSON.stringify(source)}: contains a NUL character`);
  const inPath = placesInPath(parts);
  const expected = new URL(origin);
  return compiled('url', source, parts, (value, _p, index) => (inPath.has(index) ? `${MARK}${index}\u0001${encodeComponent(value)}${MARK}` : encodeComponent(value)), (text) => {
    const url = checkPathSegments(text, parts);
    if (url.origin !== expected.origin) throw new Error(`rendering ${source} changed its origin`);
    return url.href;
  });
}

/** Indexes of the placeholders that stand before any "?" or "#" in the static text. */
function placesInPath(parts: Part[]): Set<number> {
  const inPath = new Set<number>();
  for (const [index, part] of parts.entries()) {
    if (typeof part === 'string' && /[?#]/.test(part)) break;
    if (typeof part !== 'string') inPath.add(index);
  }
  return inPath;
}

/** Refuses a path segment that a value left empty or made a dot segment; then drops the marks. */
function checkPathSegments(text: string, parts: Part[]): URL {
  const pathEnd = text.search(/[?#]/);
  const path = pathEnd === -1 ? text : text.slice(0, pathEnd);
  for (const segment of path.split('/')) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and SOH are our own markers (see MARK)
    const index = /\u0000(\d+)\u0001/.exec(segment)?.[1];
    if (index === undefined) continue;
    const plain = segment.replace(MARKED, '').toLowerCase().replaceAll('%2e', '.');
    if (plain === '' || plain === '.' || plain === '..') {
      refuse(parts[Number(index)] as Placeholder, `would make the URL path segment ${JSON.stringify(plain)}, which changes the path`);
    }
  }
  return new URL(text.replace(MARKED, ''));
}

/** encodeURIComponent, after replacing lone surrogates (which it cannot encode) with U+FFFD. */
function encodeComponent(value: string): string {
  return encodeURIComponent(value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
}

/**
 * A header value. Static text and values may hold only printable ASCII, space and tab: CR, LF and
 * NUL (header injection) and other controls are refused, as is non-ASCII (fetch cannot send it).
 */
export function compileHeader(source: string): Compiled<'header'> {
  if (!HEADER_SAFE.test(source)) throw new TemplateSyntaxError(`header template ${JSON.stringify(source)}: only printable ASCII is allowed`);
  return compiled('header', source, parseTemplate(source), (value, placeholder) =>
    HEADER_SAFE.test(value) ? value : refuse(placeholder, 'has a line break, control character or non-ASCII character, which a header value cannot carry'),
  );
}
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

/**
 * A shell command. Each value becomes one single-quoted word; with `plainNames`, a value must also
 * be a plain name (PLAIN_NAME). Placeholders inside quotes or after a backslash in the static text
 * would let a value escape its quotes, so they are refused when the template is compiled.
 */
export function compileShell(source: string, options: { plainNames?: boolean } = {}): Compiled<'shell'> {
  const parts = parseTemplate(source);
  checkShellQuoting(source, parts);
  return compiled('shell', source, parts, (value, placeholder) => {
    if (value.includes('\u0000')) refuse(placeholder, 'contains a NUL character');
    if (options.plainNames && !PLAIN_NAME.test(value)) {
      refuse(placeholder, `is not a plain name (${JSON.stringify(value.slice(0, 60))}); refusing to put it in a command`);
    }
    return `'${value.replaceAll("'", `'\\''`)}'`;
  });
}

/**
 * Walks the static text as sh would, far enough to know where each placeholder stands: one inside
 * quotes ('', "", ``, $''), after a backslash, in a comment or after a here-document (<<) could
 * escape its single quotes or be expanded, so it is refused. Errs on the side of refusing.
 */
function checkShellQuoting(source: string, parts: Part[]): void {
  const refuseAt = (placeholder: Placeholder, where: string): never => {
    throw new TemplateSyntaxError(`shell template ${JSON.stringify(source)}: {{ ${placeholder.text} }} is ${where}; leave placeholders bare, the template quotes values itself`);
  };
  let state: string | undefined;
  let escaped = false;
  let heredoc = false;
  let previous = ' ';
  for (const part of parts) {
    if (typeof part !== 'string') {
      if (escaped) refuseAt(part, 'after a backslash');
      if (state === '#') refuseAt(part, 'in a comment');
      if (state) refuseAt(part, `inside ${state} quotes`);
      if (heredoc) refuseAt(part, 'after a here-document (<<)');
      previous = 'x';
      continue;
    }
    for (const char of part) {
      if (escaped) escaped = false;
      else if (char === '\\' && state !== "'" && state !== '#') escaped = true;
      else if (state === '#') state = char === '\n' ? undefined : state;
      else if (state === undefined) {
        if (char === "'" && previous === '$') state = "$'";
        else if (char === "'" || char === '"' || char === '`') state = char;
        else if (char === '#' && /\s/.test(previous)) state = '#';
        else if (char === '<' && previous === '<') heredoc = true;
      } else if (char === state.slice(-1)) state = undefined;
      previous = char;
    }
  }
}

/** A JSON value whose string leaves are text templates (keys stay as written). */
export interface CompiledJson {
  readonly source: unknown;
  render(context: TemplateContext): unknown;
}

/** Compiles every string leaf of `value` as a text template; numbers, booleans and null stay. */
export function compileJson(value: unknown): CompiledJson {
  const render = compileJsonValue(value);
  return { source: value, render };
}

function compileJsonValue(value: unknown): (context: TemplateContext) => unknown {
  if (typeof value === 'string') {
    const template = compileText(value);
    return (context) => template.render(context);
  }
  if (Array.isArray(value)) {
    const items = value.map(compileJsonValue);
    return (context) => items.map((item) => item(context));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, item]) => [key, compileJsonValue(item)] as const);
    return (context) => Object.fromEntries(entries.map(([key, item]) => [key, item(context)]));
  }
  return () => value;
}
