import { startLocalStack, type LocalStack } from '../../deploy/local';
import { FlashDutyClient } from '../../lib/flashduty/client';
import { RateLimiter } from '../../lib/flashduty/rate-limit';
import { FlashDutyStandIn } from '../../local/flashduty-standin';
import { clickWithIncident } from '../fixtures/clicks';
import { click, depth, eventually, testEnv } from './helpers';

/**
 * A storm of write-backs through the whole local stack: several instances of the echo worker, each
 * keeping to its share of FlashDuty's per-account limits (lib/flashduty/rate-limit.ts), against a
 * stand-in FlashDuty that counts every request per second and per minute and answers 429 with
 * Retry-After past either. The per-second limit is FlashDuty's own 50; the per-minute one is raised
 * so the test takes seconds, not the minute 1,000 write-backs need under 1,000/min (the same
 * arithmetic splits both; tests/unit/rate-limit.test.ts runs it with the real pair for minutes).
 */
const CLICKS = 1000;
const INCIDENTS = 200;
const INSTANCES = 4;
const LIMITS = { perSecond: 50, perMinute: 3000 };

describe('a storm of 1,000 write-backs through the local stack', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      env: testEnv({
        ENABLED_ACTIONS: 'echo',
        DRY_RUN: 'true',
        WORKER_MAX_CONCURRENCY: String(INSTANCES),
        FLASHDUTY_RATE_PER_SECOND: String(LIMITS.perSecond),
        FLASHDUTY_RATE_PER_MINUTE: String(LIMITS.perMinute),
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        ENQUEUE_TIMEOUT_MS: '900',
      }),
      port: 0,
      workerInstances: INSTANCES,
    });
  });
  afterAll(() => stack.stop());

  it('stays within FlashDuty limits as it counts them, and writes every click back exactly once', async () => {
    const incidentId = (i: number) => `5707${(i % INCIDENTS).toString(16).padStart(20, '0')}`;
    const clicks = Array.from({ length: CLICKS }, (_, i) => clickWithIncident({ incident_id: incidentId(i) }, { event_id: `storm-${i}` }));
    // This test counts write-backs and FlashDuty's requests, not acks: a click refused on a busy
    // machine (503, enqueue budget missed) is sent again, as its responder would click again, and
    // the queue's deduplication keeps it once if the first did land.
    let next = 0;
    const unanswered: unknown[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < clicks.length) {
          const body = clicks[next++];
          let status = 0;
          for (let attempt = 0; attempt < 5 && status !== 200; attempt++) status = (await click(stack.receiverUrl, 'echo', body)).status;
          if (status !== 200) unanswered.push(body);
        }
      }),
    );
    expect(unanswered).toEqual([]);

    const queue = stack.queues.get('echo')!;
    await eventually(async () => ((await depth(stack.sqs, queue.url)) === 0 ? true : undefined), 120_000, 'the queue to drain');
    const flashduty = stack.flashduty!;
    const perEvent = new Map<string, number>();
    for (const comment of flashduty.comments()) {
      const id = /event (storm-\d+)$/.exec(comment)?.[1];
      if (id) perEvent.set(id, (perEvent.get(id) ?? 0) + 1);
    }
    expect(perEvent.size).toBe(CLICKS); // none lost
    expect([...perEvent.values()].filter((n) => n !== 1)).toEqual([]); // none twice
    expect(await depth(stack.sqs, queue.dlqUrl)).toBe(0);

    expect(flashduty.busiest(1000)).toBeLessThanOrEqual(LIMITS.perSecond);
    expect(flashduty.busiest(60_000)).toBeLessThanOrEqual(LIMITS.perMinute);
    // The shares, not FlashDuty's refusals, keep the rate: a refusal means an instance overstepped
    // (or the machine stalled a request past the jitter allowance), so only a handful may happen.
    expect(flashduty.throttled).toBeLessThanOrEqual(CLICKS / 100);
  }, 180_000);
});

describe("the stand-in FlashDuty's rate limit, met by a client that ignores its share", () => {
  const standIn = new FlashDutyStandIn('storm-app-key', undefined, { perSecond: 5, perMinute: 1000 });
  afterAll(() => standIn.stop());

  it('answers 429 RequestTooFrequently with Retry-After past 5/s, and every comment still lands once after the waits', async () => {
    const baseUrl = await standIn.start();
    const greedy = new FlashDutyClient({ baseUrl, appKey: async () => 'storm-app-key', baseDelayMs: 10, limiter: new RateLimiter([{ limit: 1000, ms: 1000 }]) });
    const incident = (i: number) => `5708${i.toString(16).padStart(20, '0')}`;
    await Promise.all(Array.from({ length: 12 }, (_, i) => greedy.comment(incident(i), `comment ${i}`)));

    const refused = standIn.calls.filter((c) => c.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(standIn.throttled).toBe(refused.length);
    expect(standIn.comments().sort()).toEqual(Array.from({ length: 12 }, (_, i) => `comment ${i}`).sort());
    expect(standIn.busiest(1000)).toBeLessThanOrEqual(5);
  }, 30_000);
});
