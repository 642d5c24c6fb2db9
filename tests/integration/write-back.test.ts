import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { defineAction } from '../../lib/actions/types';
import { workerConfig } from '../../lib/config/worker';
import { lambdaContext, sqsEventOf } from '../../local/sqs-poller';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { captureLogs } from '../fixtures/capture-logs';
import { clickOnNewIncident } from '../fixtures/clicks';
import { click, drain, eventually, receive, testEnv } from './helpers';

describe('write-back: a FlashDuty that answers late posts the result exactly once', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'echo', FLASHDUTY_TIMEOUT_MS: '300', FLASHDUTY_RETRY_BASE_MS: '10' }), port: 0 });
  });
  afterAll(() => stack.stop());

  it('finds the comment it stored on the timeline instead of posting it again', async () => {
    stack.flashduty!.intercept = ({ path, attempt }) => (path === '/incident/comment' && attempt === 1 ? { afterHandling: true, delayMs: 1500 } : undefined);
    const body = clickOnNewIncident();
    await click(stack.receiverUrl, 'echo', body);
    await eventually(() => (stack.flashduty!.calls.some((c) => c.path === '/incident/feed') ? true : undefined), 10_000, 'the timeline to be read');
    await new Promise((resolve) => setTimeout(resolve, 2000)); // past the late answer, and any second post
    expect(stack.flashduty!.comments(body.incident.incident_id)).toEqual([expect.stringContaining('echo succeeded')]);
    expect(stack.flashduty!.calls.filter((c) => c.path === '/incident/comment')).toHaveLength(0); // the one post was never answered in time
  });
});

describe('write-back: a FlashDuty that never answers', () => {
  let failing = true;
  const once = defineAction({
    name: 'once',
    description: 'succeeds, or throws while told to',
    sideEffects: false,
    config: v.object({}),
    async run() {
      if (failing) throw new Error('downstream timed out');
      return { status: 'succeeded', summary: 'done' };
    },
  });
  const actions = [...ACTIONS, once];
  let stack: LocalStack;
  // FlashDuty's own defaults: 5 s per attempt, 4 attempts from 1 s backoff (about 25 s), in a 6 s invocation.
  const TIMEOUT_SECONDS = 6;

  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'once' }), actions, port: 0, workers: false });
  });
  afterAll(() => stack.stop());
  beforeEach(() => stack.flashduty!.reset());
  afterEach(() => drain(stack.sqs, stack.queues.get('once')!.url));

  async function deliver(body: ReturnType<typeof clickOnNewIncident>, env: NodeJS.ProcessEnv = {}) {
    await click(stack.receiverUrl, 'once', body);
    const queue = stack.queues.get('once')!;
    const event = sqsEventOf(await receive(stack.sqs, queue.url, 1), queue.arn);
    return { event, handler: makeWorker(workerDeps(workerConfig({ ...stack.workerEnv.get('once')!, ...env }, actions))) };
  }

  it('ends the final-attempt failure path inside the worker deadline, saying why the comment was not written', async () => {
    failing = true;
    stack.flashduty!.intercept = () => 'hang';
    const { event, handler } = await deliver(clickOnNewIncident(), { MAX_RECEIVE_COUNT: '1' });
    const context = lambdaContext('once-worker', TIMEOUT_SECONDS);
    let result: unknown;
    const lines = await captureLogs(async () => {
      result = await handler(event, context);
    });
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
    const failure = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'could not write the failure to the incident');
    expect(failure?.error).toMatch(/\/incident\/comment: no answer (before the deadline|within \d+ ms)/);
  }, 15_000);

  it('does not post again on the next delivery when the first post was stored but never answered', async () => {
    failing = false;
    // The post is stored and never answered; the timeline cannot be read either, so the first
    // delivery cannot know and fails inside its deadline.
    stack.flashduty!.intercept = ({ path }) => (path === '/incident/comment' ? { afterHandling: true, delayMs: Infinity } : 'hang');
    const body = clickOnNewIncident();
    const { event, handler } = await deliver(body);
    const first = await handler(event, lambdaContext('once-worker', TIMEOUT_SECONDS));
    expect(first.batchItemFailures).toHaveLength(1);
    expect(stack.flashduty!.comments(body.incident.incident_id)).toHaveLength(1);

    stack.flashduty!.intercept = undefined;
    event.Records[0]!.attributes.ApproximateReceiveCount = '2';
    expect(await handler(event, lambdaContext('once-worker', TIMEOUT_SECONDS))).toEqual({ batchItemFailures: [] });
    expect(stack.flashduty!.comments(body.incident.incident_id)).toEqual([expect.stringContaining('once succeeded')]);
    expect(stack.flashduty!.calls.map((c) => c.path)).toEqual(['/incident/feed']);
  }, 20_000);

  it('does not post the unreadable-message failure twice when the first post was stored but never answered', async () => {
    const incidentId = clickOnNewIncident().incident.incident_id;
    const queue = stack.queues.get('once')!;
    const unreadable = JSON.stringify({ version: 1, action: 'once', payload: { incident: { incident_id: incidentId } } });
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: unreadable, MessageGroupId: incidentId, MessageDeduplicationId: `poison-${incidentId}` }));
    const event = sqsEventOf(await receive(stack.sqs, queue.url, 1), queue.arn);
    const env = { MAX_RECEIVE_COUNT: '1', FLASHDUTY_TIMEOUT_MS: '300', FLASHDUTY_RETRY_BASE_MS: '10' };
    const handler = makeWorker(workerDeps(workerConfig({ ...stack.workerEnv.get('once')!, ...env }, actions)));
    // The first post is stored, and its answer never comes: the retry must find it on the timeline.
    stack.flashduty!.intercept = ({ path, attempt }) => (path === '/incident/comment' && attempt === 1 ? { afterHandling: true, delayMs: Infinity } : undefined);
    expect((await handler(event, lambdaContext('once-worker', TIMEOUT_SECONDS))).batchItemFailures).toHaveLength(1);
    expect(stack.flashduty!.comments(incidentId)).toEqual([expect.stringContaining('could not be read')]);
    expect(stack.flashduty!.calls.map((c) => c.path)).toEqual(['/incident/feed']);
  }, 20_000);
});
