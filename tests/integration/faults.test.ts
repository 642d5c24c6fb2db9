import { ChangeMessageVisibilityCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { defineAction } from '../../lib/actions/types';
import { receiverConfig } from '../../lib/config/receiver';
import { workerConfig } from '../../lib/config/worker';
import { serveHttpApi } from '../../local/http-api';
import { SsmStandIn } from '../../local/ssm-standin';
import { lambdaContext, pollQueue, sqsEventOf } from '../../local/sqs-poller';
import { decodeQueueMessage } from '../../lib/queue/envelope';
import { makeReceiver } from '../../lib/receiver/handler';
import { receiverDeps } from '../../lib/receiver/wiring';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { clickOnNewIncident } from '../fixtures/clicks';
import { click, depth, drain, eventually, slowProxy, TOKEN, testEnv } from './helpers';

describe('fault: the queue answers slower than the deadline', () => {
  it.each([
    [1500, 503, 0],
    [150, 200, 1], // the same proxy inside the deadline: it does forward
  ])('with the queue %i ms away: answers %i within 1 s and leaves %i message(s) on the queue', async (delayMs, status, messages) => {
    const stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'echo' }), port: 0, workers: false });
    const proxy = await slowProxy(stack.sqsEndpoint, delayMs);
    const env = { ...stack.workerEnv.get('echo')!, AWS_ENDPOINT_URL_SQS: proxy.url };
    const http = await serveHttpApi(makeReceiver(receiverDeps(receiverConfig(env))), { port: 0 });
    try {
      const response = await click(http.url, 'echo', clickOnNewIncident());
      expect(response.status).toBe(status);
      expect(response.ms).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 2000)); // past the proxy's delay
      expect(await depth(stack.sqs, stack.queues.get('echo')!.url)).toBe(messages);
    } finally {
      http.server.close();
      proxy.close();
      await stack.stop();
    }
  });
});

describe('fault: SSM throttles the token read of a cold receiver (a storm of cold starts)', () => {
  it.each([
    [3, 200, 1], // throttled three times, then read: the click is queued
    [1_000, 503, 0], // throttled throughout its budget: a clear 503, nothing queued
  ])('throttled %i times: answers %i and leaves %i message(s) on the queue', async (throttled, status, messages) => {
    const stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'echo' }), port: 0, workers: false });
    const ssm = new SsmStandIn();
    const parameter = '/flashduty-actions/test/webhook-tokens';
    ssm.parameters.set(parameter, TOKEN);
    ssm.throttle.set('GetParameter', throttled);
    const { WEBHOOK_TOKENS: _inline, ...env } = stack.workerEnv.get('echo')!;
    const receiverEnv = { ...env, WEBHOOK_TOKENS_PARAM: parameter, AWS_ENDPOINT_URL_SSM: await ssm.start() };
    const http = await serveHttpApi(makeReceiver(receiverDeps(receiverConfig(receiverEnv))), { port: 0 });
    try {
      const response = await click(http.url, 'echo', clickOnNewIncident());
      expect(response.status).toBe(status);
      expect(ssm.calls.filter((call) => call.operation === 'GetParameter').length).toBeGreaterThan(status === 200 ? throttled : 1);
      expect(await depth(stack.sqs, stack.queues.get('echo')!.url)).toBe(messages);
    } finally {
      http.server.close();
      await ssm.stop();
      await stack.stop();
    }
  });
});

describe('fault: FlashDuty answers 429, 500, garbage or nothing', () => {
  const runs = new Map<string, number>();
  const counting = defineAction({
    name: 'counting',
    description: 'counts runs per event',
    config: v.object({}),
    async run({ message }) {
      runs.set(message.event_id, (runs.get(message.event_id) ?? 0) + 1);
      return { status: 'succeeded', summary: 'counted' };
    },
  });
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      env: testEnv({ ENABLED_ACTIONS: 'counting', RETRY_BASE_SECONDS: '0', FLASHDUTY_RETRY_BASE_MS: '10', FLASHDUTY_TIMEOUT_MS: '200' }),
      actions: [...ACTIONS, counting],
      port: 0,
    });
  });
  afterAll(() => stack.stop());

  it.each([
    ['429 RequestTooFrequently', () => ({ status: 429, body: JSON.stringify({ request_id: 'r', error: { code: 'RequestTooFrequently', message: 'slow down' } }) })],
    ['500 InternalError', () => ({ status: 500, body: JSON.stringify({ request_id: 'r', error: { code: 'InternalError', message: 'oops' } }) })],
    ['garbage', () => ({ status: 200, body: '<html>' })],
    ['nothing at all', () => 'hang' as const],
  ])('on %s: retries a bounded number of times, dead-letters the click, and never runs the action twice', async (_label, reply) => {
    stack.flashduty!.reset();
    stack.flashduty!.intercept = reply;
    const body = clickOnNewIncident();
    await click(stack.receiverUrl, 'counting', body);
    const queue = stack.queues.get('counting')!;
    await eventually(async () => ((await depth(stack.sqs, queue.dlqUrl)) === 1 ? true : undefined), 30_000, 'the click in the DLQ');
    expect(runs.get(body.event_id as string)).toBe(1);
    // 3 deliveries x 4 attempts at the comment, then 4 at the failure comment: bounded.
    expect(stack.flashduty!.calls.length).toBeLessThanOrEqual(16);
    const [dead] = await drain(stack.sqs, queue.dlqUrl);
    expect(decodeQueueMessage(dead!.Body!).event_id).toBe(body.event_id); // everything needed to run it again
  }, 40_000);
});

describe('fault: a worker crashes mid-batch', () => {
  const outcome = new Map<string, 'hang' | 'throw' | 'ok'>();
  const crashy = defineAction({
    name: 'crashy',
    description: 'hangs or throws on demand',
    config: v.object({}),
    async run({ message }) {
      const mode = outcome.get(message.payload.incident.incident_id) ?? 'ok';
      if (mode === 'hang') await new Promise(() => undefined); // the invocation never finishes, like a crash or timeout
      if (mode === 'throw') throw new Error('still broken');
      return { status: 'succeeded', summary: 'fine' };
    },
  });

  it('brings back only the unfinished records, loses nothing, and dead-letters what exhausts its retries', async () => {
    const stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'crashy', RETRY_BASE_SECONDS: '0' }), actions: [...ACTIONS, crashy], port: 0, workers: false });
    try {
      const clicks = [clickOnNewIncident(), clickOnNewIncident(), clickOnNewIncident()];
      const [done, broken, pending] = clicks.map((c) => c.incident.incident_id) as [string, string, string];
      outcome.set(broken, 'hang');
      for (const body of clicks) await click(stack.receiverUrl, 'crashy', body);
      const queue = stack.queues.get('crashy')!;
      const received = await eventually(async () => {
        const { Messages = [] } = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
        return Messages.length === 3 ? Messages : undefined;
      }, 5000, 'all three in one batch');

      const handler = makeWorker(workerDeps(workerConfig(stack.workerEnv.get('crashy')!, [...ACTIONS, crashy])));
      void handler(sqsEventOf(received, queue.arn), lambdaContext('crashy-worker', 30)); // abandoned: it never returns
      await eventually(() => (stack.flashduty!.comments(done).length === 1 ? true : undefined), 5000, 'the first record to finish');
      // The record is acknowledged (deleted) just after its comment is stored: wait for that too.
      await eventually(async () => ((await depth(stack.sqs, queue.url)) === 2 ? true : undefined), 5000, 'the finished record to be acknowledged');

      // The invocation is dead; SQS makes its messages visible again when their timeout runs out.
      for (const message of received) {
        await stack.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })).catch(() => undefined);
      }
      const { Messages: back = [] } = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'] }));
      expect(back.map((m) => decodeQueueMessage(m.Body!).payload.incident.incident_id).sort()).toEqual([broken, pending].sort());

      outcome.set(broken, 'throw');
      const poller = pollQueue({ sqs: stack.sqs, queueUrl: queue.url, queueArn: queue.arn, handler, functionName: 'crashy-worker', timeoutSeconds: 30 });
      try {
        await eventually(async () => ((await depth(stack.sqs, queue.dlqUrl)) === 1 ? true : undefined), 20_000, 'the broken click in the DLQ');
        await eventually(() => (stack.flashduty!.comments(pending).length === 1 ? true : undefined), 5000, 'the pending click to finish');
      } finally {
        await poller.stop();
      }
      const [dead] = await drain(stack.sqs, queue.dlqUrl);
      expect(decodeQueueMessage(dead!.Body!).payload.incident.incident_id).toBe(broken);
      expect(stack.flashduty!.comments(broken)[0]).toContain('crashy FAILED');
      expect(stack.flashduty!.comments(done)).toHaveLength(1);
    } finally {
      await stack.stop();
    }
  }, 40_000);
});

describe('fault: a burst of 1,000 distinct clicks plus 200 duplicates', () => {
  it('enqueues exactly 1,000 messages and writes exactly 1,000 dry-run comments', async () => {
    // This test counts messages and comments; latency is the benchmark's job. The longest enqueue
    // budget keeps a busy machine from turning the count into a timing test.
    const stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'echo', DRY_RUN: 'true', ENQUEUE_TIMEOUT_MS: '900' }), port: 0, workers: false });
    try {
      const distinct = Array.from({ length: 1000 }, () => clickOnNewIncident());
      const sends = [...distinct, ...distinct.slice(0, 200)];
      const statuses: number[] = [];
      for (let i = 0; i < sends.length; i += 50) {
        const wave = await Promise.all(sends.slice(i, i + 50).map((body) => click(stack.receiverUrl, 'echo', body)));
        statuses.push(...wave.map((r) => r.status));
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(1200);
      const queue = stack.queues.get('echo')!;
      expect(await depth(stack.sqs, queue.url)).toBe(1000);

      const handler = makeWorker(workerDeps(workerConfig(stack.workerEnv.get('echo')!, ACTIONS)));
      const poller = pollQueue({ sqs: stack.sqs, queueUrl: queue.url, queueArn: queue.arn, handler, functionName: 'echo-worker', timeoutSeconds: 30 });
      try {
        await eventually(() => (stack.flashduty!.comments().length >= 1000 ? true : undefined), 90_000, '1,000 comments');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      } finally {
        await poller.stop();
      }
      const comments = stack.flashduty!.comments();
      expect(comments).toHaveLength(1000);
      const events = new Set(comments.map((c) => /event (\S+)$/.exec(c)?.[1]));
      expect(events.size).toBe(1000);
      expect(await depth(stack.sqs, queue.url)).toBe(0);
    } finally {
      await stack.stop();
    }
  }, 150_000);
});
