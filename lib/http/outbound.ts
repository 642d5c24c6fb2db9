import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { version } from '../../package.json';
import type { Log } from '../observability';
import { remainingMs } from '../deadline';

/**
 * A value that must never reach a log line, an error or a dry-run description: a token in a
 * header or a form field, or a URL whose path is itself a credential (a chat webhook). Prints as
 * `***`.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '***';
  }
  toJSON(): string {
    return '***';
  }
  [inspect.custom](): string {
    return '***';
  }
}

/** Marks a header value, a form field (or a URL) as secret. */
export const secret = (value: string): Secret => new Secret(value);

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface OutboundRequest {
  /** Default GET. */
  method?: Method;
  /** A secret URL is shown as its origin and `/***`. */
  url: string | Secret;
  headers?: Record<string, string | Secret>;
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  /** Sent form-encoded with `content-type: application/x-www-form-urlencoded`, fields in this order. */
  form?: Record<string, string | Secret>;
  /** Sent as is; give a content-type header. */
  body?: string;
  /** Per attempt, default 10 s; never past the worker's deadline. */
  timeoutMs?: number;
  /** Largest answer read, default 1 MiB; a larger one is an error. */
  maxBytes?: number;
  /** Attempts in all, default 3 (at most 5); only repeatable requests get more than one. */
  attempts?: number;
  /** Lets POST and PATCH be retried: set it when the far side dedupes (an idempotency key). */
  safeToRepeat?: boolean;
}

export interface OutboundResponse {
  status: number;
  headers: Headers;
  /** The body, decoded as UTF-8. */
  text: string;
  /** How many attempts it took. */
  attempts: number;
  /** The body parsed as JSON (undefined when empty); throws OutboundError naming the URL when it is not JSON. */
  json<T = unknown>(): T;
  /** `text` with every secret the request carried replaced by `***`: for a message that quotes the answer. */
  scrub(text: string): string;
}

/** The outbound HTTP helper every action gets (`ctx.http`). */
export interface HttpClient {
  /**
   * Sends with retries; answers whatever status came last. Redirects are not followed (a secret
   * header never travels to another host): a 3xx is an answer like any other.
   * Throws OutboundError when no usable answer came.
   */
  request(request: OutboundRequest): Promise<OutboundResponse>;
  /** Like `request`, but a non-2xx answer or a body that is not JSON is an OutboundError. */
  json<T = unknown>(request: OutboundRequest): Promise<T>;
  /** One line for a dry-run comment: method, URL, headers and body, secrets as `***`. */
  describe(request: OutboundRequest): string;
}

/** `invalid-request`: the request itself is wrong (not an http(s) URL, a bad header, a GET body); a bug or bad config. */
export type OutboundErrorKind = 'network' | 'timeout' | 'deadline' | 'too-large' | 'status' | 'not-json' | 'invalid-request';

/** An outbound request failed. The message names the method and URL (query values and secrets redacted). */
export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(
    message: string,
    readonly kind: OutboundErrorKind,
    readonly details: { status?: number; code?: string; body?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
  /** True for trouble that may pass: no answer, a timeout, 429 or 5xx. */
  get retryable(): boolean {
    const status = this.details.status;
    if (this.kind === 'status') return status === 429 || (status !== undefined && status >= 500);
    return this.kind === 'network' || this.kind === 'timeout' || this.kind === 'deadline';
  }
}

export interface HttpOptions {
  /** The worker's deadline: aborts every attempt and every wait. */
  signal?: AbortSignal;
  /** When the deadline falls (ms since epoch), so a Retry-After past it is not waited for. */
  deadline?: number;
  log?: Log;
  /** First backoff delay; doubles each retry, with jitter. */
  baseDelayMs?: number;
}

export const USER_AGENT = `flashduty-actions/${version}`;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const MAX_ATTEMPTS = 5;
/** The longest Retry-After honoured when no deadline is known. */
const MAX_RETRY_AFTER_MS = 30_000;
const REPEATABLE = new Set<Method>(['GET', 'HEAD', 'PUT', 'DELETE']);
const EXCERPT_CHARS = 200;

/** Builds the helper for one run of an action, bound to its deadline. */
export function makeHttp(options: HttpOptions = {}): HttpClient {
  const client: HttpClient = {
    request: async (request) => send(prepare(request), options),
    async json<T>(request: OutboundRequest): Promise<T> {
      const prepared = prepare(request);
      const response = await send(prepared, options);
      if (response.status < 200 || response.status > 299) {
        const body = prepared.excerpt(response.text);
        const tries = response.attempts > 1 ? ` (after ${response.attempts} attempts)` : '';
        throw new OutboundError(`${prepared.label}: answered HTTP ${response.status}${body ? `: ${body}` : ''}${tries}`, 'status', { status: response.status, body });
      }
      return response.json<T>();
    },
    describe: (request) => describeRequest(prepare(request)),
  };
  return client;
}

/** A request resolved once: what to send, and how to talk about it without leaking secrets. */
interface Prepared {
  method: Method;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** The body as a dry run shows it: form secrets as `***`. */
  shownBody: string | undefined;
  timeoutMs: number;
  maxBytes: number;
  attempts: number;
  /** `METHOD url` with query values and secrets redacted, for errors and logs. */
  label: string;
  /** The URL as a dry-run shows it: only secrets redacted. */
  shownUrl: string;
  shownHeaders: Record<string, string>;
  /** Replaces every secret of this request in `text` with `***`. */
  scrub(text: string): string;
  /** Cuts a body for a message, secrets replaced. */
  excerpt(text: string): string;
}

function prepare(request: OutboundRequest): Prepared {
  const method = request.method ?? 'GET';
  const sent = [request.url, ...Object.values(request.headers ?? {}), ...Object.values(request.form ?? {})];
  const scrub = scrubber(sent.filter((value): value is Secret => value instanceof Secret).map((s) => s.reveal()));
  const url = request.url instanceof Secret ? request.url.reveal() : request.url;
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json' };
  if (request.json !== undefined) headers['content-type'] = 'application/json';
  if (request.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const form = (show: (value: string | Secret) => string) => new URLSearchParams(Object.entries(request.form ?? {}).map(([name, value]): [string, string] => [name, show(value)])).toString();
  const body = request.json !== undefined ? JSON.stringify(request.json) : request.form !== undefined ? form((value) => (value instanceof Secret ? value.reveal() : value)) : request.body;
  const shownHeaders: Record<string, string> = { ...headers };
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    headers[name.toLowerCase()] = value instanceof Secret ? value.reveal() : value;
    shownHeaders[name.toLowerCase()] = value instanceof Secret ? '***' : value;
  }
  const repeatable = REPEATABLE.has(method) || request.safeToRepeat === true;
  const label = `${method} ${redactUrl(url, request.url instanceof Secret, true)}`;
  checkRequest(label, url, headers, method, request);
  return {
    method,
    url,
    headers,
    body,
    shownBody: request.form !== undefined ? form(String) : body,
    timeoutMs: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes: request.maxBytes ?? DEFAULT_MAX_BYTES,
    attempts: repeatable ? Math.min(Math.max(request.attempts ?? 3, 1), MAX_ATTEMPTS) : 1,
    label,
    shownUrl: redactUrl(url, request.url instanceof Secret, false),
    shownHeaders,
    scrub,
    // Scrubbed before cut: a cut through a secret would leave its start unscrubbed.
    excerpt: (text) => cut(scrub(text.replace(/\s+/g, ' ').trim()), EXCERPT_CHARS),
  };
}

/**
 * Replaces every secret in a text with `***`, in each form it may take there: as sent, without its
 * auth scheme (`Bearer <token>`: a platform may echo the token alone), and URL- or form-encoded
 * (how a form field travels). Longest first, so a shorter form never hides part of a longer one;
 * a form under 4 characters is left, as it would mangle ordinary text.
 */
export function scrubber(secrets: string[]): (text: string) => string {
  const bare = secrets.map((s) => /^[!#$%&'*+.^_`|~\w-]+ +(\S.*)$/.exec(s)?.[1] ?? s);
  const encoded = [...secrets, ...bare].flatMap((s) => [s, encodeURIComponent(s), new URLSearchParams({ s }).toString().slice(2)]);
  const forms = [...new Set(encoded)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => forms.reduce((out, s) => out.replaceAll(s, '***'), text);
}

/** Refuses, before sending, what fetch would refuse with a bare TypeError. Never echoes a header value. */
function checkRequest(label: string, url: string, headers: Record<string, string>, method: Method, request: OutboundRequest): void {
  const invalid = (problem: string) => new OutboundError(`${label}: ${problem}`, 'invalid-request');
  const parsed = URL.parse(url);
  if (!/^https?:$/.test(parsed?.protocol ?? '')) throw invalid('not an http(s) URL');
  // fetch would refuse it with a message quoting the whole URL, password included.
  if (parsed?.username || parsed?.password) throw invalid('the URL carries credentials; send them in a header');
  for (const [name, value] of Object.entries(headers)) {
    try {
      new Headers([[name, value]]);
    } catch {
      throw invalid(`header "${name}" has a name or value fetch cannot send (a line break or non-ASCII character)`);
    }
  }
  if ((method === 'GET' || method === 'HEAD') && (request.json !== undefined || request.form !== undefined || request.body !== undefined)) throw invalid(`${method} cannot carry a body`);
}

/** Drops user info (and the whole path of a secret URL); with `query`, every query value too. */
export function redactUrl(url: string, secretPath: boolean, query: boolean): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(an invalid URL)';
  }
  if (secretPath) return `${parsed.origin}/***`;
  if (parsed.username || parsed.password) [parsed.username, parsed.password] = ['***', ''];
  if (query) for (const key of new Set(parsed.searchParams.keys())) parsed.searchParams.set(key, '***');
  return parsed.href.replaceAll('%2A%2A%2A', '***');
}

function describeRequest(prepared: Prepared): string {
  const headers = Object.entries(prepared.shownHeaders).map(([name, value]) => `${name}: ${value}`).join(', ');
  const body = prepared.shownBody === undefined ? '' : ` body ${cut(prepared.scrub(prepared.shownBody), 2000)}`;
  return `${prepared.method} ${prepared.shownUrl} (${headers})${body}`;
}

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Attempts the request, retrying a repeatable one on no answer, 429 and 5xx with backoff. */
async function send(prepared: Prepared, options: HttpOptions): Promise<OutboundResponse> {
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= prepared.attempts;
    let outcome: OutboundResponse | OutboundError;
    try {
      outcome = await attemptOnce(prepared, options);
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      outcome = error;
    }
    const failed = outcome instanceof OutboundError ? outcome.retryable && outcome.kind !== 'deadline' : outcome.status === 429 || outcome.status >= 500;
    const delay = failed && !last ? delayBefore(attempt, outcome, options) : undefined;
    if (delay === undefined) {
      if (outcome instanceof OutboundError) throw attempt > 1 ? withAttempts(outcome, attempt) : outcome;
      return { ...outcome, attempts: attempt };
    }
    const why = outcome instanceof OutboundError ? outcome.message : `${prepared.label}: answered HTTP ${outcome.status}`;
    options.log?.warn('outbound request failed; will retry', { request: prepared.label, attempt, delay_ms: Math.round(delay), problem: why });
    await sleep(delay, undefined, { signal: options.signal }).catch(() => {
      throw new OutboundError(`${prepared.label}: stopped at the worker's deadline while waiting to retry`, 'deadline');
    });
  }
}

/** Backoff with jitter, or Retry-After when longer; undefined when the wait would pass the deadline. */
function delayBefore(attempt: number, outcome: OutboundResponse | OutboundError, options: HttpOptions): number | undefined {
  const exponential = (options.baseDelayMs ?? 200) * 2 ** (attempt - 1);
  const backoff = exponential / 2 + Math.random() * (exponential / 2);
  const retryAfter = outcome instanceof OutboundError ? 0 : retryAfterMs(outcome.headers.get('retry-after'));
  const delay = Math.max(backoff, retryAfter);
  // The deadline given, else the one the signal carries (the worker's deadlineSignal).
  const room = options.deadline === undefined ? Math.min(MAX_RETRY_AFTER_MS, remainingMs(options.signal)) : options.deadline - Date.now();
  return delay < room ? delay : undefined;
}

/** Retry-After in seconds or as an HTTP date. */
function retryAfterMs(header: string | null): number {
  if (!header) return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
}

function withAttempts(error: OutboundError, attempts: number): OutboundError {
  return new OutboundError(`${error.message} (after ${attempts} attempts)`, error.kind, error.details);
}

/** One attempt: bounded by its timeout and the worker's deadline, reading at most maxBytes. */
async function attemptOnce(prepared: Prepared, options: HttpOptions): Promise<OutboundResponse> {
  const room = options.deadline === undefined ? Infinity : options.deadline - Date.now();
  if (options.signal?.aborted || room <= 0) throw new OutboundError(`${prepared.label}: not sent; the worker's deadline has passed`, 'deadline');
  const timeoutMs = Math.max(1, Math.min(prepared.timeoutMs, room));
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await fetch(prepared.url, { method: prepared.method, headers: prepared.headers, body: prepared.body, signal, redirect: 'manual' });
    const text = await readCapped(response, prepared);
    return {
      status: response.status,
      headers: response.headers,
      text,
      attempts: 1,
      json: <T>() => parseJson<T>(text, response, prepared),
      scrub: prepared.scrub,
    };
  } catch (error) {
    if (error instanceof OutboundError) throw error;
    if (options.signal?.aborted) throw new OutboundError(`${prepared.label}: stopped at the worker's deadline`, 'deadline', { cause: error });
    if (timeout.aborted) throw new OutboundError(`${prepared.label}: no answer within ${timeoutMs} ms`, 'timeout', { cause: error });
    throw networkError(prepared, error);
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is in its cause. */
function networkError(prepared: Prepared, error: unknown): OutboundError {
  const cause = (error as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  const reason = prepared.scrub(cause?.message ?? (error as Error).message ?? String(error));
  return new OutboundError(`${prepared.label}: could not connect (${code ? `${code}: ` : ''}${reason})`, 'network', { code, cause: cause ?? error });
}

/** Reads the body as a stream and gives up as soon as it passes maxBytes. */
async function readCapped(response: Response, prepared: Prepared): Promise<string> {
  const tooLarge = () => new OutboundError(`${prepared.label}: the answer is larger than ${prepared.maxBytes} bytes; stopped reading`, 'too-large', { status: response.status });
  if (Number(response.headers.get('content-length')) > prepared.maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > prepared.maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson<T>(text: string, response: Response, prepared: Prepared): T {
  if (text.trim() === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    const type = response.headers.get('content-type') ?? 'no content-type';
    throw new OutboundError(`${prepared.label}: answered HTTP ${response.status} with a body that is not JSON (${type}): ${prepared.excerpt(text)}`, 'not-json', {
      status: response.status,
      body: prepared.excerpt(text),
    });
  }
}
