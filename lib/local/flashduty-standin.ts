import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv2020 from 'ajv/dist/2020';
import spec from '../flashduty/openapi-subset.json';
import { Refusal, StatusPageState } from './status-page-standin';

/** A request the stand-in received and accepted or refused. */
export interface RecordedCall {
  path: string;
  body: Record<string, unknown>;
  status: number;
  at: number;
}

/** Lets a test answer a call itself: return a reply, `'hang'` to never answer, or undefined for normal handling. */
export type Interceptor = (call: { path: string; body: unknown; attempt: number }) => { status: number; body: string } | 'hang' | undefined;

/**
 * A local stand-in for the FlashDuty Open API. It checks what the real one checks first (app key,
 * content type, and the request body against FlashDuty's official OpenAPI description) and answers
 * with the real envelope. Tests read `calls`; `intercept` injects 429s, 5xx, garbage or silence.
 */
export class FlashDutyStandIn {
  readonly calls: RecordedCall[] = [];
  intercept: Interceptor | undefined;
  /** Called after every answered call (the local stack prints comments as they arrive). */
  onCall: ((call: RecordedCall) => void) | undefined;
  private server?: Server;
  private readonly validators = compileRequestValidators();
  private readonly attempts = new Map<string, number>();
  private readonly sockets = new Set<import('node:net').Socket>();
  /** Status pages and their events (tests and the local stack add pages). */
  readonly statusPages = new StatusPageState();
  /** Custom field values per incident, as /incident/field/reset left them; /incident/info returns them. */
  readonly fields = new Map<string, Record<string, unknown>>();

  constructor(private readonly appKey: string) {}

  /** Forgets every call and interceptor (attempt counts start again at 1). */
  reset(): void {
    this.calls.length = 0;
    this.attempts.clear();
    this.intercept = undefined;
    this.statusPages.reset();
    this.fields.clear();
  }

  /** Comments posted so far, oldest first. */
  comments(incidentId?: string): string[] {
    return this.calls
      .filter((c) => c.path === '/incident/comment' && c.status === 200)
      .filter((c) => !incidentId || (c.body.incident_ids as string[]).includes(incidentId))
      .map((c) => String(c.body.comment));
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
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
    const intercepted = this.intercept?.({ path, body, attempt });
    if (intercepted === 'hang') return; // never answer; the socket is destroyed on stop()
    if (intercepted) return this.reply(res, path, body, intercepted.status, intercepted.body);

    const fail = (status: number, code: string, message: string) =>
      this.reply(res, path, body, status, JSON.stringify({ request_id: requestId(), error: { code, message } }));
    if (req.method === 'GET' && path.startsWith('/status-page/')) {
      if (url.searchParams.get('app_key') !== this.appKey) return fail(401, 'Unauthorized', 'You are unauthorized.');
      return this.answer(res, path, body, this.dataForGet(path, url.searchParams), fail);
    }
    if (req.method !== 'POST') return fail(405, 'MethodNotAllowed', 'method not allowed');
    if (url.searchParams.get('app_key') !== this.appKey) return fail(401, 'Unauthorized', 'You are unauthorized.');
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) return fail(400, 'InvalidContentType', 'Content-Type must be application/json');
    const validate = this.validators.get(path);
    if (!validate) return fail(404, 'RouteNotFound', `no route ${path}`);
    if (!validate(body)) {
      const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}`).join('; ');
      return fail(400, 'InvalidParameter', problems);
    }
    this.answer(res, path, body, this.dataFor(path, body as Record<string, unknown>), fail);
  }

  private answer(res: ServerResponse, path: string, body: unknown, data: unknown, fail: (status: number, code: string, message: string) => void): void {
    if (data instanceof Refusal) return fail(data.status, data.code, data.message);
    this.reply(res, path, body, 200, JSON.stringify({ request_id: requestId(), data }));
  }

  private dataFor(path: string, body: Record<string, unknown>): unknown {
    if (path === '/incident/alert/list') return { items: [], total: 0 };
    if (path === '/incident/info') return { incident_id: body.incident_id, title: 'stand-in incident', labels: {}, fields: { ...this.fields.get(String(body.incident_id)) } };
    if (path === '/incident/field/reset') return this.resetField(body);
    if (path === '/status-page/change/create') return this.statusPages.create(body);
    if (path === '/status-page/change/timeline/create') return this.statusPages.timeline(body);
    return {};
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

  private reply(res: ServerResponse, path: string, body: unknown, status: number, text: string): void {
    const call = { path, body: (body ?? {}) as Record<string, unknown>, status, at: Date.now() };
    this.calls.push(call);
    this.onCall?.(call);
    res.writeHead(status, { 'content-type': 'application/json', 'flashcat-request-id': requestId() });
    res.end(text);
  }
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
