import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import { enqueue } from '../../lib/queue/sqs';
import { parseClick } from '../../lib/receiver/click';
import { runOf } from '../../lib/receiver/events';
import { Rule } from '../../lib/triggers/rules';
import { captureLogs } from '../fixtures/capture-logs';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { defineAction } from '../../lib/actions/types';
import { receiverConfig } from '../../lib/config/receiver';
import { workerConfig } from '../../lib/config/worker';
import { serveHttpApi } from '../../local/http-api';
import { lambdaContext, sqsEventOf } from '../../local/sqs-poller';
import { makeReceiver } from '../../lib/receiver/handler';
import { receiverDeps } from '../../lib/receiver/wiring';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { clickOnNewIncident } from '../fixtures/clicks';
import { countingAction } from '../fixtures/counting-action';
import { click, depth, drain, eventually, lateAnswerProxy, receive, testEnv } from './helpers';

/** An action with side effects that counts its runs per event; throws for events in `failing`, refuses those in `refusing`. */
const { action: bump, runs, failing, refusing } = countingAction('bump');
/** The same side effect, from an action whose repeat is harmless by design (like status-page). */
const nudge = defineAction({ ...bump, name: 'nudge', description: 'side effects, but a repeat is harmless', cooldown: false });
const actions = [...ACTIONS, bump, nudge];
const id = (body: { event_id?: unknown }) => String(body.event_id);

describe('cool-down: a second click on the same incident and action', () => {
  let stack: LocalStack;
  const start = (env: NodeJS.ProcessEnv = {}) =>
    startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'bump,nudge,echo', DRY_RUN: 'false', RETRY_BASE_SECONDS: '0', ...env }), actions, port: 0, workers: false });
  const worker = (name: string, env: NodeJS.ProcessEnv = {}) => makeWorker(workerDeps(workerConfig({ ...stack.workerEnv.get(name)!, ...env }, actions)));

  /** Clicks `action` once per body, each handed to a worker invocation of its own after the one before finished. */
  async function clickAndWork(action: string, bodies: Array<ReturnType<typeof clickOnNewIncident>>, env: NodeJS.ProcessEnv = {}) {
    const queue = stack.queues.get(action)!;
    const results = [];
    for (const body of bodies) {
      expect((await click(stack.receiverUrl, action, body)).status).toBe(200);
      const messages = await receive(stack.sqs, queue.url, 1);
      results.push(await worker(action, env)(sqsEventOf(messages, queue.arn), lambdaContext(`${action}-worker`, 30)));
    }
    return results;
  }

  /**
   * Clicks `bump` once, lets a worker fail it on its last attempt, then does what `npm run redrive`
   * does: the same body as a new message, whose receive count starts again at 1. Returns it, received.
   */
  async function failThenRedrive(body: ReturnType<typeof clickOnNewIncident>) {
    const queue = stack.queues.get('bump')!;
    expect((await click(stack.receiverUrl, 'bump', body)).status).toBe(200);
    const [delivered] = await receive(stack.sqs, queue.url, 1);
    expect((await worker('bump', { MAX_RECEIVE_COUNT: '1' })(sqsEventOf([delivered!], queue.arn), lambdaContext('bump-worker', 30))).batchItemFailures).toHaveLength(1);
    await drain(stack.sqs, queue.url);
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: delivered!.Body, MessageGroupId: body.incident.incident_id, MessageDeduplicationId: `redriven-${id(body)}` }));
    const [redriven] = await receive(stack.sqs, queue.url, 1);
    return redriven!;
  }

  beforeAll(async () => {
    stack = await start();
  });
  afterAll(() => stack.stop());
  afterEach(async () => {
    for (const action of ['bump', 'nudge', 'echo']) await drain(stack.sqs, stack.queues.get(action)!.url);
  });
  beforeEach(() => {
    stack.flashduty!.reset();
    runs.clear();
    failing.clear();
    refusing.clear();
  });

  it('is acknowledged and written back as skipped, naming the click that ran and when the cool-down ends', async () => {
    const first = clickOnNewIncident();
    const second = { ...clickOnNewIncident(), incident: first.incident };
    expect(await clickAndWork('bump', [first, second])).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(runs.get(id(first))).toBe(1);
    expect(runs.has(id(second))).toBe(false);
    const [ran, skipped] = stack.flashduty!.comments(first.incident.incident_id);
    expect(ran).toContain('bump succeeded');
    expect(skipped).toContain('[flashduty-actions] bump skipped (not run again)');
    expect(skipped).toContain('just ran on this incident for another click');
    expect(skipped).toContain(`• previous click: event ${first.event_id}, started `);
    expect(skipped).toMatch(/• cool-down ends: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(skipped).toMatch(new RegExp(`event ${second.event_id}$`));
  });

  it('does not block a redelivery of the click that holds it', async () => {
    const body = clickOnNewIncident();
    failing.add(id(body));
    await click(stack.receiverUrl, 'bump', body);
    const queue = stack.queues.get('bump')!;
    const [message] = await receive(stack.sqs, queue.url, 1);
    const event = sqsEventOf([message!], queue.arn);
    const handler = worker('bump');
    expect((await handler(event, lambdaContext('bump-worker', 30))).batchItemFailures).toHaveLength(1);
    failing.clear();
    event.Records[0]!.attributes.ApproximateReceiveCount = '2';
    expect(await handler(event, lambdaContext('bump-worker', 30))).toEqual({ batchItemFailures: [] });
    expect(runs.get(id(body))).toBe(2);
    expect(stack.flashduty!.comments(body.incident.incident_id)).toEqual([expect.stringContaining('bump succeeded')]);
  });

  it('says "already running" to a click that reaches another worker while the holder is still being retried', async () => {
    const first = clickOnNewIncident();
    failing.add(id(first));
    expect((await clickAndWork('bump', [first]))[0]!.batchItemFailures).toHaveLength(1);
    // FIFO keeps the incident's next click behind the first; a second worker getting it anyway
    // (a crashed invocation's message, a standard queue) is what the cool-down guards against.
    const second = { ...clickOnNewIncident(), incident: first.incident };
    const body = JSON.stringify({ version: 1, action: 'bump', event_id: id(second), received_at: Date.now(), payload: second });
    const event = sqsEventOf([{ MessageId: 'm-second', ReceiptHandle: 'not-on-the-queue', Body: body }], stack.queues.get('bump')!.arn);
    expect(await worker('bump')(event, lambdaContext('bump-worker', 30))).toEqual({ batchItemFailures: [] });
    const skipped = stack.flashduty!.comments(first.incident.incident_id).find((c) => c.includes('skipped'));
    expect(skipped).toContain('is already running (or retrying) on this incident for another click');
    expect(runs.has(id(second))).toBe(false);
  });

  it('is released when the holder is dead-lettered, so the next click runs', async () => {
    const first = clickOnNewIncident();
    failing.add(id(first));
    expect((await clickAndWork('bump', [first], { MAX_RECEIVE_COUNT: '1' }))[0]!.batchItemFailures).toHaveLength(1);
    await drain(stack.sqs, stack.queues.get('bump')!.url);
    const second = { ...clickOnNewIncident(), incident: first.incident };
    await clickAndWork('bump', [second]);
    expect(runs.get(id(second))).toBe(1);
  });

  it('is freed by a run that failed or was refused, so clicking again after a FAILED comment runs', async () => {
    const first = clickOnNewIncident();
    refusing.add(id(first));
    const second = { ...clickOnNewIncident(), incident: first.incident };
    await clickAndWork('bump', [first, second]);
    expect(runs.get(id(second))).toBe(1);
    expect(stack.flashduty!.comments(first.incident.incident_id).map((c) => c.split('\n')[0])).toEqual([
      '[flashduty-actions] bump FAILED — clicked by zhangsan',
      '[flashduty-actions] bump succeeded — clicked by zhangsan',
    ]);
  });

  it('is kept when the action ran and only writing its result failed, and the incident is told what ran, not that it failed', async () => {
    const first = clickOnNewIncident();
    // FlashDuty refuses the result (the comment alone); the last attempt's notice gets through.
    const refused = { status: 400, body: JSON.stringify({ request_id: 'r', error: { code: 'InvalidParameter', message: 'comment refused' } }) };
    stack.flashduty!.intercept = ({ path, body }) =>
      path === '/incident/comment' && !String((body as { comment?: string }).comment).includes(' final-failure event ') ? refused : undefined;
    expect((await clickAndWork('bump', [first], { MAX_RECEIVE_COUNT: '1' }))[0]!.batchItemFailures).toHaveLength(1);
    stack.flashduty!.intercept = undefined;
    await drain(stack.sqs, stack.queues.get('bump')!.url);
    const second = { ...clickOnNewIncident(), incident: first.incident };
    await clickAndWork('bump', [second]);
    expect([runs.get(id(first)), runs.get(id(second))]).toEqual([1, undefined]);
    const [notice, skipped] = stack.flashduty!.comments(first.incident.incident_id);
    expect(notice!.split('\n')[0]).toBe('[flashduty-actions] bump succeeded — clicked by zhangsan');
    expect(notice).toContain('this result could not be written to the incident in 1 attempts');
    expect(notice).toContain('`npm run redrive` writes the result back without running the action again');
    expect(skipped!.split('\n')[0]).toBe('[flashduty-actions] bump skipped (not run again) — clicked by zhangsan');
  }, 30_000);

  it('lets a redriven click look on the timeline before posting: a result whose answer was lost is not posted again', async () => {
    const first = clickOnNewIncident();
    // The result lands but its answer is lost, and the timeline cannot be read, on every attempt.
    stack.flashduty!.intercept = ({ path }) => (path === '/incident/comment' ? { drop: true, afterHandling: true } : path === '/incident/feed' ? { status: 500 } : undefined);
    const redriven = await failThenRedrive(first);
    stack.flashduty!.intercept = undefined;
    expect(redriven.Attributes?.ApproximateReceiveCount).toBe('1');
    const queue = stack.queues.get('bump')!;
    expect(await worker('bump')(sqsEventOf([redriven], queue.arn), lambdaContext('bump-worker', 30))).toEqual({ batchItemFailures: [] });
    expect(runs.get(id(first))).toBe(1);
    const results = stack.flashduty!.comments(first.incident.incident_id).filter((c) => c.endsWith(`flashduty-actions/bump event ${id(first)}`));
    expect(results).toHaveLength(1);
  }, 30_000);

  it('tells the incident again when a redriven click fails again', async () => {
    const first = clickOnNewIncident();
    failing.add(id(first));
    const redriven = await failThenRedrive(first);
    const queue = stack.queues.get('bump')!;
    await worker('bump', { MAX_RECEIVE_COUNT: '1' })(sqsEventOf([redriven], queue.arn), lambdaContext('bump-worker', 30));
    const notices = stack.flashduty!.comments(first.incident.incident_id);
    expect(notices).toHaveLength(2);
    for (const notice of notices) expect(notice).toContain('bump FAILED');
    expect(runs.get(id(first))).toBe(2);
  }, 30_000);

  it('tells the incident about a click that waited behind a failed one and reaches the DLQ with it, without having run', async () => {
    const first = clickOnNewIncident();
    const second = { ...clickOnNewIncident(), incident: first.incident };
    failing.add(id(first));
    const queue = stack.queues.get('bump')!;
    // SQS hands a worker several messages of one group at once; the emulator one at a time, so the batch is put together here.
    const batch = [];
    for (const body of [first, second]) {
      expect((await click(stack.receiverUrl, 'bump', body)).status).toBe(200);
      batch.push(...(await drain(stack.sqs, queue.url)));
    }
    const result = await worker('bump', { MAX_RECEIVE_COUNT: '1' })(sqsEventOf(batch, queue.arn), lambdaContext('bump-worker', 30));
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(batch.map((message) => message.MessageId));
    expect([runs.get(id(first)), runs.get(id(second))]).toEqual([1, undefined]);
    const notices = stack.flashduty!.comments(first.incident.incident_id);
    expect(notices).toHaveLength(2);
    expect(notices[0]).toContain('gave up after 1 attempts: Error: downstream timed out');
    expect(notices[1]).toContain('not run: a click before it on this incident failed on its last attempt');
    expect(notices[1]).toContain(`event ${id(second)}`);
  }, 30_000);

  it('runs a rule on i_comm when the loop guard cannot read its table (logged), rather than failing the run', async () => {
    const body = clickOnNewIncident();
    const rule = v.parse(Rule, { name: 'bump-on-comment', on: ['i_comm'], run: 'bump' });
    const message = runOf(rule, parseClick(JSON.stringify({ ...body, event_type: 'i_comm' }), false, { now: Date.now(), maxEventAgeMs: 300_000 }), Date.now());
    const runId = message.event_id;
    const queue = stack.queues.get('bump')!;
    await enqueue(stack.sqs, queue.url, message, { maxBytes: 256 * 1024, timeoutMs: 5000 });
    const [delivered] = await receive(stack.sqs, queue.url, 1);
    const throttled = () => Promise.reject(new Error('ProvisionedThroughputExceededException'));
    const deps = workerDeps(workerConfig(stack.workerEnv.get('bump')!, actions));
    let result: unknown;
    const logs = await captureLogs(async () => {
      result = await makeWorker({ ...deps, loops: { claim: throttled, finish: throttled, release: throttled } })(sqsEventOf([delivered!], queue.arn), lambdaContext('bump-worker', 30));
    });
    expect(result).toEqual({ batchItemFailures: [] });
    expect(runs.get(runId)).toBe(1);
    expect(stack.flashduty!.comments(body.incident.incident_id)[0]).toContain('bump succeeded — run automatically by rule "bump-on-comment" on i_comm');
    expect(logs.some((line) => line.includes('could not check the rule loop guard; running the rule'))).toBe(true);
  }, 30_000);

  it('lets a click run again once the cool-down has ended', async () => {
    const first = clickOnNewIncident();
    await clickAndWork('bump', [first], { COOLDOWN_SECONDS: '1' });
    await new Promise((resolve) => setTimeout(resolve, 2200)); // the cool-down is kept in whole seconds
    const second = { ...clickOnNewIncident(), incident: first.incident };
    await clickAndWork('bump', [second], { COOLDOWN_SECONDS: '1' });
    expect(runs.get(id(second))).toBe(1);
  });

  it('absorbs the second click after a 503 whose click was queued anyway: it runs once, and the 503 said not to click again', async () => {
    const proxy = await lateAnswerProxy(stack.sqsEndpoint, 1500);
    const http = await serveHttpApi(makeReceiver(receiverDeps(receiverConfig({ ...stack.workerEnv.get('bump')!, AWS_ENDPOINT_URL_SQS: proxy.url }))), { port: 0 });
    try {
      const first = clickOnNewIncident();
      const answer = await click(http.url, 'bump', first);
      expect(answer.status).toBe(503);
      expect(answer.body.error).toContain('it may still run');
      expect(answer.body.error).not.toMatch(/try again/i);
      const queue = stack.queues.get('bump')!;
      await eventually(async () => ((await depth(stack.sqs, queue.url)) === 1 ? true : undefined), 5000, 'the click queued after all');
      const [queued] = await receive(stack.sqs, queue.url, 1);
      await worker('bump')(sqsEventOf([queued!], queue.arn), lambdaContext('bump-worker', 30));
      const second = { ...clickOnNewIncident(), incident: first.incident };
      await clickAndWork('bump', [second]);
      expect([runs.get(id(first)), runs.get(id(second))]).toEqual([1, undefined]);
      expect(stack.flashduty!.comments(first.incident.incident_id).map((c) => c.split('\n')[0])).toEqual([
        '[flashduty-actions] bump succeeded — clicked by zhangsan',
        '[flashduty-actions] bump skipped (not run again) — clicked by zhangsan',
      ]);
    } finally {
      http.server.close();
      proxy.close();
    }
  });

  it.each([
    ['an action without side effects (echo)', 'echo', {}],
    ['an action that turns it off (cooldown: false)', 'nudge', {}],
    ['a dry run', 'bump', { DRY_RUN: 'true' }],
    ['COOLDOWN_SECONDS=0', 'bump', { COOLDOWN_SECONDS: '0' }],
  ])('does not apply to %s: both clicks run', async (_label, action, env) => {
    const first = clickOnNewIncident();
    const second = { ...clickOnNewIncident(), incident: first.incident };
    await clickAndWork(action, [first, second], env);
    const comments = stack.flashduty!.comments(first.incident.incident_id);
    expect(comments).toHaveLength(2);
    expect(comments.some((c) => c.includes('skipped'))).toBe(false);
  });
});
