/**
 * `npm run bench`: the figures behind the 1-second promise, measured side by side in one run on
 * this machine, printed as a table and written to results/bench-<time>.json. It reports against
 * the targets; it does not fail on noise.
 *
 *   1. Ack latency at concurrency 1 and 50: the receiver (verify, validate, enqueue to the SQS
 *      emulator) next to two floors, a bare HTTP server and one that only does SendMessage, in
 *      alternating rounds.
 *   2. Cold start: module init of the bundled receiver vs a bundle holding only the SQS client.
 *   3. Bundle sizes of every function, as the deploy tool packages them; each worker's module init
 *      (with source maps on, as deployed) vs a bundle holding only the SQS and DynamoDB clients.
 *   4. End to end: click to write-back comment, locally, with the stand-in FlashDuty API.
 *
 *   5. Event storm: incident-webhook events to POST /events at concurrency 50, 20% matching a rule;
 *      matched p99 against the enqueue floor, unmatched p99 against the bare floor.
 *
 * Options: --requests N (default 2000), --cold-runs N (default 25), --e2e N (default 200),
 * --storm N (events per target, default 10000; 0 skips the row), --only storm (that row alone).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import sample from '../tests/fixtures/custom-action.json';
import { BUDGETS, bundleSizes, WORKER_BUDGET } from '../deploy/budgets';
import { bundleEntry, bundleWorker } from '../deploy/bundle';
import { packageStack } from '../deploy/package-offline';
import { startSqsEmulator } from '../lib/local/sqs-emulator';
import { ROOT } from './local-env';
import { eventStorm, select } from './bench/event-storm';
import { runLoad, startTarget } from './bench/harness';

const { esbuildOptions } = require('../deploy/esbuild.config.cjs') as { esbuildOptions: Record<string, unknown> };

const TOKEN = 'bench-token-0123456789abcdef';
const TARGETS = { p99Ratio: 1.3, initRatio: 1.2, receiverZipKb: 150, unmatchedRatio: 1.5 };

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
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

/**
 * Each target gets its own server process (and, for the two that enqueue, its own queue on the one
 * emulator). Rounds alternate between targets, so drift in the machine or in the emulator's state
 * (its queues fill up as the run goes) falls on all three alike; latencies are pooled over rounds.
 */
async function ackLatency(requests: number) {
  const { emulator, sqs, queueFor, baseEnv } = await benchQueues();
  const template = JSON.stringify({ ...sample, event_id: '__EVENT_ID__', event_time: 0 }).replace('"event_time":0', '"event_time":__EVENT_TIME__');
  const kinds = ['bare', 'enqueue', 'receiver'] as const;
  const rounds = 4;
  const results: Record<string, Record<number, Stats>> = {};
  try {
    for (const concurrency of [1, 50]) {
      const servers = new Map<string, { url: string; kill: () => void }>();
      for (const kind of kinds) servers.set(kind, await startTarget(kind, { ...baseEnv, QUEUE_URL_ECHO: await queueFor(`${kind}-${concurrency}`) }));
      const pooled = new Map<string, { latencies: number[]; statuses: number[]; wallMs: number }>();
      for (let round = 0; round < rounds; round++) {
        for (const kind of kinds) {
          const count = Math.ceil(requests / rounds);
          const run = await runLoad({ url: `${servers.get(kind)!.url}/actions/echo`, count, concurrency, warmup: round === 0 ? 300 : 50, token: TOKEN, templates: [template] });
          const sum = pooled.get(kind) ?? { latencies: [], statuses: [], wallMs: 0 };
          pooled.set(kind, { latencies: [...sum.latencies, ...run.latencies], statuses: [...sum.statuses, ...run.statuses], wallMs: sum.wallMs + run.wallMs });
        }
      }
      for (const kind of kinds) {
        const run = pooled.get(kind)!;
        (results[kind] ??= {})[concurrency] = stats(run.latencies, run.wallMs, run.statuses);
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
  return { receiverMs: median(times.receiver), referenceMs: median(times.reference), runs };
}

/** Milliseconds to load a bundle in a fresh process. */
async function initMs(file: string, env: NodeJS.ProcessEnv, nodeOptions: string[] = []): Promise<number> {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeOptions, '-e', script], { env });
  return Number(stdout);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Module init of each action's worker bundle and of the SQS+DynamoDB reference, interleaved. */
async function workerColdStart(actions: string[], runs: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-workers-'));
  const files: Record<string, string> = { 'reference (SQS+DynamoDB)': (await bundleEntry('scripts/bench/reference-worker', dir)).file };
  for (const action of actions) files[action] = (await bundleWorker(action, join(dir, action))).file;
  const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'b', AWS_SECRET_ACCESS_KEY: 'b', QUEUE_URL: 'http://127.0.0.1:1/000000000000/q.fifo', IDEMPOTENCY_TABLE: 't', FLASHDUTY_APP_KEY: 'k' };
  const times: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    for (const [name, file] of Object.entries(files)) {
      (times[name] ??= []).push(await initMs(file, { ...env, ACTION_NAME: name }, ['--enable-source-maps']));
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, xs]) => [name, median(xs)]));
}

async function endToEnd(clicks: number) {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { startLocalStack } = await import('../deploy/local');
  const stack = await startLocalStack({ env: { ENABLED_ACTIONS: 'echo', WEBHOOK_TOKENS: TOKEN, ALLOWED_IPS: '127.0.0.1,::1', DRY_RUN: 'true' }, port: 0 });
  const waiting = new Map<string, () => void>();
  stack.flashduty!.onCall = (call) => {
    const id = /event (\S+)$/.exec(String(call.body.comment ?? ''))?.[1];
    if (id) waiting.get(id)?.();
  };
  const latencies: number[] = [];
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
      if (response.status !== 200) throw new Error(`click answered ${response.status}`);
      await commented;
      latencies.push(performance.now() - started);
    }
  } finally {
    await stack.stop();
  }
  return stats(latencies, latencies.reduce((a, b) => a + b, 0));
}

type Verdict = { what: string; value: number; target: string; ok: boolean };

/** One row of a table: a left-aligned label, then right-aligned cells. */
const tableLine = (cells: Array<string | number>) => cells.map((c, i) => String(c).padStart(i === 0 ? 0 : 10).padEnd(i === 0 ? 26 : 0)).join('');

const againstTargets = (verdicts: Verdict[]) => ['', 'Against the targets', ...verdicts.map((v) => `  ${v.ok ? 'ok  ' : 'MISS'} ${v.what.padEnd(42)} ${String(v.value).padStart(8)}   ${v.target}`)];

/** The Event storm table, adding its two verdicts. */
function stormReport(storm: Awaited<ReturnType<typeof stormLatency>>, verdicts: Verdict[]): string[] {
  const lines = ['', `Event storm: ${storm.events} incident-webhook events per target at concurrency 50, 20% matching a rule (ms)`, tableLine(['target', 'p50', 'p95', 'p99', 'max', 'req/s', 'non-200'])];
  for (const [name, s] of [
    ['bare floor', storm.bare],
    ['enqueue floor', storm.enqueue],
    ['receiver, matched', storm.matched],
    ['receiver, unmatched in mix', storm.unmatched],
    ['receiver, unmatched only', storm.unmatchedAlone],
  ] as const) {
    lines.push(tableLine([name, round(s.p50), round(s.p95), round(s.p99), round(s.max), round(s.perSecond, 0), s.non200]));
  }
  const matched = storm.matched.p99 / storm.enqueue.p99;
  // One request per Lambda instance: an unmatched event never waits behind a matched one (event-storm.ts).
  const unmatched = storm.unmatchedAlone.p99 / storm.bare.p99;
  verdicts.push({ what: 'storm: matched p99 / enqueue floor p99', value: round(matched), target: `<= ${TARGETS.p99Ratio}`, ok: matched <= TARGETS.p99Ratio });
  verdicts.push({ what: 'storm: unmatched-only p99 / bare floor p99', value: round(unmatched), target: `<= ${TARGETS.unmatchedRatio}`, ok: unmatched <= TARGETS.unmatchedRatio });
  verdicts.push({ what: 'storm: unmatched-in-mix p99 / bare floor p99', value: round(storm.unmatched.p99 / storm.bare.p99), target: '(reported)', ok: true });
  return lines;
}

async function main(): Promise<void> {
  if (process.argv.includes('--only')) {
    const only = process.argv[process.argv.indexOf('--only') + 1];
    if (only !== 'storm') throw new Error(`--only takes "storm", got "${only}"`);
    const verdicts: Verdict[] = [];
    console.log([...stormReport(await stormLatency(option('storm', 10_000)), verdicts), ...againstTargets(verdicts)].join('\n'));
    return;
  }
  const requests = option('requests', 2000);
  const started = new Date();
  process.stderr.write(`bench: ${requests} requests per target and concurrency, on ${process.version}\n`);
  const ack = await ackLatency(requests);
  process.stderr.write('  cold start...\n');
  const cold = await coldStart(option('cold-runs', 25));
  process.stderr.write('  bundle sizes (osls package)...\n');
  // enrich and status-page need their config to package; the examples are what a real stack would ship.
  const packaged = await packageStack('bench', {
    ENABLED_ACTIONS: 'echo,restart-host,enrich,rollback,status-page',
    ENRICH_SOURCES_FILE: 'deploy/enrich-sources.local.yaml',
    STATUS_PAGE_ID: '1',
    STATUS_PAGE_COMPONENTS: '{"default":["Website"]}',
  });
  const sizes = bundleSizes(packaged.dir);
  const workerInit = await workerColdStart(['echo', 'restart-host'], option('cold-runs', 25));
  process.stderr.write('  end to end...\n');
  const e2e = await endToEnd(option('e2e', 200));

  const lines: string[] = [];
  const row = (...cells: Array<string | number>) => lines.push(tableLine(cells));
  lines.push(`flashduty-actions benchmark, ${started.toISOString()}, Node ${process.version}, ${requests} requests per row`);
  lines.push('', 'Ack latency (ms)');
  row('target @ concurrency', 'p50', 'p95', 'p99', 'max', 'req/s', 'non-200');
  for (const concurrency of [1, 50]) {
    for (const kind of ['bare', 'enqueue', 'receiver']) {
      const s = ack[kind]![concurrency]!;
      row(`${kind} @ ${concurrency}`, round(s.p50), round(s.p95), round(s.p99), round(s.max), round(s.perSecond, 0), s.non200);
    }
  }
  const verdicts: Verdict[] = [];
  for (const concurrency of [1, 50]) {
    const ratio = ack.receiver![concurrency]!.p99 / ack.enqueue![concurrency]!.p99;
    verdicts.push({ what: `receiver p99 / enqueue floor p99 @ ${concurrency}`, value: round(ratio), target: `<= ${TARGETS.p99Ratio}`, ok: ratio <= TARGETS.p99Ratio });
    const bareRatio = ack.receiver![concurrency]!.p99 / ack.bare![concurrency]!.p99;
    verdicts.push({ what: `receiver p99 / bare floor p99 @ ${concurrency}`, value: round(bareRatio), target: '(reported)', ok: true });
  }
  lines.push('', `Cold start: module init, median of ${cold.runs} fresh processes (ms)`);
  row('bundle', 'init');
  row('receiver', round(cold.receiverMs));
  row('reference (SQS only)', round(cold.referenceMs));
  const initRatio = cold.receiverMs / cold.referenceMs;
  verdicts.push({ what: 'receiver init / reference init', value: round(initRatio), target: `<= ${TARGETS.initRatio}`, ok: initRatio <= TARGETS.initRatio });

  lines.push('', 'Bundle sizes (zip, as osls packages them)');
  for (const size of sizes) row(size.name, `${round(size.bytes / 1024, 1)} KB`);
  const receiverKb = sizes.find((s) => s.name === 'receiver')!.bytes / 1024;
  verdicts.push({ what: 'receiver zip (KB)', value: round(receiverKb, 1), target: `<= ${BUDGETS.receiver! / 1024}`, ok: receiverKb <= TARGETS.receiverZipKb });
  const echoKb = sizes.find((s) => s.name === 'echoWorker')!.bytes / 1024;
  verdicts.push({ what: 'echo worker zip (KB)', value: round(echoKb, 1), target: `<= ${WORKER_BUDGET / 1024}`, ok: echoKb <= WORKER_BUDGET / 1024 });

  lines.push('', `Worker cold start: module init with source maps, median of ${option('cold-runs', 25)} fresh processes (ms)`);
  row('bundle', 'init');
  for (const [name, ms] of Object.entries(workerInit)) row(name, round(ms));

  lines.push('', `End to end: click -> write-back comment, ${option('e2e', 200)} clicks one at a time (ms)`);
  row('', 'p50', 'p95', 'p99', 'max');
  row('echo, dry-run', round(e2e.p50), round(e2e.p95), round(e2e.p99), round(e2e.max));

  const storm = option('storm', 10_000) > 0 ? await stormLatency(option('storm', 10_000)) : undefined;
  if (storm) lines.push(...stormReport(storm, verdicts));

  lines.push(...againstTargets(verdicts));
  console.log(lines.join('\n'));

  const file = join(ROOT, 'results', `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(ROOT, 'results'), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ at: started.toISOString(), node: process.version, requests, ack, cold, sizes, workerInit, e2e, storm, verdicts }, null, 2)}\n`);
  console.log(`\nwritten to ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
