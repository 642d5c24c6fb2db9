import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a stand-in source received: the raw path (still encoded) and the decoded query. */
export interface SourceCall {
  method: string;
  rawPath: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
}

/** The bearer token the stand-in CMDB wants (deploy/enrich-sources.local.yaml gives it inline). */
export const LOCAL_CMDB_TOKEN = 'local-cmdb-token';

const HOSTS: Record<string, object> = {
  'es.nj.01': {
    name: 'es.nj.01',
    ip: '10.206.0.21',
    owner_team: 'search-platform',
    oncall: 'search-platform-primary',
    tier: 'tier-1',
    services: ['engine'],
    upstream: ['api-gateway', 'passport'],
    dependents: ['order', 'passport'],
  },
};

/**
 * Local stand-ins for the three services the example `enrich` config asks: a Tempo trace search
 * (`/tempo/api/search`), a Loki log query (`/loki/api/v1/query_range`) and a CMDB host lookup
 * (`/cmdb/api/v1/hosts/<name>`, bearer token), answering with the JSON shapes the real ones use.
 * Answers echo what was asked (service, host), so a comment shows the templating at work.
 */
export class SourcesStandIn {
  readonly calls: SourceCall[] = [];
  private server?: Server;

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    this.calls.push({ method: req.method ?? 'GET', rawPath, query, headers: req.headers });
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (rawPath === '/tempo/api/search') return reply(200, tempoSearch(query));
    if (rawPath === '/loki/api/v1/query_range') return reply(200, lokiQuery(query));
    const host = /^\/cmdb\/api\/v1\/hosts\/([^/]+)$/.exec(rawPath)?.[1];
    if (host !== undefined) {
      if (req.headers.authorization !== `Bearer ${LOCAL_CMDB_TOKEN}`) return reply(401, { error: 'unauthorized' });
      const found = HOSTS[decodeURIComponent(host)];
      return found ? reply(200, { host: found }) : reply(404, { error: `no host ${decodeURIComponent(host)}` });
    }
    reply(404, { error: `no route ${rawPath}` });
  }
}

/** Tempo's `/api/search` answer for `tags=service.name=<service>`. */
function tempoSearch(query: Record<string, string>) {
  const service = /service\.name=(\S+)/.exec(query.tags ?? '')?.[1] ?? 'unknown';
  const start = Number(query.start ?? 0) * 1e9;
  const trace = (id: string, name: string, offsetS: number, durationMs: number) => ({
    traceID: id,
    rootServiceName: service,
    rootTraceName: name,
    startTimeUnixNano: String(start + offsetS * 1e9),
    durationMs,
  });
  return {
    traces: [
      trace('2f3e0cee77ae5dc9c17ade3689eb2e54', 'POST /search', 410, 4210),
      trace('7b1d2c3a4e5f60718293a4b5c6d7e8f9', 'GET /index/status', 455, 380),
      trace('0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d', 'POST /bulk', 530, 2875),
    ],
    metrics: { inspectedTraces: 1842, inspectedBytes: '512000', completedJobs: 1, totalJobs: 1 },
  };
}

/** Loki's `/loki/api/v1/query_range` answer: streams of `[ns timestamp, line]`. */
function lokiQuery(query: Record<string, string>) {
  const service = /service="([^"]*)"/.exec(query.query ?? '')?.[1] ?? 'unknown';
  const end = /^\d+$/.test(query.end ?? '') ? BigInt(query.end!) : 0n;
  const at = (offsetS: number) => String(end - BigInt(offsetS) * 1_000_000_000n);
  return {
    status: 'success',
    data: {
      resultType: 'streams',
      result: [
        {
          stream: { service, level: 'error', pod: `${service}-7d9f8b-x2k4q` },
          values: [
            [at(310), 'ERROR search thread pool rejected execution (queue capacity 1000)'],
            [at(372), 'ERROR circuit breaker [parent] tripped: data too large'],
            [at(401), 'ERROR GC overhead: spent 4.1s of the last 5s collecting'],
          ],
        },
      ],
      stats: { summary: { totalLinesProcessed: 20418, execTime: 0.042 } },
    },
  };
}
