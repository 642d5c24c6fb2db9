/**
 * The "Event storm" row: incident-webhook events at concurrency 50, one in five matching a rule,
 * against the receiver's `POST /events` and the two floors (bare answer; one SendMessage per
 * request). A matched event enqueues like a click, so its p99 is held to the enqueue floor; an
 * unmatched one never touches the queue, so its p99 is held to the bare floor.
 */
import sample from '../../tests/fixtures/incident-webhook.json';
import type { LoadRun } from './harness';
import { runLoad, startTarget } from './harness';

/** One rule, matched by the `storm=match` label that one template in five carries. */
const RULES = [{ name: 'storm', on: ['i_new'], when: { labels: { storm: 'match' } }, run: 'echo' }];

const template = (label: string) =>
  JSON.stringify({ ...sample, event_id: '__EVENT_ID__', event_time: 0, incident: { ...sample.incident, labels: { ...sample.incident.labels, storm: label } } }).replace(
    '"event_time":0',
    '"event_time":__EVENT_TIME__',
  );
/** Template 0 matches; 1-4 do not: 20% of requests match. */
export const STORM_TEMPLATES = [template('match'), template('other'), template('other'), template('other'), template('other')];

/**
 * `receiver` takes the mix; `unmatched` sends the same receiver only the unmatched templates. In
 * Lambda each request has an instance to itself, so an unmatched event never waits behind a
 * matched one's SendMessage; in one local process it does, and the mix's unmatched p99 measures
 * that queueing more than the receiver. The verdict uses the unmatched-only run; both are shown.
 */
export type StormResult = Record<'bare' | 'enqueue' | 'receiver' | 'unmatched', LoadRun>;

/**
 * Runs `events` requests per target in alternating rounds (so drift hits all three alike) and
 * returns every request's latency, status and template, pooled per target.
 */
export async function eventStorm(options: { events: number; concurrency: number; token: string; env: NodeJS.ProcessEnv; queueFor: (name: string) => Promise<string> }): Promise<StormResult> {
  const kinds = ['bare', 'enqueue', 'receiver', 'unmatched'] as const;
  const rounds = 4;
  const servers = new Map<string, { url: string; kill: () => void }>();
  const pooled = {} as StormResult;
  try {
    for (const kind of ['bare', 'enqueue', 'receiver'] as const) {
      const env = { ...options.env, QUEUE_URL_ECHO: await options.queueFor(`storm-${kind}`), EVENT_RULES: JSON.stringify(RULES) };
      servers.set(kind, await startTarget(kind, env));
    }
    servers.set('unmatched', servers.get('receiver')!);
    for (let round = 0; round < rounds; round++) {
      for (const kind of kinds) {
        const count = Math.ceil(options.events / rounds);
        const templates = kind === 'unmatched' ? STORM_TEMPLATES.slice(1) : STORM_TEMPLATES;
        const run = await runLoad({ url: `${servers.get(kind)!.url}/events`, count, concurrency: options.concurrency, warmup: round === 0 ? 300 : 50, token: options.token, templates });
        const sum = pooled[kind];
        pooled[kind] = sum
          ? { latencies: [...sum.latencies, ...run.latencies], statuses: [...sum.statuses, ...run.statuses], variants: [...sum.variants, ...run.variants], wallMs: sum.wallMs + run.wallMs }
          : run;
      }
    }
  } finally {
    for (const server of new Set(servers.values())) server.kill();
  }
  return pooled;
}

/** The latencies (and statuses) of one template group of a run: matched (template 0) or unmatched. */
export function select(run: LoadRun, matched: boolean): { latencies: number[]; statuses: number[] } {
  const keep = run.variants.map((variant) => (variant === 0) === matched);
  return { latencies: run.latencies.filter((_, i) => keep[i]), statuses: run.statuses.filter((_, i) => keep[i]) };
}
