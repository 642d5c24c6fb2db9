import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Ajv2020 from 'ajv/dist/2020';
import spec from './openapi-subset.json';
import type { AccountLimits } from '../lib/flashduty/rate-limit';
import { listenLocal, LOCAL_HOST } from './listen';
import { Refusal, StatusPageState } from './status-page-standin';

/** A request the stand-in received and accepted or refused. */
export interface RecordedCall {
  path: string;
  body: Record<string, unknown>;
  status: number;
  at: number;
}

/**
 * How a test bends one call. `status`/`body` answer instead of the normal answer; `afterHandling`
 * handles the call normally first (a comment is stored) and then answers that way; `delayMs` holds
 * the answer back (Infinity: never answers); `drop` closes the connection instead of answering (with
 * no `status` the call is handled first: the write is carried out and its answer is lost).
 */
export interface Interception {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  afterHandling?: boolean;
  delayMs?: number;
  drop?: boolean;
}

/**
 * Lets a test answer a call itself: an interception, `'hang'` to never answer (nothing handled), or
 * undefined for normal handling. `query` is the query string as sent (the app or integration key
 * travels there), so a test can echo what was really sent.
 */
export type Interceptor = (call: { path: string; body: unknown; attempt: number; query: URLSearchParams }) => Interception | 'hang' | undefined;

/** One entry of an incident's timeline, as `/incident/feed` returns it. */
interface FeedItem {
  ref_id: string;
  type: string;
  detail: Record<string, unknown>;
  account_id: number;
  creator_id: number;
  created_at: number;
  updated_at: number;
}

/**
 * A local stand-in for the FlashDuty Open API. It checks what the real one checks first (app key,
 * content type, and the request body against FlashDuty's official OpenAPI description) and answers
 * with the real envelope. Comments it accepts go on the incident's timeline, which `/incident/feed`
 * serves. Tests read `calls` and `comments()`; `intercept` injects 429s, 5xx, garbage, late answers
 * or silence.
 */
export class FlashDutyStandIn {
  readonly calls: RecordedCall[] = [];
  intercept: Interceptor | undefined;
  /** Called after every answered call (the local stack prints comments as they arrive). */
  onCall: ((call: RecordedCall) => void) | undefined;
  private server?: Server;
  private readonly validators = compileRequestValidators();
  private readonly attempts = new Map<string, number>();
  private readonly timelines = new Map<string, FeedItem[]>();
  private readonly sockets = new Set<import('node:net').Socket>();
  /** Status pages and their events (tests and the local stack add pages). */
  readonly statusPages = new StatusPageState();
  /** Custom field values per incident, as /incident/field/reset left them; /incident/info returns them. */
  readonly fields = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly appKey: string,
    /** The integration key the change push accepts (`/event/push/change/standard`). */
    readonly changeIntegrationKey = 'local-change-integration-key',
    /** With limits, counts the account's requests as FlashDuty does and answers 429 past either limit. */
    private readonly limits?: AccountLimits,
  ) {}

  /** When each request the rate limit let through arrived (ms), oldest first. */
  private readonly admitted: number[] = [];
  /** Requests answered 429 because the account was over its limits. */
  throttled = 0;

  /** The most requests let through in any `windowMs` (sliding): what FlashDuty's counter saw at its busiest. */
  busiest(windowMs: number): number {
    return busiestWindow(this.admitted, windowMs);
  }

  /** Forgets every call and interceptor (attempt counts start again at 1). */
  reset(): void {
    this.calls.length = 0;
    this.attempts.clear();
    this.timelines.clear();
    this.admitted.length = 0;
    this.throttled = 0;
    this.intercept = undefined;
    this.statusPages.reset();
    this.fields.clear();
  }

  /** Comments stored so far (answered or not), oldest first: on one incident, or on all. */
  comments(incidentId?: string): string[] {
    const items = incidentId ? (this.timelines.get(incidentId) ?? []) : [...this.timelines.values()].flat().sort((a, b) => a.created_at - b.created_at);
    return items.filter((item) => item.type === 'i_comm').map((item) => String(item.detail.comment));
  }

  /**
   * Custom field values as FlashDuty would hold them after the calls so far: `/incident/field/reset`
   * sets a value outright, so the last accepted call per field wins.
   */
  fieldValues(incidentId: string): Record<string, unknown> {
    const resets = this.calls.filter((c) => c.path === '/incident/field/reset' && c.status === 200 && c.body.incident_id === incidentId);
    return Object.fromEntries(resets.map((c) => [String(c.body.field_name), c.body.field_value]));
  }

  /** Change events accepted so far, oldest first. */
  changes(): Array<Record<string, unknown>> {
    return this.calls.filter((c) => c.path === CHANGE_PATH && c.status === 200).map((c) => c.body);
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return `http://${LOCAL_HOST}:${await listenLocal(this.server, port)}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = url.pathname;
    const attempt = (this.attempts.get(path) ?? 0) + 1;
    this.attempts.set(path, attempt);

    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const plan = this.intercept?.({ path, body, attempt, query: url.searchParams });
    if (plan === 'hang') return; // never answer; the socket is destroyed on stop()
    let answer: Answer = { status: plan?.status ?? 200, text: plan?.body ?? '' };
    if (!plan || plan.afterHandling || plan.status === undefined) {
      const normal = this.answer(req, url, path, body);
      answer = { status: plan?.status ?? normal.status, text: plan?.body ?? normal.text, headers: normal.headers };
    }
    if (plan?.delayMs === Infinity) return;
    if (plan?.delayMs) await new Promise((resolve) => setTimeout(resolve, plan.delayMs));
    if (plan?.drop) return void res.socket?.destroy();
    this.reply(res, path, body, answer.status, answer.text, { ...answer.headers, ...plan?.headers });
  }

  /** What FlashDuty would do with the call and answer; accepted comments go on the timeline. */
  private answer(req: IncomingMessage, url: URL, path: string, body: unknown): Answer {
    const fail = (status: number, code: string, message: string) => ({ status, text: JSON.stringify({ request_id: requestId(), error: { code, message } }) });
    if (req.method === 'GET' && path.startsWith('/status-page/')) {
      if (url.searchParams.get('app_key') !== this.appKey) return fail(401, 'Unauthorized', 'You are unauthorized.');
      return this.ok(this.dataForGet(path, url.searchParams), fail);
    }
    if (req.method !== 'POST') return fail(405, 'MethodNotAllowed', 'method not allowed');
    if (path === CHANGE_PATH) {
      if (url.searchParams.get('integration_key') !== this.changeIntegrationKey) return fail(401, 'Unauthorized', 'invalid integration_key');
      const problem = changeProblem(body);
      if (problem) return fail(400, 'InvalidParameter', problem);
      return { status: 200, text: JSON.stringify({ request_id: requestId() }) };
    }
    if (url.searchParams.get('app_key') !== this.appKey) return fail(401, 'Unauthorized', 'You are unauthorized.');
    const retryAfter = this.admit();
    if (retryAfter !== undefined) {
      this.throttled++;
      return { ...fail(429, 'RequestTooFrequently', 'request too frequently'), headers: { 'retry-after': String(retryAfter) } };
    }
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) return fail(400, 'InvalidContentType', 'Content-Type must be application/json');
    const validate = this.validators.get(path);
    if (!validate) return fail(404, 'RouteNotFound', `no route ${path}`);
    if (!validate(body)) {
      const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}`).join('; ');
      return fail(400, 'InvalidParameter', problems);
    }
    return this.ok(this.dataFor(path, body as Record<string, unknown>), fail);
  }

  /** A 200 with `data` in the envelope, or the refusal the data stands for. */
  private ok(data: unknown, fail: (status: number, code: string, message: string) => { status: number; text: string }): { status: number; text: string } {
    if (data instanceof Refusal) return fail(data.status, data.code, data.message);
    return { status: 200, text: JSON.stringify({ request_id: requestId(), data }) };
  }

  /**
   * Counts one request against the account's limits (sliding windows of 1 s and 60 s, every path
   * together); only requests let through count. Undefined when it may go on, else the whole seconds
   * to wait, as Retry-After says them.
   */
  private admit(): number | undefined {
    if (!this.limits) return undefined;
    const now = Date.now();
    let waitMs = 0;
    for (const [limit, ms] of [[this.limits.perSecond, 1000], [this.limits.perMinute, 60_000]] as const) {
      const inWindow = this.admitted.length - lowerBound(this.admitted, now - ms + 1);
      if (inWindow >= limit) waitMs = Math.max(waitMs, this.admitted[this.admitted.length - limit]! + ms - now);
    }
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    this.admitted.push(now);
    return undefined;
  }

  private dataFor(path: string, body: Record<string, unknown>): unknown {
    if (path === '/incident/comment') return this.store(body);
    if (path === '/incident/feed') return this.feed(body);
    if (path === '/incident/alert/list') return { items: [], total: 0 };
    if (path === '/incident/info') return { incident_id: body.incident_id, title: 'stand-in incident', labels: {}, fields: { ...this.fields.get(String(body.incident_id)) } };
    if (path === '/incident/field/reset') return this.resetField(body);
    if (path === '/status-page/change/create') return this.statusPages.create(body);
    if (path === '/status-page/change/timeline/create') return this.statusPages.timeline(body);
    return {};
  }

  /** Puts a comment on each incident's timeline, trimmed as FlashDuty trims it. */
  private store(body: Record<string, unknown>): object {
    const now = Date.now();
    const detail = { comment: String(body.comment ?? '').trim(), ...(body.mute_reply !== undefined && { mute_reply: body.mute_reply }) };
    for (const id of body.incident_ids as string[]) {
      const item = { ref_id: id, type: 'i_comm', detail, account_id: 1, creator_id: 1, created_at: now, updated_at: now };
      this.timelines.set(id, [...(this.timelines.get(id) ?? []), item]);
    }
    return {};
  }

  /** One page of an incident's timeline, filtered by type; newest first unless `asc`. */
  private feed(body: Record<string, unknown>): object {
    const types = body.types as string[] | undefined;
    const all = (this.timelines.get(body.incident_id as string) ?? []).filter((item) => !types?.length || types.includes(item.type));
    const ordered = body.asc === true ? all : [...all].reverse();
    const limit = (body.limit as number | undefined) ?? 20;
    const start = (((body.p as number | undefined) ?? 1) - 1) * limit;
    return { has_next_page: ordered.length > start + limit, items: ordered.slice(start, start + limit) };
  }

  private resetField(body: Record<string, unknown>): unknown {
    const incidentId = String(body.incident_id);
    this.fields.set(incidentId, { ...this.fields.get(incidentId), [String(body.field_name)]: body.field_value });
    return {};
  }

  /** The newer GET endpoints (not in the documented spec): their query is checked by hand. */
  private dataForGet(path: string, params: URLSearchParams): unknown {
    if (path === '/status-page/list') return this.statusPages.list();
    if (path === '/status-page/change/active/list') return this.statusPages.activeList(params);
    return new Refusal(404, 'RouteNotFound', `no route GET ${path}`);
  }

  private reply(res: ServerResponse, path: string, body: unknown, status: number, text: string, headers: Record<string, string> = {}): void {
    if (res.destroyed) return; // the caller gave up before a late answer: nothing was answered
    const call = { path, body: (body ?? {}) as Record<string, unknown>, status, at: Date.now() };
    this.calls.push(call);
    this.onCall?.(call);
    res.writeHead(status, { 'content-type': 'application/json', 'flashcat-request-id': requestId(), ...headers });
    res.end(text);
  }

}

const CHANGE_PATH = '/event/push/change/standard';

/**
 * The change push is not in the OpenAPI subset; these are the rules its developer docs give
 * (required fields, the status enum, the description and label limits).
 */
function changeProblem(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return 'body must be a JSON object';
  const event = body as Record<string, unknown>;
  for (const key of ['change_key', 'title', 'change_status']) if (typeof event[key] !== 'string' || event[key] === '') return `${key} is required`;
  if (!['Planned', 'Ready', 'Processing', 'Canceled', 'Done'].includes(event.change_status as string)) return 'change_status is not one of Planned|Ready|Processing|Canceled|Done';
  if (typeof event.description === 'string' && event.description.length > 2048) return 'description is longer than 2048';
  const labels = (event.labels ?? {}) as Record<string, unknown>;
  if (Object.keys(labels).length > 50 || Object.keys(labels).some((key) => key.length > 128)) return 'labels: at most 50, keys at most 128 characters';
  return undefined;
}

interface Answer {
  status: number;
  text: string;
  headers?: Record<string, string>;
}

/** The most of sorted `times` inside any window of `windowMs` (sliding). */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let end = 0, start = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** The index of the first entry of sorted `times` at or after `from`. */
function lowerBound(times: number[], from: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (times[mid]! < from) low = mid + 1;
    else high = mid;
  }
  return low;
}

type Validator = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };

/** One validator per path, from the request body schema FlashDuty's OpenAPI description gives it. */
function compileRequestValidators(): Map<string, Validator> {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema(spec as object, 'flashduty');
  const validators = new Map<string, Validator>();
  for (const [path, item] of Object.entries(spec.paths as Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } } }>)) {
    const ref = item.post?.requestBody?.content?.['application/json']?.schema?.$ref;
    if (ref) validators.set(path, ajv.compile({ $ref: `flashduty${ref}` }) as Validator);
  }
  return validators;
}

function requestId(): string {
  return Math.random().toString(36).slice(2, 12).toUpperCase();
}
