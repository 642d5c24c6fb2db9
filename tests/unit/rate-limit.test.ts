import { instanceWindows, RateLimiter } from '../../lib/flashduty/rate-limit';
import { busiestWindow } from '../../local/flashduty-standin';

describe('RateLimiter', () => {
  it('lets 50 requests through in a second and makes the 51st wait for the window to move', async () => {
    let now = 0;
    const limiter = new RateLimiter([{ limit: 50, ms: 1000 }], () => now);
    for (let i = 0; i < 50; i++) await limiter.take();
    let passed = false;
    const next = limiter.take().then(() => (passed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passed).toBe(false);
    now = 1001;
    await next;
    expect(passed).toBe(true);
  });

  it('honours the per-minute window as well as the per-second one', async () => {
    let now = 0;
    const limiter = new RateLimiter([{ limit: 50, ms: 1000 }, { limit: 60, ms: 60_000 }], () => now);
    for (let i = 0; i < 60; i++) {
      now = i * 100; // 10 per second: well under the per-second limit
      await limiter.take();
    }
    const waiting = limiter.take(AbortSignal.timeout(50));
    await expect(waiting).rejects.toBeDefined();
  });
});

describe("instanceWindows: each worker instance's share of FlashDuty's per-account limits", () => {
  const account = { perSecond: 50, perMinute: 1000 };

  it('splits both limits over the instances that may call at once, rounding down', () => {
    expect(instanceWindows(account, 5).map((w) => w.limit)).toEqual([10, 200]);
    expect(instanceWindows(account, 25).map((w) => w.limit)).toEqual([2, 40]);
    expect(instanceWindows(account, 7).map((w) => w.limit)).toEqual([7, 142]);
  });

  it('refuses more instances than the account allows requests per second, naming the setting to lower', () => {
    expect(() => instanceWindows(account, 51)).toThrow(/51 worker instances .* WORKER_MAX_CONCURRENCY/);
  });

  afterEach(() => jest.useRealTimers());

  it.each([5, 7, 25])('keeps %i instances sending flat out within 50/s and 1,000/min together, for three minutes', async (share) => {
    jest.useFakeTimers({ now: 0 });
    const sent: number[] = [];
    const until = 180_000;
    const instances = Array.from({ length: share }, async () => {
      const limiter = new RateLimiter(instanceWindows(account, share));
      while (Date.now() < until) {
        await limiter.take();
        sent.push(Date.now());
      }
    });
    await jest.advanceTimersByTimeAsync(until + 70_000);
    await Promise.all(instances);
    sent.sort((a, b) => a - b);
    expect(busiestWindow(sent, 1000)).toBeLessThanOrEqual(50);
    expect(busiestWindow(sent, 60_000)).toBeLessThanOrEqual(1000);
    // And the shares are not wasted: over three minutes, most of the account's 3,000 are used.
    expect(sent.filter((t) => t < until).length).toBeGreaterThan(0.85 * 3000);
  });
});
