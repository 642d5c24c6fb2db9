import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalStandIn } from './local-server';

/** A call the Statuspage stand-in answered. */
export interface StatuspageCall {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  status: number;
}

export interface StatuspageIncident {
  id: string;
  name: string;
  status: string;
  shortlink: string;
  components: Record<string, string>;
  incident_updates: Array<{ status: string; body: string }>;
}

const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'];
const COMPONENT_STATUSES = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];

/**
 * A local stand-in for Atlassian Statuspage's REST API (v1): `Authorization: OAuth <key>`, the
 * components list, unresolved incidents, and creating and patching incidents with JSON bodies,
 * checked the way Statuspage checks them. `intercept` lets a test answer a call itself, or lose its answer.
 */
export class StatuspageStandIn extends LocalStandIn {
  readonly calls: StatuspageCall[] = [];
  /** Components per page id. */
  readonly pages = new Map<string, Array<{ id: string; name: string; status: string }>>();
  readonly incidents: Array<StatuspageIncident & { page: string }> = [];
  /**
   * Answers a call instead of the stand-in (with `afterHandling`, after carrying it out), or `'drop'`:
   * carries it out, then closes the connection without answering.
   */
  intercept: ((call: { method: string; path: string }) => { status: number; body: string; afterHandling?: boolean } | 'drop' | undefined) | undefined;
  onCall: ((call: StatuspageCall) => void) | undefined;
  private nextId = 1;

  constructor(private readonly apiKey: string) {
    super();
  }

  reset(): void {
    this.calls.length = 0;
    this.incidents.length = 0;
    this.intercept = undefined;
  }

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let body: Record<string, unknown> | undefined;
    try {
      body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : undefined;
    } catch {
      return this.reply(res, { method, path, body }, 400, { error: 'body is not JSON' });
    }
    const intercepted = this.intercept?.({ method, path });
    if (intercepted && intercepted !== 'drop' && !intercepted.afterHandling) return this.reply(res, { method, path, body }, intercepted.status, intercepted.body);
    if (req.headers.authorization !== `OAuth ${this.apiKey}`) return this.reply(res, { method, path, body }, 401, { error: "Couldn't authenticate you" });
    const [status, answer] = this.route(method, path, body);
    if (intercepted === 'drop') return void res.socket?.destroy();
    if (intercepted) return this.reply(res, { method, path, body }, intercepted.status, intercepted.body);
    this.reply(res, { method, path, body }, status, answer);
  }

  private route(method: string, path: string, body: Record<string, unknown> | undefined): [number, unknown] {
    const match = /^\/v1\/pages\/([^/]+)\/(components|incidents)(?:\/([^/]+))?$/.exec(path);
    const page = match ? decodeURIComponent(match[1]!) : '';
    const components = this.pages.get(page);
    if (!match || !components) return [404, { error: 'Not found' }];
    if (method === 'GET' && match[2] === 'components' && !match[3]) return [200, components];
    if (method === 'GET' && match[2] === 'incidents' && match[3] === 'unresolved') return [200, this.incidents.filter((i) => i.page === page && i.status !== 'resolved')];
    if (match[2] !== 'incidents') return [404, { error: 'Not found' }];
    const incident = body?.incident as Record<string, unknown> | undefined;
    const problems = incident ? checkIncident(incident, components, method === 'POST') : ['incident is required'];
    if (method === 'POST' && !match[3]) return problems.length ? [422, { error: problems }] : [201, this.create(page, incident!)];
    const existing = this.incidents.find((i) => i.page === page && i.id === match[3]);
    if (method === 'PATCH' && existing) return problems.length ? [422, { error: problems }] : [200, this.patch(existing, incident!)];
    return [404, { error: 'Not found' }];
  }

  private create(page: string, incident: Record<string, unknown>): StatuspageIncident {
    const id = `sp${String(this.nextId++).padStart(10, '0')}`;
    const created = { page, id, name: String(incident.name), status: 'investigating', shortlink: `https://stspg.io/${id}`, components: {}, incident_updates: [] };
    this.incidents.push(created);
    return this.patch(created, incident);
  }

  private patch(existing: StatuspageIncident & { page: string }, incident: Record<string, unknown>): StatuspageIncident {
    if (typeof incident.status === 'string') existing.status = incident.status;
    Object.assign(existing.components, incident.components ?? {});
    for (const [id, status] of Object.entries((incident.components ?? {}) as Record<string, string>)) this.pages.get(existing.page)!.find((c) => c.id === id)!.status = status;
    existing.incident_updates.unshift({ status: existing.status, body: String(incident.body ?? '') });
    const { page: _page, ...answer } = existing;
    return structuredClone(answer);
  }

  private reply(res: ServerResponse, call: Omit<StatuspageCall, 'status'>, status: number, answer: unknown): void {
    const recorded = { ...call, status };
    this.calls.push(recorded);
    this.onCall?.(recorded);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof answer === 'string' ? answer : JSON.stringify(answer));
  }
}

function checkIncident(incident: Record<string, unknown>, components: Array<{ id: string }>, creating: boolean): string[] {
  const problems: string[] = [];
  if (creating && (typeof incident.name !== 'string' || !incident.name.trim())) problems.push("name can't be blank");
  if (incident.status !== undefined && !INCIDENT_STATUSES.includes(String(incident.status))) problems.push(`status ${String(incident.status)} is not valid`);
  const changes = (incident.components ?? {}) as Record<string, unknown>;
  if (typeof changes !== 'object' || Array.isArray(changes)) problems.push('components must map component ids to statuses');
  for (const [id, status] of Object.entries(changes)) {
    if (!components.some((c) => c.id === id)) problems.push(`component ${id} is not on this page`);
    if (!COMPONENT_STATUSES.includes(String(status))) problems.push(`component status ${String(status)} is not valid`);
  }
  for (const id of (incident.component_ids ?? []) as string[]) if (!components.some((c) => c.id === id)) problems.push(`component ${id} is not on this page`);
  return problems;
}
