import { setTimeout as sleep } from 'node:timers/promises';
import { remainingMs } from '../deadline';
import { networkCause, ValidationError } from '../errors';
import { scrubber } from '../http/outbound';
import { emitMetric, log } from '../observability';
import { truncate } from '../text';
import { COMMENT_MAX_CHARS, FEED_PAGE_MAX, INCIDENT_ID_PATTERN, RATE_LIMIT_PER_MINUTE, RATE_LIMIT_PER_SECOND, SUCCESS_CODES } from './facts';
import { instanceWindows, RateLimiter } from './rate-limit';

export interface CommentOptions {
  /** Aborts the call, retries included; when made with `deadlineSignal`, no wait outlasts it. */
  signal?: AbortSignal;
  /**
   * The comment's last line, unique to this one write. After an answer that leaves unknown whether
   * the comment was posted (timeout, reset connection, 5xx), the incident's timeline is searched
   * for it before posting again: FlashDuty's comment API has no idempotency key of its own.
   */
  marker?: string;
  /** Search the timeline before the first post too: an earlier delivery's post may have landed. */
  checkFirst?: boolean;
}

/** The Open API calls the actions use. Requests follow FlashDuty's OpenAPI description. */
export interface FlashDutyApi {
  /** Adds `comment` to the incident's timeline (cut cleanly to 1,024 characters). */
  comment(incidentId: string, comment: string, options?: CommentOptions): Promise<void>;
  /** Sets a custom field; `value` must match the field's type. */
  resetField(incidentId: string, fieldName: string, value: unknown, signal?: AbortSignal): Promise<void>;
  incidentInfo(incidentId: string, signal?: AbortSignal): Promise<Record<string, unknown>>;
  listAlerts(
    incidentId: string,
    options?: { isActive?: boolean; limit?: number; page?: number },
    signal?: AbortSignal,
  ): Promise<{ items: Array<Record<string, unknown>>; total: number }>;
  /**
   * Records a change event (deploy, rollback) on the change integration whose key is given. Events
   * with the same `change_key` merge into one change, so repeating a push is harmless.
   */
  pushChange(integrationKey: string, event: ChangeEvent, signal?: AbortSignal): Promise<void>;
  /** A read-only GET (the newer status-page list endpoints); returns `data` from the envelope. */
  get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<unknown>;
  /**
   * One attempt, never retried: for a write FlashDuty cannot deduplicate (a status page event), where
   * a retry after a lost answer would publish twice. The caller decides what a failure means.
   */
  callOnce(path: string, body: object, signal?: AbortSignal): Promise<unknown>;
}

/** A change event for FlashDuty's change correlation (`/event/push/change/standard`). */
export interface ChangeEvent {
  /** The change's identity: events with the same key merge into one change. */
  change_key: string;
  title: string;
  change_status: 'Planned' | 'Ready' | 'Processing' | 'Canceled' | 'Done';
  /** Seconds. */
  event_time?: number;
  /** At most 2,048 characters. */
  description?: string;
  link?: string;
  /** At most 50, keys at most 128 characters. */
  labels?: Record<string, string>;
}

/** `api` with `signal` (the action's deadline) as the default of every call, so no call an action makes can outlast it. */
export function withDeadline(api: FlashDutyApi, signal: AbortSignal): FlashDutyApi {
  return {
    comment: (incidentId, comment, options = {}) => api.comment(incidentId, comment, { signal, ...options }),
    resetField: (incidentId, fieldName, value, callSignal = signal) => api.resetField(incidentId, fieldName, value, callSignal),
    incidentInfo: (incidentId, callSignal = signal) => api.incidentInfo(incidentId, callSignal),
    listAlerts: (incidentId, options, callSignal = signal) => api.listAlerts(incidentId, options, callSignal),
    pushChange: (integrationKey, event, callSignal = signal) => api.pushChange(integrationKey, event, callSignal),
    get: (path, params, callSignal = signal) => api.get(path, params, callSignal),
    callOnce: (path, body, callSignal = signal) => api.callOnce(path, body, callSignal),
  };
}

/** An error answer from FlashDuty, or no usable answer at all. `code` is FlashDuty's error code. */
export class FlashDutyError extends Error {
  override readonly name = 'FlashDutyError';
  readonly requestId?: string;
  /** True when the request may have been carried out although no success came back. */
  readonly ambiguous: boolean;
  /** For a network failure, its cause as Node reports it (ECONNREFUSED, ETIMEDOUT, UND_ERR_SOCKET…). */
  readonly networkCause?: string;
  readonly retryAfterMs?: number;
  constructor(
    message: string,
    readonly code: string,
    readonly httpStatus: number | undefined,
    readonly retryable: boolean,
    extra: { requestId?: string; ambiguous?: boolean; networkCause?: string; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.requestId = extra.requestId;
    this.ambiguous = extra.ambiguous ?? false;
    this.networkCause = extra.networkCause;
    this.retryAfterMs = extra.retryAfterMs;
  }

  /** This error with what it says changed; everything else carried over. */
  with(changes: { message?: string; code?: string; ambiguous?: boolean; networkCause?: string }): FlashDutyError {
    return new FlashDutyError(changes.message ?? this.message, changes.code ?? this.code, this.httpStatus, this.retryable, {
      requestId: this.requestId,
      ambiguous: changes.ambiguous ?? this.ambiguous,
      networkCause: changes.networkCause ?? this.networkCause,
      retryAfterMs: this.retryAfterMs,
    });
  }
}

export interface FlashDutyClientOptions {
  baseUrl: string;
  /** Resolves the app key (from config or SSM); never logged. */
  appKey: () => Promise<string>;
  /** Attempts per call, first included. FlashDuty recommends at most 3 retries. */
  maxAttempts?: number;
  /** First backoff delay; doubles each retry, with jitter. FlashDuty recommends starting at 1 s. */
  baseDelayMs?: number;
  /** Time allowed for one HTTP attempt. */
  attemptTimeoutMs?: number;
  /** Sent as `mute_reply` on every comment: true keeps our comments out of the team's IM and ticket syncs. */
  muteReply?: boolean;
  /** This process's share of the account's rate limits; the whole account's when not given. */
  limiter?: RateLimiter;
}

interface CallOptions {
  /** A write: a 2xx with an empty body counts as done, as the official SDK counts it. */
  write?: boolean;
  /** Says whether an earlier attempt of this write did land (one request, no retries). */
  landed?: (signal?: AbortSignal) => Promise<boolean>;
  checkFirst?: boolean;
  /** The query credentials; default: the app key. The change push authenticates with its integration key. */
  auth?: () => Promise<Record<string, string>>;
  /** Query parameters, for a GET (no body). */
  params?: Record<string, string>;
}

/** Shortest time worth starting another attempt in; a wait that leaves less gives up instead. */
const MIN_ATTEMPT_MS = 250;
/** Failures that happen before any byte of the request left: nothing can have been carried out. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * FlashDuty Open API client: `POST {baseUrl}{path}?app_key=…` with a JSON body. Understands the
 * `{request_id, data | error{code,message}}` envelope; retries 429, 5xx, unreadable answers and
 * network errors with bounded exponential backoff (honouring Retry-After) that never sleeps past
 * the caller's deadline; keeps under the rate limits; and never logs the app key (only paths). Every
 * error it throws has the credentials it sent (app key, integration key) replaced by `***`, in
 * whatever form FlashDuty or fetch quoted them.
 */
export class FlashDutyClient implements FlashDutyApi {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly muteReply: boolean;
  private readonly limiter: RateLimiter;

  constructor(private readonly options: FlashDutyClientOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
    this.muteReply = options.muteReply ?? false;
    this.limiter = options.limiter ?? new RateLimiter(instanceWindows({ perSecond: RATE_LIMIT_PER_SECOND, perMinute: RATE_LIMIT_PER_MINUTE }, 1));
  }

  async comment(incidentId: string, comment: string, options: CommentOptions = {}): Promise<void> {
    const body = { incident_ids: [checkId(incidentId)], comment: truncate(comment, COMMENT_MAX_CHARS), mute_reply: this.muteReply };
    const { marker } = options;
    if (marker !== undefined && lastLine(body.comment) !== marker) {
      throw new ValidationError(`the comment must end with its marker line "${marker}", or a lost answer could post it twice`, []);
    }
    const landed = marker === undefined ? undefined : (signal?: AbortSignal) => this.hasComment(incidentId, marker, signal);
    await this.call('/incident/comment', body, options.signal, { write: true, landed, checkFirst: options.checkFirst });
  }

  async resetField(incidentId: string, fieldName: string, value: unknown, signal?: AbortSignal): Promise<void> {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]{0,39}$/.test(fieldName)) {
      throw new ValidationError(`custom field name "${fieldName}" is not valid`, []);
    }
    // Omitting field_value deletes the field's value, so an undefined value is refused here.
    if (value === undefined) throw new ValidationError(`no value given for custom field "${fieldName}"`, []);
    await this.call('/incident/field/reset', { incident_id: checkId(incidentId), field_name: fieldName, field_value: value }, signal, { write: true });
  }

  async incidentInfo(incidentId: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return (await this.call('/incident/info', { incident_id: checkId(incidentId) }, signal)) as Record<string, unknown>;
  }

  async listAlerts(
    incidentId: string,
    options: { isActive?: boolean; limit?: number; page?: number } = {},
    signal?: AbortSignal,
  ): Promise<{ items: Array<Record<string, unknown>>; total: number }> {
    const body = {
      incident_id: checkId(incidentId),
      limit: Math.min(Math.max(options.limit ?? 1000, 0), 1000),
      p: Math.max(options.page ?? 1, 1),
      ...(options.isActive !== undefined && { is_active: options.isActive }),
    };
    const data = (await this.call('/incident/alert/list', body, signal)) as { items?: unknown; total?: unknown } | null;
    return { items: Array.isArray(data?.items) ? data.items : [], total: typeof data?.total === 'number' ? data.total : 0 };
  }

  async pushChange(integrationKey: string, event: ChangeEvent, signal?: AbortSignal): Promise<void> {
    // Same host and envelope as the Open API, but the integration key authenticates, not the app key.
    // A repeat merges into the same change (same change_key), so retrying it is harmless.
    await this.call('/event/push/change/standard', event, signal, { write: true, auth: async () => ({ integration_key: integrationKey }) });
  }

  /**
   * One API call with retries; returns `data` from the envelope. With `landed`, a retry after an
   * ambiguous failure first asks whether the earlier attempt took effect, and stops if it did.
   */
  async call(path: string, body: object | undefined, signal?: AbortSignal, options: CallOptions = {}): Promise<unknown> {
    let lastError: FlashDutyError | undefined;
    // Whether a write sent earlier (by this call, or with checkFirst by an earlier delivery) may have
    // landed unseen; only a look with `landed` clears it.
    let unsure = options.checkFirst === true && options.landed !== undefined;
    let attempt = 0;
    while (attempt < this.maxAttempts) {
      if (lastError && !(await this.waitToRetry(path, lastError, attempt, signal))) break;
      attempt++;
      try {
        if (unsure && options.landed) {
          if (await this.limited(path, signal, () => options.landed!(signal))) {
            log.info('an earlier attempt did take effect; not sending it again', { path });
            return null;
          }
          unsure = false;
        }
        return await this.limited(path, signal, () => this.attempt(path, body, signal, options.write ?? false, options.auth, options.params));
      } catch (error) {
        // Every failed attempt counts, retried or not: a rising line is FlashDuty (or the key) in trouble.
        if (error instanceof FlashDutyError) emitMetric('FlashDutyApiError', {});
        if (!(error instanceof FlashDutyError)) throw error;
        unsure ||= error.ambiguous;
        // This attempt may never have left (the deadline came first), but an earlier one may have landed.
        if (!error.retryable || signal?.aborted) throw unsure && !error.ambiguous ? mayHaveLanded(error) : error;
        lastError = error;
        log.warn(attempt < this.maxAttempts ? 'FlashDuty call failed; will retry' : 'FlashDuty call failed; giving up', { path, attempt, max_attempts: this.maxAttempts, code: error.code, http_status: error.httpStatus, cause: error.networkCause });
      }
    }
    const { code, httpStatus, requestId, networkCause } = lastError!;
    const maybe = unsure ? '; it may still have taken effect' : '';
    throw new FlashDutyError(`${path} failed after ${attempt} attempt(s): ${lastError!.message}${maybe}`, code, httpStatus, true, { requestId, networkCause, ambiguous: unsure });
  }

  /** A GET with query parameters (app_key is added); retried like any read. */
  async get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
    return this.call(path, undefined, signal, { params });
  }

  /** One attempt, never retried (see FlashDutyApi.callOnce). */
  async callOnce(path: string, body: object, signal?: AbortSignal): Promise<unknown> {
    return this.limited(path, signal, () => this.attempt(path, body, signal, true));
  }

  /** Runs `fn` once the rate limit lets one more request go; a wait cut short by `signal` sent nothing. */
  private async limited<T>(path: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      await this.limiter.take(signal);
    } catch {
      throw notSent(path, 'the deadline for this click passed while it waited for the rate limit');
    }
    return fn();
  }

  /** Waits before the next attempt; false when that wait would not leave time for it before the deadline. */
  private async waitToRetry(path: string, error: FlashDutyError, retry: number, signal?: AbortSignal): Promise<boolean> {
    const wait = this.backoffMs(retry, error);
    const left = remainingMs(signal);
    if (wait + MIN_ATTEMPT_MS > left) {
      log.warn('not retrying FlashDuty: the wait would run past the deadline for this click', { path, wait_ms: Math.round(wait), remaining_ms: Math.round(left) });
      return false;
    }
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      return false; // aborted while waiting: the last error stands
    }
    return true;
  }

  private async attempt(
    path: string,
    body: object | undefined,
    signal: AbortSignal | undefined,
    write: boolean,
    auth?: () => Promise<Record<string, string>>,
    params: Record<string, string> = {},
  ): Promise<unknown> {
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const credentials = auth ? await auth() : { app_key: await this.options.appKey() };
    for (const [key, value] of Object.entries(credentials)) url.searchParams.set(key, value);
    // FlashDuty may echo a key in its error, and fetch may quote the URL: no error leaves with one.
    const scrub = scrubber(Object.values(credentials));
    try {
      return await this.exchange(path, url, body, signal, write);
    } catch (error) {
      throw error instanceof FlashDutyError ? scrubbed(error, scrub) : error;
    }
  }

  /** Sends one request to `url` (credentials included) and reads its answer. */
  private async exchange(path: string, url: URL, body: object | undefined, signal: AbortSignal | undefined, write: boolean): Promise<unknown> {
    const left = remainingMs(signal);
    if (left <= 0) throw notSent(path, 'the deadline for this click had passed'); // never start a request that cannot finish
    const limitMs = Math.round(Math.min(this.attemptTimeoutMs, left));
    const timeout = AbortSignal.timeout(limitMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (error) {
      // A timeout cut to the deadline is the deadline, whichever of the two timers fired first.
      const atDeadline = signal?.aborted || (timeout.aborted && left <= this.attemptTimeoutMs);
      throw networkError(path, error, atDeadline ? 'deadline' : timeout.aborted ? `no answer within ${limitMs} ms` : undefined);
    }
    return readAnswer(path, response, text, write);
  }

  /** Whether a recent comment on the incident (the newest page of its timeline) ends with the line `marker`. */
  private async hasComment(incidentId: string, marker: string, signal?: AbortSignal): Promise<boolean> {
    const body = { incident_id: incidentId, p: 1, limit: FEED_PAGE_MAX, asc: false, types: ['i_comm'] };
    const data = (await this.attempt('/incident/feed', body, signal, false)) as { items?: unknown } | null;
    const items = Array.isArray(data?.items) ? (data.items as Array<{ detail?: { comment?: unknown } } | null>) : [];
    return items.some((item) => typeof item?.detail?.comment === 'string' && lastLine(item.detail.comment) === marker);
  }

  private backoffMs(retry: number, error: FlashDutyError): number {
    const exponential = this.baseDelayMs * 2 ** (retry - 1);
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.max(jittered, Math.min(error.retryAfterMs ?? 0, 30_000));
  }
}

/** Turns FlashDuty's answer into `data`, or a FlashDutyError saying whether to retry and whether it may have worked. */
function readAnswer(path: string, response: Response, text: string, write: boolean): unknown {
  const requestId = response.headers.get('flashcat-request-id') ?? undefined;
  if (response.ok && write && text.trim() === '') return null;
  const envelope = parseEnvelope(text);
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
  const serverFault = response.status >= 500;
  if (envelope?.error) {
    const { code, message } = envelope.error;
    const retryable = code === 'RequestTooFrequently' || response.status === 429 || serverFault;
    throw new FlashDutyError(`${path}: ${code}: ${message}`, code, response.status, retryable, { requestId: envelope.request_id ?? requestId, ambiguous: serverFault, retryAfterMs });
  }
  if (response.ok && envelope !== undefined) return envelope.data ?? null;
  // A 2xx we cannot read may well have been carried out; so may a 5xx (a gateway's, say).
  const retryable = response.status === 429 || serverFault || response.ok;
  const what = envelope ? 'no error' : 'an unreadable body';
  throw new FlashDutyError(`${path}: HTTP ${response.status} with ${what}`, 'InvalidResponse', response.status, retryable, { requestId, ambiguous: serverFault || response.ok, retryAfterMs });
}

/** `error` with every form of the credentials `scrub` knows replaced by `***` in what it says. */
function scrubbed(error: FlashDutyError, scrub: (text: string) => string): FlashDutyError {
  return error.with({ message: scrub(error.message), code: scrub(error.code), networkCause: error.networkCause === undefined ? undefined : scrub(error.networkCause) });
}

/** The deadline (or an abort) came before the request left: nothing can have been carried out. */
function notSent(path: string, why: string): FlashDutyError {
  return new FlashDutyError(`${path}: not sent; ${why}`, 'NetworkError', undefined, true, { ambiguous: false, networkCause: 'DEADLINE' });
}

/** `error`, saying that an earlier attempt of the same call may still have taken effect. */
function mayHaveLanded(error: FlashDutyError): FlashDutyError {
  return error.with({ message: `${error.message}; an earlier attempt may still have taken effect`, ambiguous: true });
}

/** A failed fetch, described by its real cause (fetch itself only says "TypeError: fetch failed"). */
function networkError(path: string, error: unknown, timedOut: string | undefined): FlashDutyError {
  if (timedOut === 'deadline') {
    return new FlashDutyError(`${path}: no answer before the deadline for this click passed`, 'NetworkError', undefined, true, { ambiguous: true, networkCause: 'DEADLINE' });
  }
  if (timedOut) return new FlashDutyError(`${path}: ${timedOut}`, 'NetworkError', undefined, true, { ambiguous: true, networkCause: 'ETIMEDOUT' });
  const cause = networkCause(error);
  return new FlashDutyError(`${path}: network error ${cause}`, 'NetworkError', undefined, true, { ambiguous: !NEVER_SENT.has(cause), networkCause: cause });
}

interface Envelope {
  request_id?: string;
  data?: unknown;
  error?: { code: string; message: string };
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const envelope = value as Envelope & { error?: unknown };
    if (envelope.error === undefined || envelope.error === null) return { ...envelope, error: undefined };
    const error = envelope.error as { code?: unknown; message?: unknown };
    const code = String(error.code ?? 'UnknownError');
    if (SUCCESS_CODES.has(code)) return { ...envelope, error: undefined };
    return { ...envelope, error: { code, message: String(error.message ?? '') } };
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').pop() ?? '';
}

function checkId(incidentId: string): string {
  if (!INCIDENT_ID_PATTERN.test(incidentId)) throw new ValidationError(`incident id "${incidentId}" is not a 24-character hex ObjectID`, []);
  return incidentId;
}
