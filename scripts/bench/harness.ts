/**
 * The benchmark's two moving parts, shared by its rows: a server under test in its own process
 * (target.ts), and a load generator in another (load.mjs), so neither shares an event loop with
 * the other or with the benchmark.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';

export interface LoadRun {
  latencies: number[];
  statuses: number[];
  /** Per request, which of the templates it was sent with. */
  variants: number[];
  wallMs: number;
}

/** Starts target.ts as `kind` (bare, enqueue, receiver) with `env`; resolves to its URL and a way to stop it. */
export async function startTarget(kind: string, env: NodeJS.ProcessEnv): Promise<{ url: string; kill: () => void }> {
  const child = fork(join(__dirname, 'target.ts'), [kind], { env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // A target that cannot start (a setting it refuses) exits; say so instead of waiting for ever.
  const { url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string }));
    child.once('exit', (code) => reject(new Error(`bench target "${kind}" exited (code ${code}) before it listened; its error is above`)));
  });
  return { url, kill: () => child.kill() };
}

/**
 * Sends `count` POSTs to `url` at `concurrency` after `warmup` unmeasured ones. Request i uses
 * `templates[i % templates.length]`, with `__EVENT_ID__` and `__EVENT_TIME__` filled in fresh.
 */
export async function runLoad(options: { url: string; count: number; concurrency: number; warmup: number; token: string; templates: string[] }): Promise<LoadRun> {
  const load = fork(join(__dirname, 'load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  load.send(options);
  return new Promise<LoadRun>((resolve) => load.once('message', (m) => resolve(m as LoadRun)));
}
