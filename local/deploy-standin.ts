import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the stand-in received. Headers are lower-case. */
export interface DeployCall {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
  status: number;
}

/**
 * A test's answer to a call: a reply (`body` as JSON, or `html` as a page), `'hang'` (never answer),
 * `'hang-after'` (act, then never answer), `'html-after'` (act, then answer with an HTML page, as a
 * proxy in between might), or undefined for normal handling.
 */
export type DeployInterceptor = (
  call: { method: string; path: string; attempt: number; headers: Record<string, string>; body: string },
) => { status: number; body?: unknown; html?: string } | 'hang' | 'hang-after' | 'html-after' | undefined;

const DEFAULT_RUN_NAMES: Array<[string, string]> = [['acme/shop/rollback.yml', 'Rollback ${{ inputs.click }}']];

interface GithubRun {
  id: number;
  repo: string;
  workflow: string;
  head_branch: string;
  event: 'workflow_dispatch';
  created_at: string;
  html_url: string;
  /** The workflow's `run-name` with its inputs filled in, else the workflow's name, as GitHub shows it. */
  display_title: string;
  /** Kept for tests; GitHub's run list does not show them. */
  inputs: Record<string, string>;
  /** When the run shows up in the run list (ms): GitHub lists a dispatched run a few seconds late. */
  listed_from: number;
}
interface Pipeline {
  id: number;
  project: string;
  ref: string;
  source: 'trigger';
  created_at: string;
  web_url: string;
  /** The trigger's variables: served by the variables endpoint only, as GitLab's list does not show them. */
  variables: Record<string, string>;
}

/**
 * One local server standing in for the deploy platforms rollback talks to, each under its own
 * prefix: GitHub's REST API at `/github` (workflow dispatch and run list; `runDetails = false`
 * plays an older GitHub Enterprise that refuses `return_run_details`), GitLab's at `/gitlab`
 * (pipeline trigger, pipeline list and, with the read token, a pipeline's variables), and a
 * generic webhook receiver at `/hook/...` that checks the signature. Tokens, repositories and
 * workflows it knows are fields a test can change.
 */
export class DeployStandIn {
  readonly calls: DeployCall[] = [];
  readonly runs: GithubRun[] = [];
  readonly pipelines: Pipeline[] = [];
  intercept: DeployInterceptor | undefined;
  /** Called after every answered call (the local stack prints dispatches). */
  onCall: ((call: DeployCall) => void) | undefined;
  githubToken = 'local-github-token';
  /** `owner/repo/workflow` -> the inputs the workflow declares. */
  workflows = new Map<string, string[]>([['acme/shop/rollback.yml', ['service', 'incident', 'reason', 'click']]]);
  /** `owner/repo/workflow` -> its `run-name`; only `${{ inputs.<name> }}` is filled in. */
  runNames = new Map<string, string>(DEFAULT_RUN_NAMES);
  runDetails = true;
  /** How long after it starts a run shows up in the run list (ms). */
  listLagMs = 0;
  gitlabTriggerToken = 'local-gitlab-trigger-token';
  gitlabReadToken = 'local-gitlab-read-token';
  projects = new Set(['acme/shop', '42']);
  refs = new Set(['main', 'production']);
  /** Signature key the webhook receiver checks, when set. */
  webhookSecret: string | undefined = 'local-webhook-secret';
  origin = '';
  private server?: Server;
  private readonly attempts = new Map<string, number>();
  private nextId = 9_000_000_001;

  reset(): void {
    this.calls.length = 0;
    this.runs.length = 0;
    this.pipelines.length = 0;
    this.attempts.clear();
    this.intercept = undefined;
    this.runDetails = true;
    this.listLagMs = 0;
    this.runNames = new Map(DEFAULT_RUN_NAMES);
  }

  /** Dispatch, trigger and webhook calls (not lookups). */
  dispatches(): DeployCall[] {
    return this.calls.filter((c) => c.method !== 'GET');
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections(); // also the requests a test left hanging
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const call: DeployCall = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body: Buffer.concat(chunks).toString('utf8'), status: 0 };
    const attempt = (this.attempts.get(call.path) ?? 0) + 1;
    this.attempts.set(call.path, attempt);
    const intercepted = this.intercept?.({ method: call.method, path: call.path, attempt, headers, body: call.body });
    if (intercepted === 'hang') return void this.calls.push(call);
    let answer: { status: number; body?: unknown; html?: string };
    try {
      answer = typeof intercepted === 'object' ? intercepted : this.route(call);
    } catch (error) {
      answer = { status: 500, body: { message: (error as Error).message } };
    }
    call.status = intercepted === 'hang-after' ? 0 : answer.status;
    this.calls.push(call);
    if (intercepted === 'hang-after') return;
    this.onCall?.(call);
    const html = intercepted === 'html-after' ? '<html><body>Signed in through the proxy</body></html>' : answer.html;
    res.writeHead(answer.status, { 'content-type': html === undefined ? 'application/json' : 'text/html' });
    res.end(html ?? (answer.body === undefined ? '' : JSON.stringify(answer.body)));
  }

  private route(call: DeployCall): { status: number; body: unknown } {
    const github = /^\/github\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/(dispatches|runs)$/.exec(call.path);
    if (github) return this.github(call, `${decodeURIComponent(github[1]!)}/${decodeURIComponent(github[2]!)}`, decodeURIComponent(github[3]!), github[4]!);
    const gitlab = /^\/gitlab\/projects\/([^/]+)\/(trigger\/pipeline|pipelines|pipelines\/\d+\/variables)$/.exec(call.path);
    if (gitlab) return this.gitlab(call, decodeURIComponent(gitlab[1]!), gitlab[2]!);
    if (call.path.startsWith('/hook/')) return this.webhook(call);
    return { status: 404, body: { message: 'Not Found' } };
  }

  private github(call: DeployCall, repo: string, workflow: string, what: string): { status: number; body: unknown } {
    if (call.headers.authorization !== `Bearer ${this.githubToken}`) return { status: 401, body: { message: 'Bad credentials' } };
    if (call.headers['x-github-api-version'] === undefined || call.headers.accept !== 'application/vnd.github+json') return { status: 400, body: { message: 'missing API version or accept header' } };
    const declared = this.workflows.get(`${repo}/${workflow}`);
    if (!declared) return { status: 404, body: { message: 'Not Found' } };
    if (what === 'runs') {
      const since = Date.parse((call.query.get('created') ?? '>=1970-01-01T00:00:00Z').replace('>=', ''));
      const runs = this.runs.filter((r) => r.repo === repo && r.workflow === workflow && r.event === call.query.get('event') && Date.parse(r.created_at) >= since && r.listed_from <= Date.now());
      const page = [...runs].reverse().slice(0, Number(call.query.get('per_page') ?? 30));
      return { status: 200, body: { total_count: runs.length, workflow_runs: page.map(({ inputs: _, listed_from: __, ...listed }) => listed) } };
    }
    const body = JSON.parse(call.body || '{}') as { ref?: string; inputs?: Record<string, string>; return_run_details?: boolean };
    if (body.return_run_details !== undefined && !this.runDetails) return { status: 400, body: { message: 'Invalid request.\n\n"return_run_details" is not a permitted key.' } };
    if (!body.ref || !this.refs.has(body.ref)) return { status: 422, body: { message: `No ref found for: ${body.ref}` } };
    const unexpected = Object.keys(body.inputs ?? {}).filter((name) => !declared.includes(name));
    if (unexpected.length) return { status: 422, body: { message: `Unexpected inputs provided: ${JSON.stringify(unexpected)}` } };
    const id = this.nextId++;
    const run: GithubRun = {
      id,
      repo,
      workflow,
      head_branch: body.ref,
      event: 'workflow_dispatch',
      created_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      html_url: `${this.origin}/github-web/${repo}/actions/runs/${id}`,
      display_title: (this.runNames.get(`${repo}/${workflow}`) ?? workflow).replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_, name: string) => body.inputs?.[name] ?? ''),
      inputs: body.inputs ?? {},
      listed_from: Date.now() + this.listLagMs,
    };
    this.runs.push(run);
    if (!body.return_run_details) return { status: 204, body: undefined };
    return { status: 200, body: { workflow_run_id: id, run_url: `${this.origin}/github/repos/${repo}/actions/runs/${id}`, html_url: run.html_url } };
  }

  private gitlab(call: DeployCall, project: string, what: string): { status: number; body: unknown } {
    if (!this.projects.has(project)) return { status: 404, body: { message: '404 Project Not Found' } };
    if (what !== 'trigger/pipeline' && call.headers['private-token'] !== this.gitlabReadToken) return { status: 401, body: { message: '401 Unauthorized' } };
    if (what === 'pipelines') {
      const after = Date.parse(call.query.get('updated_after') ?? '1970-01-01T00:00:00Z');
      const listed = this.pipelines.filter((p) => p.project === project && p.ref === call.query.get('ref') && Date.parse(p.created_at) >= after);
      return { status: 200, body: listed.slice(0, Number(call.query.get('per_page') ?? 20)).map(({ variables: _, ...shown }) => shown) };
    }
    if (what.endsWith('/variables')) {
      const pipeline = this.pipelines.find((p) => p.project === project && String(p.id) === what.split('/')[1]);
      if (!pipeline) return { status: 404, body: { message: '404 Not found' } };
      return { status: 200, body: Object.entries(pipeline.variables).map(([key, value]) => ({ variable_type: 'env_var', key, value })) };
    }
    const form = new URLSearchParams(call.body);
    if (form.get('token') !== this.gitlabTriggerToken) return { status: 404, body: { message: '404 Not Found' } };
    const ref = form.get('ref') ?? '';
    if (!this.refs.has(ref)) return { status: 400, body: { message: { base: ['Reference not found'] } } };
    const variables = Object.fromEntries([...form].filter(([key]) => /^variables\[.+\]$/.test(key)).map(([key, value]) => [key.slice(10, -1), value]));
    const id = this.nextId++;
    const pipeline: Pipeline = { id, project, ref, source: 'trigger', created_at: new Date().toISOString(), web_url: `${this.origin}/gitlab-web/${project}/-/pipelines/${id}`, variables };
    this.pipelines.push(pipeline);
    return { status: 201, body: { id, ref, status: 'created', web_url: pipeline.web_url } };
  }

  private webhook(call: DeployCall): { status: number; body: unknown } {
    if (this.webhookSecret !== undefined && !verifySignature(this.webhookSecret, call.headers, call.body)) return { status: 401, body: { message: 'bad signature' } };
    const delivery = call.headers['x-flashduty-actions-delivery'] ?? '';
    return { status: 202, body: { id: `deploy-${delivery.slice(0, 12)}`, url: `${this.origin}/hook-web/deploys/${delivery}` } };
  }
}

/** The receiver's check, as the README shows it: HMAC over "<timestamp>.<body>", five minutes of skew at most. */
export function verifySignature(secret: string, headers: Record<string, string | undefined>, body: string, nowSeconds = Date.now() / 1000): boolean {
  const timestamp = headers['x-flashduty-actions-timestamp'] ?? '';
  const given = headers['x-flashduty-actions-signature'] ?? '';
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

/**
 * The rollback targets `npm start` uses when ROLLBACK_TARGETS is not set, all pointing at the
 * stand-in: the sample click (service=engine) dispatches the GitHub workflow; payments goes to the
 * GitLab pipeline; anything else to the signed webhook.
 */
export function localRollbackTargets(stand: DeployStandIn): unknown[] {
  const { origin } = stand;
  return [
    {
      provider: 'github',
      name: 'shop (GitHub stand-in)',
      match: { service: 'engine' },
      repo: 'acme/shop',
      workflow: 'rollback.yml',
      ref: 'main',
      // `click` is shown in the stand-in workflow's run-name, so a redelivered click finds its run (README, "Never twice").
      inputs: { service: '{{ labels.service }}', incident: '{{ incident.incident_id }}', reason: 'FlashDuty: {{ incident.title }}', click: '{{ click_key }}' },
      api_url: `${origin}/github`,
      token: stand.githubToken,
    },
    {
      provider: 'gitlab',
      name: 'payments (GitLab stand-in)',
      match: { service: ['payments', 'billing'] },
      project: 'acme/shop',
      ref: 'production',
      variables: { SERVICE: '{{ labels.service }}', INCIDENT: '{{ incident.incident_id }}', CLICK: '{{ click_key }}' },
      api_url: `${origin}/gitlab`,
      token: stand.gitlabTriggerToken,
      read_token: stand.gitlabReadToken,
    },
    { provider: 'webhook', name: 'anything else (webhook stand-in)', url: `${origin}/hook/rollback`, secret: stand.webhookSecret },
  ];
}
