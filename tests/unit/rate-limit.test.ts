import { RateLimiter } from '../../lib/flashduty/rate-limit';

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
