import { ValidationError } from '../errors';
import { log } from '../observability';
import { truncate } from '../text';
import { COMMENT_MAX_CHARS, INCIDENT_ID_PATTERN, RATE_LIMIT_PER_MINUTE, RATE_LIMIT_PER_SECOND } from './facts';
import { RateLimiter, sleep } from './rate-limit';

/** The Open API calls the actions use. Requests follow FlashDuty's OpenAPI description. */
export interface FlashDutyApi {
  /** Adds `comment` to the incident's timeline (cut cleanly to 1,024 characters). */
  comment(incidentId: string, comment: string, signal?: AbortSignal): Promise<void>;
  /** Sets a custom field; `value` must match the field's type. */
  resetField(incidentId: string, fieldName: string, value: unknown, signal?: AbortSignal): Promise<void>;
  incidentInfo(incidentId: string, signal?: AbortSignal): Promise<Record<string, unknown>>;
  listAlerts(
    incidentId: string,
    options?: { isActive?: boolean; limit?: number; page?: number },
    signal?: AbortSignal,
  ): Promise<{ items: Array<Record<string, unknown>>; total: number }>;
  /** A read-only GET (the newer status-page list endpoints); returns `data` from the envelope. */
  get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<unknown>;
  /**
   * One attempt, never retried: for a write FlashDuty cannot deduplicate (a status page event), where
   * a retry after a lost answer would publish twice. The caller decides what a failure means.
   */
  callOnce(path: string, body: object, signal?: AbortSignal): Promise<unknown>;
}

/** An error answer from FlashDuty, or no usable answer at all. `code` is FlashDuty's error code. */
export class FlashDutyError extends Error {
  override readonly name = 'FlashDutyError';
  constructor(
    message: string,
    readonly code: string,
    readonly httpStatus: number | undefined,
    readonly retryable: boolean,
    readonly requestId?: string,
  ) {
    super(message);
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
  limiter?: RateLimiter;
}

/**
 * FlashDuty Open API client: `POST {baseUrl}{path}?app_key=…` with a JSON body. Understands the
 * `{request_id, data | error{code,message}}` envelope; retries 429, 5xx, unreadable answers and
 * network errors with bounded exponential backoff (honouring Retry-After); keeps under the rate
 * limits; and never logs the app key (only paths are logged).
 */
export class FlashDutyClient implements FlashDutyApi {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly limiter: RateLimiter;

  constructor(private readonly options: FlashDutyClientOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
    this.limiter =
      options.limiter ??
      new RateLimiter([
        { limit: RATE_LIMIT_PER_SECOND, ms: 1000 },
        { limit: RATE_LIMIT_PER_MINUTE, ms: 60_000 },
      ]);
  }

  async comment(incidentId: string, comment: string, signal?: AbortSignal): Promise<void> {
    await this.call('/incident/comment', { incident_ids: [checkId(incidentId)], comment: truncate(comment, COMMENT_MAX_CHARS) }, signal);
  }

  async resetField(incidentId: string, fieldName: string, value: unknown, signal?: AbortSignal): Promise<void> {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]{0,39}$/.test(fieldName)) {
      throw new ValidationError(`custom field name "${fieldName}" is not valid`, []);
    }
    // Omitting field_value deletes the field's value, so an undefined value is refused here.
    if (value === undefined) throw new ValidationError(`no value given for custom field "${fieldName}"`, []);
    await this.call('/incident/field/reset', { incident_id: checkId(incidentId), field_name: fieldName, field_value: value }, signal);
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

  /** One API call with retries. Returns `data` from the envelope. */
  async call(path: string, body: object, signal?: AbortSignal): Promise<unknown> {
    return this.withRetries(path, () => this.attempt(path, body, signal), signal);
  }

  /** A GET with query parameters (app_key is added); retried like any read. */
  async get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
    return this.withRetries(path, () => this.attempt(path, undefined, signal, params), signal);
  }

  async callOnce(path: string, body: object, signal?: AbortSignal): Promise<unknown> {
    await this.limiter.take(signal);
    return this.attempt(path, body, signal);
  }

  private async withRetries(path: string, once: () => Promise<unknown>, signal?: AbortSignal): Promise<unknown> {
    let lastError: FlashDutyError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (lastError) await sleep(this.backoffMs(attempt - 1, lastError), signal);
      await this.limiter.take(signal);
      try {
        return await once();
      } catch (error) {
        if (!(error instanceof FlashDutyError) || !error.retryable || signal?.aborted) throw error;
        lastError = error;
        log.warn('FlashDuty call failed; will retry', { path, attempt, code: error.code, http_status: error.httpStatus });
      }
    }
    throw new FlashDutyError(
      `${path} failed after ${this.maxAttempts} attempts: ${lastError?.message}`,
      lastError?.code ?? 'Unavailable',
      lastError?.httpStatus,
      true,
      lastError?.requestId,
    );
  }

  /** One HTTP attempt: a POST with a JSON body, or a GET with `params` when there is no body. */
  private async attempt(path: string, body: object | undefined, signal?: AbortSignal, params: Record<string, string> = {}): Promise<unknown> {
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    url.searchParams.set('app_key', await this.options.appKey());
    const timeout = AbortSignal.timeout(this.attemptTimeoutMs);
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
      const reason = timeout.aborted ? `no answer within ${this.attemptTimeoutMs} ms` : (error as Error).name;
      throw new FlashDutyError(`${path}: ${reason}`, 'NetworkError', undefined, true);
    }
    const requestId = response.headers.get('flashcat-request-id') ?? undefined;
    const envelope = parseEnvelope(text);
    const retryAfter = Number(response.headers.get('retry-after'));
    if (envelope?.error) {
      const { code, message } = envelope.error;
      const retryable = code === 'RequestTooFrequently' || response.status === 429 || response.status >= 500;
      throw Object.assign(new FlashDutyError(`${path}: ${code}: ${message}`, code, response.status, retryable, envelope.request_id ?? requestId), {
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      });
    }
    if (!response.ok || envelope === undefined) {
      const retryable = response.status === 429 || response.status >= 500 || response.ok;
      throw new FlashDutyError(`${path}: HTTP ${response.status} with ${envelope ? 'no error' : 'an unreadable body'}`, 'InvalidResponse', response.status, retryable, requestId);
    }
    return envelope.data ?? null;
  }

  private backoffMs(retry: number, error: FlashDutyError & { retryAfterMs?: number }): number {
    const exponential = this.baseDelayMs * 2 ** (retry - 1);
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.max(jittered, Math.min(error.retryAfterMs ?? 0, 30_000));
  }
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
    if (envelope.error !== undefined && envelope.error !== null) {
      const error = envelope.error as { code?: unknown; message?: unknown };
      return { ...envelope, error: { code: String(error.code ?? 'UnknownError'), message: String(error.message ?? '') } };
    }
    return envelope.error === null ? { ...envelope, error: undefined } : envelope;
  } catch {
    return undefined;
  }
}

function checkId(incidentId: string): string {
  if (!INCIDENT_ID_PATTERN.test(incidentId)) throw new ValidationError(`incident id "${incidentId}" is not a 24-character hex ObjectID`, []);
  return incidentId;
}
