import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Keeps this process under FlashDuty's per-account limits (50 requests/s and 1,000/min) by making
 * callers wait for a free slot. Several Lambdas share the account's limit, so 429s can still
 * happen; the client backs off on those.
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
      await sleep(wait, undefined, { signal });
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
