import { unusedMemory } from '../fixtures/unused-memory';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { enrich } from '../../lib/actions/enrich';
import type { EnrichConfig } from '../../lib/actions/enrich/config';
import type { ActionContext, Outcome } from '../../lib/actions/types';
import { makeSecretReader } from '../../lib/aws/secrets';
import { actionConfig } from '../../lib/config/worker';
import { FlashDutyClient, FlashDutyError } from '../../lib/flashduty/client';
import { validatePayload } from '../../lib/flashduty/payload';
import { FlashDutyStandIn } from '../../local/flashduty-standin';
import { log } from '../../lib/observability';
import type { QueueMessage } from '../../lib/queue/envelope';
import { formatComment } from '../../lib/actions/comment';
import { clickWithIncident, INCIDENT_ID } from '../fixtures/clicks';

const APP_KEY = 'enrich-test-app-key';
const TOKEN = 'sources-token-4242';

interface Received {
  method: string;
  rawPath: string;
  query: Array<[string, string]>;
  headers: IncomingMessage['headers'];
  body: string;
}
type Route = (req: Received, res: ServerResponse) => void;

/** The team's sources, faked at the wire: routes by path prefix, recording every request as received. */
class Sources {
  readonly received: Received[] = [];
  routes = new Map<string, Route>();
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?');
      const received = { method: req.method!, rawPath: rawPath!, query: [...new URLSearchParams(rawQuery)], headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.received.push(received);
      const route = [...this.routes].find(([prefix]) => rawPath!.startsWith(prefix))?.[1];
      if (route) route(received, res);
      else json(res, 404, { error: 'no route' });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const TRACES = { traces: [{ traceID: 'aaa111', rootTraceName: 'POST /search', durationMs: 4210 }, { traceID: 'bbb222', rootTraceName: 'GET /', durationMs: 12 }] };
const HOST = { host: { owner_team: 'search-platform', tier: 'tier-1', dependents: ['order', 'passport', 'order'], upstream: ['api-gateway'] } };

describe('enrich against local sources and a FlashDuty stand-in', () => {
  const sources = new Sources();
  const flashduty = new FlashDutyStandIn(APP_KEY);
  let flashdutyUrl: string;

  beforeAll(async () => {
    await sources.start();
    flashdutyUrl = await flashduty.start();
  });
  afterAll(async () => {
    await sources.stop();
    await flashduty.stop();
  });
  beforeEach(() => {
    sources.received.length = 0;
    flashduty.reset();
    sources.routes = new Map<string, Route>([
      ['/tempo/', (_req, res) => json(res, 200, TRACES)],
      ['/cmdb/', (req, res) => (req.headers.authorization === `Bearer ${TOKEN}` ? json(res, 200, HOST) : json(res, 401, { error: 'unauthorized' }))],
      ['/echo/', (req, res) => json(res, 200, { path: req.rawPath, query: req.query, body: req.body ? JSON.parse(req.body) : null })],
    ]);
  });

  /** The sources as ENRICH_SOURCES JSON would give them, pointed at the local server. */
  const tempo = () => ({
    name: 'traces',
    url: `${sources.url}/tempo/api/search?tags=service.name%3D{{ labels.service }}&start={{ start_time - 15m }}`,
    fields: { trace_id: 'max_by(traces, &durationMs).traceID' },
    show: { traces: 'length(traces)', slowest: "join(' ', [max_by(traces, &durationMs).rootTraceName, to_string(max_by(traces, &durationMs).durationMs), 'ms'])" },
    link: `${sources.url}/grafana/explore?service={{ labels.service }}`,
  });
  const cmdb = () => ({
    name: 'cmdb',
    url: `${sources.url}/cmdb/hosts/{{ labels.resource }}`,
    headers: { authorization: { secret_value: TOKEN, prefix: 'Bearer ' } },
    fields: {
      owner_team: 'host.owner_team',
      service_tier: { path: 'host.tier', type: 'single_select' },
      impacted_services: { path: 'host.dependents', type: 'multi_select' },
      tier_1: { path: "host.tier == 'tier-1'", type: 'checkbox' },
    },
    show: { owner: 'host.owner_team', upstream: 'host.upstream' },
  });

  let eventSeq = 0;
  function context(
    sourceList: unknown[],
    options: { dryRun?: boolean; labels?: Record<string, string>; incident?: Record<string, unknown>; signal?: AbortSignal } = {},
  ): ActionContext<EnrichConfig> {
    const incident = { labels: { service: 'engine', resource: 'es.nj.01', ...options.labels }, ...options.incident };
    const message: QueueMessage = { version: 1, action: 'enrich', event_id: `evt-${++eventSeq}`, received_at: Date.now(), payload: validatePayload(clickWithIncident(incident)) };
    return {
      config: actionConfig(enrich, { ENRICH_SOURCES: JSON.stringify(sourceList) }),
      message,
      dryRun: options.dryRun ?? false,
      log,
      flashduty: new FlashDutyClient({ baseUrl: flashdutyUrl, appKey: async () => APP_KEY, baseDelayMs: 5, maxAttempts: 2, attemptTimeoutMs: 2000 }),
      signal: options.signal ?? AbortSignal.timeout(20_000),
      aws: { region: 'us-east-1', endpoints: {} },
      secret: makeSecretReader({ region: 'us-east-1', maxAgeSeconds: 0 }),
      exclusive: async () => {
        throw new Error('enrich takes no locks');
      },
      memory: unusedMemory('enrich keeps no memory: re-running it overwrites the same fields'),
    };
  }
  const run = async (ctx: ActionContext<EnrichConfig>) => {
    const outcome = await enrich.run(ctx);
    return { outcome, comment: formatComment(ctx.message, outcome) };
  };
  const fact = (outcome: Outcome, label: string) => outcome.facts?.find(([l]) => l === label)?.[1];
  const resets = () => flashduty.calls.filter((c) => c.path === '/incident/field/reset');

  it('maps each answer with its JMESPaths into comment lines and custom fields shaped for their type', async () => {
    const { outcome, comment } = await run(context([tempo(), cmdb()]));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.summary).toBe('2 of 2 sources answered; set 5 fields');
    expect(fact(outcome, 'traces traces')).toBe('2');
    expect(fact(outcome, 'traces slowest')).toBe('POST /search 4210 ms');
    expect(fact(outcome, 'cmdb upstream')).toBe('api-gateway');
    expect(outcome.links).toEqual([{ label: 'traces', url: `${sources.url}/grafana/explore?service=engine` }]);
    expect(flashduty.fieldValues(INCIDENT_ID)).toEqual({
      trace_id: 'aaa111',
      owner_team: 'search-platform',
      service_tier: 'tier-1',
      impacted_services: ['order', 'passport'],
      tier_1: true,
    });
    expect(resets().every((c) => c.status === 200)).toBe(true);
    expect(comment).toContain('• fields set: trace_id, owner_team, service_tier, impacted_services, tier_1');
    expect(comment).not.toContain(TOKEN);
  });

  it("keeps a source's secret out of the comment and the fields when the source echoes it in its answer, even where a value is cut", async () => {
    sources.routes.set('/whoami/', (req, res) => json(res, 200, { seen: { user: 'u'.repeat(110), authorization: req.headers.authorization }, tokens: [String(req.headers.authorization)], raw: String(req.headers.authorization) }));
    const whoami = {
      ...cmdb(),
      name: 'whoami',
      url: `${sources.url}/whoami/{{ labels.resource }}`,
      fields: { echoed: 'seen.authorization', echoed_list: { path: 'tokens', type: 'multi_select' }, verified: { path: 'raw', type: 'checkbox' } },
      // A show line is cut at 160 characters: here in the middle of the token.
      show: { seen: 'seen' },
    };
    const { outcome, comment } = await run(context([whoami]));
    expect(outcome.status).toBe('succeeded');
    expect(flashduty.fieldValues(INCIDENT_ID)).toEqual({ echoed: '***', echoed_list: ['***'] });
    for (const piece of [TOKEN, TOKEN.slice(0, 12)]) expect(comment).not.toContain(piece);
    expect(comment).toContain('a checkbox field takes true or false, got "***"');
  });

  it('puts a hostile label value into each source as exactly one encoded path segment, query value and JSON string', async () => {
    const PIECES = ['a/b?x=1#y', '../', '..', '%2e%2e', '/', '?', '#', '&', '=', '+', ' ', '\r\n', '\r\nX-Injected: 1', '"', "'", '\\', 'é', '😀', 'x'];
    const hostile = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 5 }).map((pieces) => pieces.join(''));
    const source = {
      name: 'echo',
      url: `${sources.url}/echo/{{ labels.service }}/search?q={{ labels.service }}&n=1`,
      method: 'POST',
      read_only: true,
      body: { query: { term: { service: '{{ labels.service }}' } } },
      fields: { echoed_path: 'path' },
    };
    await fc.assert(
      fc.asyncProperty(hostile, async (value) => {
        sources.received.length = 0;
        const { outcome } = await run(context([source], { labels: { service: value } }));
        if (value === '..') {
          expect(fact(outcome, 'echo')).toMatch(/^FAILED: the value of labels.service would make the URL path segment/);
          expect(sources.received).toHaveLength(0);
          return;
        }
        expect(sources.received).toHaveLength(1);
        const [request] = sources.received;
        const segments = request!.rawPath.split('/');
        expect(segments).toHaveLength(4); // '', 'echo', <value>, 'search'
        expect(decodeURIComponent(segments[2]!)).toBe(value);
        expect(request!.query).toEqual([['q', value], ['n', '1']]);
        expect(JSON.parse(request!.body)).toEqual({ query: { term: { service: value } } });
        expect(request!.headers['x-injected']).toBeUndefined();
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a label with a line break in a header template, for that source only', async () => {
    const headed = { name: 'headed', url: `${sources.url}/tempo/x`, headers: { 'x-service': '{{ labels.service }}' }, show: { n: 'length(traces)' } };
    const { outcome } = await run(context([headed, cmdb()], { labels: { service: 'engine\r\nX-Injected: 1' } }));
    expect(fact(outcome, 'headed')).toMatch(/^FAILED: the value of labels.service has a line break/);
    expect(outcome.status).toBe('succeeded');
    expect(sources.received.map((r) => r.rawPath)).toEqual(['/cmdb/hosts/es.nj.01']);
  });

  it('lets a slow source time out while the others answer, and says which one', async () => {
    sources.routes.set('/slow/', () => undefined); // never answers; the server closes the socket at the end
    const slow = { name: 'slow', url: `${sources.url}/slow/q`, timeout_ms: 300, show: { x: 'x' } };
    const { outcome } = await run(context([slow, tempo(), cmdb()]));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.summary).toBe('2 of 3 sources answered; set 5 fields');
    expect(fact(outcome, 'slow')).toBe('FAILED: no answer within 300 ms');
    expect(fact(outcome, 'traces traces')).toBe('2');
    expect(flashduty.fieldValues(INCIDENT_ID).owner_team).toBe('search-platform');
  });

  it('reports a 500 and an HTML answer as lines of the comment, and still writes what the others gave', async () => {
    sources.routes.set('/broken/', (_req, res) => json(res, 500, { error: 'index_not_found_exception' }));
    sources.routes.set('/html/', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html><body>Please sign in</body></html>');
    });
    const broken = { name: 'es', url: `${sources.url}/broken/_search`, fields: { error_logs: 'hits' } };
    const html = { name: 'sso', url: `${sources.url}/html/x`, show: { x: 'x' } };
    const { outcome, comment } = await run(context([broken, html, tempo()]));
    expect(outcome.status).toBe('succeeded');
    expect(fact(outcome, 'es')).toBe('FAILED: answered HTTP 500: {"error":"index_not_found_exception"}');
    expect(fact(outcome, 'sso')).toMatch(/^FAILED: answered HTTP 200 with a body that is not JSON \(text\/html\): <!doctype html>/);
    expect(flashduty.fieldValues(INCIDENT_ID)).toEqual({ trace_id: 'aaa111' });
    expect(comment.length).toBeLessThanOrEqual(1024);
  });

  it('copes with garbage answers (truncated JSON, a bare string, null, an empty body) source by source', async () => {
    const bodies: Record<string, string> = { truncated: '{"host": {"owner_team": "sea', string: '"ok"', nothing: 'null', empty: '' };
    sources.routes.set('/garbage/', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(bodies[req.rawPath.split('/')[2]!]);
    });
    const garbage = Object.keys(bodies).map((name) => ({ name, url: `${sources.url}/garbage/${name}`, fields: { [`f_${name}`]: 'host.owner_team' }, show: { owner: 'host.owner_team' } }));
    const { outcome } = await run(context([...garbage, tempo()]));
    expect(outcome.status).toBe('succeeded');
    expect(fact(outcome, 'truncated')).toMatch(/^FAILED: answered HTTP 200 with a body that is not JSON \(application\/json\)/);
    expect(fact(outcome, 'empty')).toBe('FAILED: answered with an empty body');
    expect(fact(outcome, 'string owner')).toBe('(nothing in the answer)');
    expect(fact(outcome, 'field f_nothing')).toBe('not set: nothing at host.owner_team in the answer; left as it was');
    expect(flashduty.fieldValues(INCIDENT_ID)).toEqual({ trace_id: 'aaa111' });
  });

  it('fails, writing no field, when no source answered', async () => {
    sources.routes.set('/broken/', (_req, res) => json(res, 503, { error: 'down' }));
    const { outcome } = await run(context([{ name: 'a', url: `${sources.url}/broken/a`, fields: { x: 'x' } }, { name: 'b', url: `${sources.url}/nowhere` }]));
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toBe('0 of 2 sources answered; no field was changed');
    expect(resets()).toHaveLength(0);
  });

  it('fetches the alerts when the click carries none, and templates from their labels', async () => {
    flashduty.intercept = ({ path }) =>
      path === '/incident/alert/list'
        ? { status: 200, body: JSON.stringify({ request_id: 'r', data: { total: 1, items: [{ alert_id: 'a1', labels: { service: 'checkout', resource: 'es.nj.01' } }] } }) }
        : undefined;
    const { outcome } = await run(context([tempo()], { incident: { alerts: [], labels: {} } }));
    expect(flashduty.calls.find((c) => c.path === '/incident/alert/list')?.body).toMatchObject({ incident_id: INCIDENT_ID });
    expect(sources.received[0]!.query).toContainEqual(['tags', 'service.name=checkout']);
    expect(fact(outcome, 'alerts')).toBe('the push carried none; 1 listed by FlashDuty, labels taken from the first');
  });

  it('retries the click (throws) when FlashDuty cannot list the alerts, rather than enrich half-blind', async () => {
    flashduty.intercept = ({ path }) => (path === '/incident/alert/list' ? { status: 503, body: JSON.stringify({ request_id: 'r', error: { code: 'ServiceUnavailable', message: 'busy' } }) } : undefined);
    await expect(enrich.run(context([tempo()], { incident: { alerts: [] } }))).rejects.toBeInstanceOf(FlashDutyError);
    expect(sources.received).toHaveLength(0);
  });

  it('in dry-run sends only read-only requests, writes no field, and shows the exact requests with secrets redacted', async () => {
    const post = { name: 'hook', url: `${sources.url}/echo/hook`, method: 'POST', body: { service: '{{ labels.service }}' } };
    const { outcome, comment } = await run(context([cmdb(), post], { dryRun: true }));
    expect(outcome.status).toBe('dry-run');
    expect(resets()).toHaveLength(0);
    expect(sources.received.map((r) => `${r.method} ${r.rawPath}`)).toEqual(['GET /cmdb/hosts/es.nj.01']);
    expect(fact(outcome, 'cmdb request')).toBe(`GET ${sources.url}/cmdb/hosts/es.nj.01 (authorization: ***)`);
    expect(fact(outcome, 'hook request')).toBe(`POST ${sources.url}/echo/hook (content-type: application/json) body {"service":"engine"}`);
    expect(fact(outcome, 'hook')).toBe('skipped: not sent in dry-run (a POST that is not marked read_only)');
    expect(fact(outcome, 'fields it would set')).toContain('impacted_services=["order","passport"]');
    expect(comment).not.toContain(TOKEN);
  });

  it('overwrites the same fields when run again, instead of piling up (field/reset sets the value outright)', async () => {
    const first = context([tempo(), cmdb()]);
    await run(first);
    TRACES.traces[1]!.durationMs = 9000;
    try {
      await run(first); // the same click run again (a lost answer), then a later re-enrichment
      await run(context([tempo(), cmdb()]));
    } finally {
      TRACES.traces[1]!.durationMs = 12;
    }
    const names = resets().map((c) => c.body.field_name);
    expect(names).toHaveLength(15);
    expect(new Set(names)).toEqual(new Set(['trace_id', 'owner_team', 'service_tier', 'impacted_services', 'tier_1']));
    expect(flashduty.fieldValues(INCIDENT_ID)).toEqual({ trace_id: 'bbb222', owner_team: 'search-platform', service_tier: 'tier-1', impacted_services: ['order', 'passport'], tier_1: true });
  });

  it('reports a field FlashDuty refuses and writes the rest; retries the click when FlashDuty is down', async () => {
    flashduty.intercept = ({ path, body }) =>
      path === '/incident/field/reset' && (body as { field_name?: string }).field_name === 'service_tier'
        ? { status: 400, body: JSON.stringify({ request_id: 'r', error: { code: 'InvalidParameter', message: 'field value not in options' } }) }
        : undefined;
    const { outcome } = await run(context([cmdb()]));
    expect(fact(outcome, 'field service_tier')).toBe('not set: FlashDuty refused it (InvalidParameter)');
    expect(Object.keys(flashduty.fieldValues(INCIDENT_ID)).sort()).toEqual(['impacted_services', 'owner_team', 'tier_1']);

    flashduty.intercept = ({ path }) => (path === '/incident/field/reset' ? { status: 500, body: JSON.stringify({ request_id: 'r', error: { code: 'InternalError', message: 'x' } }) } : undefined);
    await expect(enrich.run(context([cmdb()]))).rejects.toBeInstanceOf(FlashDutyError);
  });

  it('says when a field has nothing in the answer or the wrong shape, and leaves it as it was', async () => {
    const odd = { name: 'cmdb', url: `${sources.url}/cmdb/hosts/x`, headers: cmdb().headers, fields: { missing: 'host.nope', tier_1: { path: 'host.dependents', type: 'checkbox' } } };
    const { outcome } = await run(context([odd]));
    expect(fact(outcome, 'field missing')).toBe('not set: nothing at host.nope in the answer; left as it was');
    expect(fact(outcome, 'field tier_1')).toBe('not set: a checkbox field takes true or false, got a list of 3; left as it was');
    expect(resets()).toHaveLength(0);
  });
});
