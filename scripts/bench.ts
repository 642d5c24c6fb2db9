/**
 * `npm run bench`: the figures behind the 1-second promise, measured side by side in one run on
 * this machine, printed as a table (each figure with its target beside it) and written to
 * results/bench-<time>.json. It reports against the targets; it does not fail on noise.
 *
 *   1. Ack latency at concurrency 1 and 50: the receiver (verify, validate, enqueue to the SQS
 *      emulator) next to two floors, a bare HTTP server and one that only does SendMessage, in
 *      alternating rounds.
 *   2. Big incidents: the same with a 900-alert push of about 400 KB, which the receiver compacts
 *      to fit one message; the enqueue floor sends that compacted body.
 *   3. Cold start: module init of the bundled receiver vs a bundle holding only the SQS client; and
 *      the cold path, a fresh process's first answer with its tokens read from SSM (stand-in
 *      answering after 20 ms) vs the reference's first send (scripts/bench/cold-path.ts).
 *   4. Bundle sizes of every function, as the deploy tool packages them; every worker's module init
 *      (with source maps on, as deployed) and zip vs a bundle holding only the SQS and DynamoDB clients.
 *   5. End to end: click to write-back comment, locally, with the stand-in FlashDuty API.
 *   6. Drain: a burst of clicks over many incidents through the whole local stack, to the last
 *      write-back, counting lost and duplicated comments (scripts/bench/drain.ts).
 *
 * Options (defaults in DEFAULTS): --requests 2000, --big-requests 1000, --cold-runs 41,
 * --cold-path-runs 21, --e2e 200, --drain 2000, --drain-incidents 500, --storm 10000 (events per
 * target in the Event storm row; 0 skips it). Smaller numbers give a quicker, noisier run. --only ROW[,ROW] runs only those
 * rows: ack, big, cold, sizes, e2e, drain, storm.
 */
import './bench/quiet';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateQueueCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import sample from '../tests/fixtures/custom-action.json';
import { BUDGETS, budgetOf, bundleSizes } from '../deploy/budgets';
import { workerFunctionKey } from '../deploy/serverless-parts';
import { bundleEntry, bundleWorker } from '../deploy/bundle';
import { packageStack } from '../deploy/package-offline';
import { startSqsEmulator } from '../local/sqs-emulator';
import { ACTIONS } from '../lib/actions/registry';
import { BIG_ALERTS, bigIncident } from './bench/big-incident';
import { coldPath, median, pairedRatio, SSM_DELAY_MS } from './bench/cold-path';
import { drain } from './bench/drain';
import { runLoad, startTarget } from './bench/harness';
import { eventStorm, select } from './bench/event-storm';
import { ROOT } from './local-env';

const { esbuildOptions } = require('../deploy/esbuild.config.cjs') as { esbuildOptions: Record<string, unknown> };

const TOKEN = 'bench-token-0123456789abcdef';
const TARGETS = { p99Ratio: 1.3, initRatio: 1.2, coldPathRatio: 1.3, receiverZipKb: 150, unmatchedRatio: 1.5 };
/** The sample click, with __EVENT_ID__ and __EVENT_TIME__ for load.mjs to fill in. */
const SMALL_TEMPLATE = JSON.stringify({ ...sample, event_id: '__EVENT_ID__', event_time: 0 }).replace('"event_time":0', '"event_time":__EVENT_TIME__');

/**
 * The options and their defaults. p99 over a few hundred requests is the third-worst of them, so
 * the rows that are cheap to run take more samples (big incidents, cold starts).
 */
const DEFAULTS = {
  requests: 2000,
  'big-requests': 1000,
  'cold-runs': 41,
  'cold-path-runs': 21,
  e2e: 200,
  drain: 2000,
  'drain-incidents': 500,
  storm: 10_000,
};

function option(name: keyof typeof DEFAULTS): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return DEFAULTS[name];
  const given = process.argv[at + 1] ?? '';
  if (!/^\d+$/.test(given)) throw new UsageError(`--${name} takes a whole number, got "${given}"`);
  return Number(given);
}

/** A mistake in the command line: said in one line, without a stack. */
class UsageError extends Error {}

/** A misspelt option would silently run the default: refuse what is not an option. */
function checkOptions(): void {
  const known = [...Object.keys(DEFAULTS), 'only'].map((name) => `--${name}`);
  const unknown = process.argv.slice(2).filter((arg) => arg.startsWith('--') && !known.includes(arg));
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown.join(', ')}; the options are ${known.join(', ')}`);
}

interface Stats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  perSecond: number;
  non200: number;
}

function stats(latencies: number[], wallMs: number, statuses: number[] = []): Stats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
    perSecond: (latencies.length / wallMs) * 1000,
    non200: statuses.filter((s) => s !== 200).length,
  };
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

type Kind = 'bare' | 'enqueue' | 'receiver';

interface AckRun {
  /** The push to send, with __EVENT_ID__ and __EVENT_TIME__ for load.mjs to fill in. */
  template: string;
  kinds: readonly Kind[];
  requests: number;
  /** What the enqueue floor sends instead of the request body (the receiver's compacted message). */
  enqueueBodyFile?: string;
  /** Empty the queues after each round, so big messages do not pile up in the emulator. */
  purge?: boolean;
  /** Settings for the targets beyond the defaults. */
  env?: Record<string, string>;
}

/**
 * Each target gets its own server process (and, for the two that enqueue, its own queue on the one
 * emulator). Rounds alternate between targets, so drift in the machine or in the emulator's state
 * (its queues fill up as the run goes) falls on all of them alike; latencies are pooled over rounds.
 */
async function ackLatency(run: AckRun) {
  const queues = await benchQueues();
  const { emulator, sqs, queueFor } = queues;
  const baseEnv = {
    ...queues.baseEnv,
    ...(run.enqueueBodyFile && { BENCH_ENQUEUE_BODY_FILE: run.enqueueBodyFile }),
    ...run.env,
  };
  const rounds = 4;
  const perRound = Math.ceil(run.requests / rounds);
  const results: Record<string, Record<number, Stats>> = {};
  try {
    for (const concurrency of [1, 50]) {
      const servers = new Map<string, { url: string; queueUrl: string; kill: () => void }>();
      for (const kind of run.kinds) {
        const queueUrl = await queueFor(`${kind}-${concurrency}`);
        servers.set(kind, { ...(await startTarget(kind, { ...baseEnv, QUEUE_URL_ECHO: queueUrl })), queueUrl });
      }
      const pooled = new Map<string, { latencies: number[]; statuses: number[]; wallMs: number }>();
      for (let round = 0; round < rounds; round++) {
        for (const kind of run.kinds) {
          const warmup = Math.min(round === 0 ? 300 : 50, perRound);
          const result = await runLoad({ url: `${servers.get(kind)!.url}/actions/echo`, count: perRound, concurrency, warmup, token: TOKEN, templates: [run.template] });
          const sum = pooled.get(kind) ?? { latencies: [], statuses: [], wallMs: 0 };
          pooled.set(kind, { latencies: [...sum.latencies, ...result.latencies], statuses: [...sum.statuses, ...result.statuses], wallMs: sum.wallMs + result.wallMs });
          if (run.purge) await sqs.send(new PurgeQueueCommand({ QueueUrl: servers.get(kind)!.queueUrl }));
        }
      }
      for (const kind of run.kinds) {
        const result = pooled.get(kind)!;
        (results[kind] ??= {})[concurrency] = stats(result.latencies, result.wallMs, result.statuses);
        servers.get(kind)!.kill();
      }
      process.stderr.write(`  ack latency at concurrency ${concurrency} done\n`);
    }
  } finally {
    sqs.destroy();
    await emulator.stop();
  }
  return results;
}

async function coldStart(runs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  const bundle = async (entry: string, out: string) => {
    await build({ ...esbuildOptions, entryPoints: [join(ROOT, entry)], outfile: join(dir, out), logLevel: 'error' } as never);
    return join(dir, out);
  };
  const receiver = await bundle('functions/receiver.ts', 'receiver.js');
  const reference = await bundle('scripts/bench/reference-handler.ts', 'reference.js');
  const env = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'b',
    AWS_SECRET_ACCESS_KEY: 'b',
    ENABLED_ACTIONS: 'echo',
    QUEUE_URL_ECHO: 'http://127.0.0.1:1/000000000000/q.fifo',
    QUEUE_URL: 'http://127.0.0.1:1/000000000000/q.fifo',
    WEBHOOK_TOKENS: TOKEN,
  };
  const times = { receiver: [] as number[], reference: [] as number[] };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so a busy moment of the machine hits both alike.
    times.receiver.push(await initMs(receiver, env));
    times.reference.push(await initMs(reference, env));
  }
  return { receiverMs: median(times.receiver), referenceMs: median(times.reference), ratio: pairedRatio(times.receiver, times.reference), runs, bundles: { receiver, reference } };
}

/** Milliseconds to load a bundle in a fresh process. */
async function initMs(file: string, env: NodeJS.ProcessEnv, nodeOptions: string[] = []): Promise<number> {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeOptions, '-e', script], { env });
  return Number(stdout);
}


/**
 * Module init of each action's worker bundle and of the SQS+DynamoDB reference, interleaved; and the
 * reference's size deflated as a zip would hold it (bundle and source map), next to the real zips.
 */
/** The least each action needs to start (its required settings); what they say does not matter to module init. */
const ACTION_SETTINGS = {
  ENRICH_SOURCES: JSON.stringify([{ name: 'bench', url: 'http://127.0.0.1:1/x' }]),
  ROLLBACK_TARGETS: JSON.stringify([{ provider: 'webhook', match: {}, url: 'https://deploy.example.com/rollback', secret_param: '/team/rollback-webhook-secret' }]),
  STATUS_PAGE_ID: '1',
  STATUS_PAGE_COMPONENTS: '{"default":["Website"]}',
};

async function workerColdStart(actions: string[], runs: number): Promise<{ init: Record<string, number>; ratio: Record<string, number>; referenceZipBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-workers-'));
  const reference = (await bundleEntry('scripts/bench/reference-worker', dir)).file;
  const files: Record<string, string> = { [REFERENCE_WORKER]: reference };
  for (const action of actions) files[action] = (await bundleWorker(action, join(dir, action))).file;
  const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'b', AWS_SECRET_ACCESS_KEY: 'b', QUEUE_URL: 'http://127.0.0.1:1/000000000000/q.fifo', IDEMPOTENCY_TABLE: 't', FLASHDUTY_APP_KEY: 'k', ...ACTION_SETTINGS };
  const times: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    for (const [name, file] of Object.entries(files)) {
      (times[name] ??= []).push(await initMs(file, { ...env, ACTION_NAME: name }, ['--enable-source-maps']));
    }
  }
  const referenceZipBytes = [reference, `${reference}.map`].reduce((sum, file) => sum + deflateRawSync(readFileSync(file), { level: 9 }).length, 0);
  const each = (of: (xs: number[]) => number) => Object.fromEntries(Object.entries(times).map(([name, xs]) => [name, of(xs)]));
  return { init: each(median), ratio: each((xs) => pairedRatio(xs, times[REFERENCE_WORKER]!)), referenceZipBytes };
}

/**
 * The emulator takes far longer than SQS to accept 50 parallel 256 KB messages (one process parsing
 * them all), so the big-incident row gives the receiver the longest enqueue timeout it allows rather
 * than measure its 503s; the floor has no timeout at all. Non-200 answers are reported either way.
 */
const BIG_ENQUEUE_TIMEOUT_MS = 900;

const REFERENCE_WORKER = 'reference (SQS+DynamoDB)';

async function endToEnd(clicks: number) {
  const { startLocalStack } = await import('../deploy/local');
  const stack = await startLocalStack({ env: { ENABLED_ACTIONS: 'echo', WEBHOOK_TOKENS: TOKEN, ALLOWED_IPS: '127.0.0.1,::1', DRY_RUN: 'true' }, port: 0 });
  const waiting = new Map<string, () => void>();
  stack.flashduty!.onCall = (call) => {
    const id = /event (\S+)$/.exec(String(call.body.comment ?? ''))?.[1];
    if (id) waiting.get(id)?.();
  };
  const latencies: number[] = [];
  const statuses: number[] = [];
  try {
    for (let i = 0; i < clicks; i++) {
      const eventId = `e2e-${i}-${Date.now()}`;
      const commented = new Promise<void>((resolve) => waiting.set(eventId, resolve));
      const started = performance.now();
      const response = await fetch(`${stack.receiverUrl}/actions/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ ...sample, event_id: eventId, event_time: Date.now() }),
      });
      statuses.push(response.status);
      if (response.status !== 200) continue; // refused (a busy machine can miss the enqueue budget): reported, not timed
      await commented;
      latencies.push(performance.now() - started);
    }
  } finally {
    await stack.stop();
  }
  return stats(latencies, latencies.reduce((a, b) => a + b, 0), statuses);
}

interface Verdict {
  what: string;
  value: number;
  target: string;
  ok: boolean;
}

/** An SQS emulator, a way to make a FIFO queue on it, and the environment every target starts with. */
async function benchQueues() {
  const emulator = await startSqsEmulator();
  const sqs = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  const queueFor = async (name: string) =>
    (await sqs.send(new CreateQueueCommand({ QueueName: `bench-${name}.fifo`, Attributes: { FifoQueue: 'true' } }))).QueueUrl!;
  const baseEnv = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'b',
    AWS_SECRET_ACCESS_KEY: 'b',
    AWS_ENDPOINT_URL_SQS: emulator.endpoint,
    ENABLED_ACTIONS: 'echo',
    WEBHOOK_TOKENS: TOKEN,
    ALLOWED_IPS: '127.0.0.1,::1',
    // As deployed: the receiver's log line and metrics are part of what is measured.
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_DISABLED: 'false',
  };
  return { emulator, sqs, queueFor, baseEnv };
}

/**
 * The Event storm row (scripts/bench/event-storm.ts): matched events' p99 against the enqueue
 * floor, unmatched events' p99 against the bare floor.
 */
async function stormLatency(events: number) {
  const { emulator, sqs, queueFor, baseEnv } = await benchQueues();
  try {
    const run = await eventStorm({ events, concurrency: 50, token: TOKEN, env: baseEnv, queueFor });
    const of = (r: { latencies: number[]; statuses: number[] }, wallMs: number) => stats(r.latencies, wallMs, r.statuses);
    return {
      events,
      bare: of(run.bare, run.bare.wallMs),
      enqueue: of(run.enqueue, run.enqueue.wallMs),
      matched: of(select(run.receiver, true), run.receiver.wallMs),
      unmatched: of(select(run.receiver, false), run.receiver.wallMs),
      unmatchedAlone: of(run.unmatched, run.unmatched.wallMs),
    };
  } finally {
    sqs.destroy();
    await emulator.stop();
  }
}

/** The Event storm rows: matched events against the enqueue floor, unmatched ones against the bare floor. */
function stormRows(report: Report, storm: Awaited<ReturnType<typeof stormLatency>>): void {
  report.section(`Event storm: ${storm.events} incident-webhook events per target at concurrency 50, 20% matching a rule (ms)`, 'target', 'p50', 'p95', 'p99', 'max', 'req/s', 'non-200');
  const rows: Array<[string, Stats]> = [
    ['bare floor', storm.bare],
    ['enqueue floor', storm.enqueue],
    ['receiver, matched', storm.matched],
    ['receiver, unmatched in mix', storm.unmatched],
    ['receiver, unmatched only', storm.unmatchedAlone],
  ];
  for (const [name, st] of rows) report.row(name, round(st.p50), round(st.p95), round(st.p99), round(st.max), round(st.perSecond, 0), st.non200);
  report.check('storm: matched p99 / enqueue floor p99', storm.matched.p99 / storm.enqueue.p99, TARGETS.p99Ratio);
  // One request per Lambda instance: an unmatched event never waits behind a matched one (event-storm.ts).
  report.check('storm: unmatched-only p99 / bare floor p99', storm.unmatchedAlone.p99 / storm.bare.p99, TARGETS.unmatchedRatio);
  report.check('storm: unmatched-in-mix p99 / bare floor p99', storm.unmatched.p99 / storm.bare.p99, undefined);
}

/** The printed report: sections of rows, each figure with its target beside it, and the verdicts at the end. */
class Report {
  readonly lines: string[] = [];
  readonly verdicts: Verdict[] = [];
  section(title: string, ...header: string[]): void {
    this.lines.push('', title);
    if (header.length > 0) this.row(...header);
  }
  row(...cells: Array<string | number>): void {
    this.lines.push(cells.map((c, i) => String(c).padStart(i === 0 ? 0 : 10).padEnd(i === 0 ? 28 : 0)).join(''));
  }
  /** Records a ratio or size against its target; returns the cell to print beside the figure. */
  check(what: string, value: number, max: number | undefined, digits = 2): string {
    const ok = max === undefined || value <= max;
    this.verdicts.push({ what, value: round(value, digits), target: max === undefined ? '(reported)' : `<= ${max}`, ok });
    return max === undefined ? `${round(value, digits)}` : `${round(value, digits)} ${ok ? '<=' : 'MISS >'} ${max}`;
  }
  text(): string {
    const verdicts = this.verdicts.map((v) => `  ${v.ok ? 'ok  ' : 'MISS'} ${v.what.padEnd(46)} ${String(v.value).padStart(8)}   ${v.target}`);
    return [...this.lines, '', 'Against the targets', ...verdicts].join('\n');
  }
}

type AckResults = Awaited<ReturnType<typeof ackLatency>>;

/** Ack latency rows for each kind at concurrency 1 and 50, with the receiver's p99 against the enqueue floor's beside it. */
function ackRows(report: Report, ack: AckResults, kinds: readonly Kind[], label: string): void {
  report.row('target @ concurrency', 'p50', 'p95', 'p99', 'max', 'req/s', 'non-200', '  p99 / enqueue floor (target)');
  for (const concurrency of [1, 50]) {
    for (const kind of kinds) {
      const s = ack[kind]![concurrency]!;
      const ratio = kind === 'receiver' ? `  ${report.check(`${label}receiver p99 / enqueue floor p99 @ ${concurrency}`, s.p99 / ack.enqueue![concurrency]!.p99, TARGETS.p99Ratio)}` : '';
      report.row(`${kind} @ ${concurrency}`, round(s.p50), round(s.p95), round(s.p99), round(s.max), round(s.perSecond, 0), s.non200, ratio);
    }
    if (ack.bare) report.check(`${label}receiver p99 / bare floor p99 @ ${concurrency}`, ack.receiver![concurrency]!.p99 / ack.bare[concurrency]!.p99, undefined);
  }
}

/** The rows `--only` can pick (comma-separated); all of them by default. */
const ROWS = ['ack', 'big', 'cold', 'sizes', 'e2e', 'drain', 'storm'] as const;
type Row = (typeof ROWS)[number];

function selectedRows(): Set<Row> {
  const at = process.argv.indexOf('--only');
  if (at < 0) return new Set(option('storm') > 0 ? ROWS : ROWS.filter((row) => row !== 'storm'));
  const asked = (process.argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = asked.filter((row) => !(ROWS as readonly string[]).includes(row));
  if (asked.length === 0 || unknown.length > 0) throw new UsageError(`--only takes rows from ${ROWS.join(', ')} (comma-separated), got "${process.argv[at + 1] ?? ''}"`);
  return new Set(asked as Row[]);
}

/** Measures the selected rows, one after another (never two at once: they share the machine). */
async function measure(rows: Set<Row>, requests: number) {
  const coldRuns = option('cold-runs');
  const step = async <T>(row: Row, what: string, run: () => Promise<T>): Promise<T | undefined> => {
    if (!rows.has(row)) return undefined;
    process.stderr.write(`  ${what}...\n`);
    return run();
  };
  const ack = await step('ack', 'ack latency', () => ackLatency({ template: SMALL_TEMPLATE, kinds: ['bare', 'enqueue', 'receiver'], requests }));
  const big = await step('big', 'big incidents', async () => {
    const incident = bigIncident(262_144);
    const bodyFile = join(mkdtempSync(join(tmpdir(), 'bench-big-')), 'compacted.json');
    writeFileSync(bodyFile, incident.compacted);
    const env = { ENQUEUE_TIMEOUT_MS: String(BIG_ENQUEUE_TIMEOUT_MS) };
    return { incident, ack: await ackLatency({ template: incident.template, kinds: ['enqueue', 'receiver'], requests: option('big-requests'), enqueueBodyFile: bodyFile, purge: true, env }) };
  });
  const cold = await step('cold', 'cold start and cold path', async () => {
    const start = await coldStart(coldRuns);
    return { start, path: await coldPath(start.bundles, option('cold-path-runs'), TOKEN) };
  });
  const sizes = await step('sizes', 'bundle sizes (osls package) and worker init', async () => {
    // enrich, rollback and status-page need their config to package; the examples are what a real stack would ship.
    const packaged = await packageStack('bench', {
      ENABLED_ACTIONS: ACTIONS.map((a) => a.name).join(','),
      ENRICH_SOURCES_FILE: 'deploy/enrich-sources.local.yaml',
      ROLLBACK_TARGETS: ACTION_SETTINGS.ROLLBACK_TARGETS,
      STATUS_PAGE_ID: '1',
      STATUS_PAGE_COMPONENTS: '{"default":["Website"]}',
      // The local example sources carry an inline token; sizes are all this package is for.
      DEPLOY_ALLOW: 'plaintext-secrets',
    });
    return { zips: bundleSizes(packaged.dir), workers: await workerColdStart(ACTIONS.map((a) => a.name), coldRuns), runs: coldRuns };
  });
  const e2e = await step('e2e', 'end to end', () => endToEnd(option('e2e')));
  const drained = await step('drain', 'drain', () => drain(option('drain'), option('drain-incidents'), TOKEN));
  const storm = await step('storm', 'event storm', () => stormLatency(option('storm')));
  return { ack, big, cold, sizes, e2e, drain: drained, storm };
}

async function main(): Promise<void> {
  checkOptions();
  const rows = selectedRows();
  const requests = option('requests');
  const started = new Date();
  process.stderr.write(`bench: ${[...rows].join(', ')}, ${requests} requests per target and concurrency (big incidents: ${option('big-requests')}), on ${process.version}\n`);
  const figures = await measure(rows, requests);

  const report = new Report();
  report.lines.push(`flashduty-actions benchmark, ${started.toISOString()}, Node ${process.version}, ${requests} requests per row`);
  if (figures.ack) {
    report.section('Ack latency (ms)');
    ackRows(report, figures.ack, ['bare', 'enqueue', 'receiver'], '');
  }
  if (figures.big) bigRows(report, figures.big);
  if (figures.cold) coldRows(report, figures.cold.start, figures.cold.path);
  if (figures.sizes) sizeRows(report, figures.sizes.zips, figures.sizes.workers, figures.sizes.runs);
  if (figures.e2e) {
    const e2e = figures.e2e;
    report.section(`End to end: click -> write-back comment, ${option('e2e')} clicks one at a time (ms)`, '', 'p50', 'p95', 'p99', 'max', 'non-200');
    report.row('echo, dry-run', round(e2e.p50), round(e2e.p95), round(e2e.p99), round(e2e.max), e2e.non200);
  }
  if (figures.drain) drainRows(report, figures.drain);
  if (figures.storm) stormRows(report, figures.storm);
  console.log(report.text());
  console.log(`\nwhole run: ${round((Date.now() - started.getTime()) / 1000, 0)} s`);

  const file = join(ROOT, 'results', `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(ROOT, 'results'), { recursive: true });
  const saved = { ...figures, big: figures.big && { bytes: figures.big.incident.bytes, ack: figures.big.ack }, cold: figures.cold && { ...figures.cold, start: { ...figures.cold.start, bundles: undefined } } };
  writeFileSync(file, `${JSON.stringify({ at: started.toISOString(), node: process.version, requests, ...saved, verdicts: report.verdicts }, null, 2)}\n`);
  console.log(`\nwritten to ${file}`);
}

function bigRows(report: Report, big: { incident: ReturnType<typeof bigIncident>; ack: AckResults }): void {
  const { incident, ack } = big;
  report.section(`Big incidents: ack latency (ms), ${BIG_ALERTS}-alert push of ${round(incident.bytes / 1024, 0)} KB compacted to ${round(Buffer.byteLength(incident.compacted) / 1024, 0)} KB; the floor enqueues that compacted body`);
  ackRows(report, ack, ['enqueue', 'receiver'], 'big: ');
  report.row(`(receiver ENQUEUE_TIMEOUT_MS=${BIG_ENQUEUE_TIMEOUT_MS} here: the emulator, not SQS, is slow with 256 KB messages)`);
  for (const concurrency of [1, 50]) report.check(`big: receiver non-200 @ ${concurrency}`, ack.receiver![concurrency]!.non200, 0, 0);
}

function coldRows(report: Report, cold: Awaited<ReturnType<typeof coldStart>>, path: Awaited<ReturnType<typeof coldPath>>): void {
  report.section(`Cold start: module init, median of ${cold.runs} fresh processes (ms); ratios are medians of back-to-back pairs`, 'bundle', 'init', '  / reference (target)');
  report.row('receiver', round(cold.receiverMs), `  ${report.check('receiver init / reference init', cold.ratio, TARGETS.initRatio)}`);
  report.row('reference (SQS only)', round(cold.referenceMs));
  report.section(
    `Cold path: fresh process to first answer, tokens from WEBHOOK_TOKENS_PARAM (SSM stand-in answering after ${SSM_DELAY_MS} ms), median of ${path.runs} (ms); ratios as above`,
    'bundle',
    'first',
    '  / reference (target)',
  );
  report.row('receiver', round(path.receiverMs), `  ${report.check('cold path: receiver first answer / reference first send', path.receiverRatio, TARGETS.coldPathRatio)}`);
  report.row('receiver, tokens inline', round(path.inlineMs), `  ${round(path.inlineRatio)} (no target: without the SSM read)`);
  report.row('reference (SQS only, 1 send)', round(path.referenceMs));
}

function sizeRows(report: Report, sizes: ReturnType<typeof bundleSizes>, workers: Awaited<ReturnType<typeof workerColdStart>>, runs: number): void {
  report.section('Bundle sizes (zip, as osls packages them)', 'function', 'zip KB', '  budget');
  for (const size of sizes) {
    const budget = budgetOf(size.name);
    const cell = size.name === 'receiver' ? report.check('receiver zip (KB)', size.bytes / 1024, TARGETS.receiverZipKb, 1) : size.name === 'echoWorker' ? report.check('echo worker zip (KB)', size.bytes / 1024, BUDGETS.echoWorker! / 1024, 1) : `(${budget === undefined ? 'none' : budget / 1024})`;
    report.row(size.name, round(size.bytes / 1024, 1), `  ${cell}`);
  }
  report.section(`Worker bundles: module init with source maps, median of ${runs} fresh processes (ms), and zip (KB)`, 'bundle', 'init', 'zip KB', '  init / reference (paired)');
  for (const [name, ms] of Object.entries(workers.init)) {
    const reference = name === REFERENCE_WORKER;
    const zip = reference ? workers.referenceZipBytes : sizes.find((s) => s.name === workerFunctionKey(name))?.bytes;
    report.row(name, round(ms), zip === undefined ? '?' : round(zip / 1024, 1), reference ? '' : `  ${report.check(`${name} worker init / reference init`, workers.ratio[name]!, undefined)}`);
  }
}

function drainRows(report: Report, drained: Awaited<ReturnType<typeof drain>>): void {
  report.section(
    `Drain: ${drained.clicks} clicks over ${drained.incidents} incidents through the local stack, ${drained.instances} echo worker instances, FlashDuty limits lifted`,
    '',
    'seconds',
    'clicks/s',
    'lost',
    'duplicated',
    'non-200',
  );
  report.row('to the last write-back', round(drained.seconds), round(drained.perSecond, 0), drained.lost, drained.duplicated, drained.refused);
  report.check('drain: clicks lost', drained.lost, 0, 0);
  report.check('drain: clicks written back twice', drained.duplicated, 0, 0);
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? `bench: ${error.message}` : error);
  process.exit(1);
});
