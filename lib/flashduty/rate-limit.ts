import { ConfigError } from '../errors';

/** FlashDuty's limits for one account: every app key of the account counts against them together. */
export interface AccountLimits {
  perSecond: number;
  perMinute: number;
}

/**
 * Slack added to each window this process keeps, so that requests spaced a full window apart when
 * they leave still fall in different windows when they arrive, however much their network delays differ.
 */
const ARRIVAL_JITTER_MS = 50;

/**
 * This process's share of the account's limits when `share` processes may call at once (the sum of
 * every worker's maximum concurrency): each gets 1/share of each window, rounded down. The shares
 * never add up to more than the account allows, so no coordination is needed. More processes than
 * the account allows requests per second cannot each have a whole one: that is refused.
 */
export function instanceWindows(account: AccountLimits, share: number): Array<{ limit: number; ms: number }> {
  if (share > Math.min(account.perSecond, account.perMinute)) {
    throw new ConfigError(
      `${share} worker instances may call FlashDuty at once (WORKER_MAX_CONCURRENCY x enabled actions), more than its ${account.perSecond} requests per second allow one each; lower WORKER_MAX_CONCURRENCY`,
    );
  }
  const split = (limit: number) => Math.floor(limit / Math.max(1, share));
  return [
    { limit: split(account.perSecond), ms: 1000 + ARRIVAL_JITTER_MS },
    { limit: split(account.perMinute), ms: 60_000 + ARRIVAL_JITTER_MS },
  ];
}

/**
 * Keeps this process under its share of FlashDuty's per-account limits (`instanceWindows`) by making
 * callers wait for a free slot. Should FlashDuty count differently, the client backs off on its 429s.
 */
export class RateLimiter {
  private readonly sent: number[] = [];

  constructor(
    private readonly windows: ReadonlyArray<{ limit: number; ms: number }>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when one more request fits in every window, and records it. */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.waitMs();
      if (wait === 0) break;
      await pause(wait, signal);
    }
    this.sent.push(this.now());
  }

  private waitMs(): number {
    const now = this.now();
    const longest = Math.max(...this.windows.map((w) => w.ms));
    while (this.sent.length > 0 && this.sent[0]! <= now - longest) this.sent.shift();
    let wait = 0;
    for (const { limit, ms } of this.windows) {
      const inWindow = this.sent.filter((t) => t > now - ms);
      if (inWindow.length >= limit) wait = Math.max(wait, inWindow[inWindow.length - limit]! + ms - now);
    }
    return wait;
  }
}

/**
 * Waits `ms`, or rejects (AbortError, the reason as its cause) when `signal` aborts, like
 * node:timers/promises; on the global timer, so a test can drive a limiter with a fake clock.
 */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const aborted = () => reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError', cause: signal?.reason }));
    if (signal?.aborted) return aborted();
    const onAbort = () => {
      clearTimeout(timer);
      aborted();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
