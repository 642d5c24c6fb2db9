import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { notYetImplemented } from '../fixtures/not-yet-action';
import { ACTIONS } from '../../lib/actions/registry';
import { defineAction } from '../../lib/actions/types';
import { workerConfig } from '../../lib/config/worker';
import { lambdaContext, sqsEventOf } from '../../local/sqs-poller';
import { redrive } from '../../lib/queue/redrive';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { captureLogs } from '../fixtures/capture-logs';
import { clickOnNewIncident } from '../fixtures/clicks';
import { click, depth, drain, eventually, testEnv } from './helpers';

/** Test actions: one that counts its runs, one that throws while `failing` is set. */
const runs = { counting: 0, flaky: 0 };
let failing = true;
const counting = defineAction({
  name: 'counting',
  description: 'counts runs',
  config: v.object({}),
  async run({ message }) {
    runs.counting++;
    return { status: 'succeeded', summary: `counted ${message.event_id}` };
  },
});
const flaky = defineAction({
  name: 'flaky',
  description: 'throws while told to',
  config: v.object({}),
  async run() {
    runs.flaky++;
    if (failing) throw new Error('downstream timed out');
    return { status: 'succeeded', summary: 'worked this time' };
  },
});
const unbuilt = notYetImplemented('unbuilt', 'an action not written yet');
const actions = [...ACTIONS, counting, flaky, unbuilt];

describe('workers: click -> queue -> action -> comment', () => {
  let stack: LocalStack;
  const comments = (incidentId: string) => stack.flashduty!.comments(incidentId);

  beforeAll(async () => {
    stack = await startLocalStack({
      env: testEnv({ ENABLED_ACTIONS: 'echo,counting,flaky,unbuilt', RETRY_BASE_SECONDS: '1', MAX_RECEIVE_COUNT: '3' }),
      actions,
      port: 0,
    });
  });
  afterAll(() => stack.stop());
  beforeEach(() => {
    stack.flashduty!.reset();
    runs.counting = 0;
    runs.flaky = 0;
    failing = true;
  });

  it('writes exactly one comment per click, saying which action ran, for whom, and the outcome', async () => {
    const body = clickOnNewIncident();
    expect((await click(stack.receiverUrl, 'echo', body)).status).toBe(200);
    const [comment] = await eventually(() => (comments(body.incident.incident_id).length ? comments(body.incident.incident_id) : undefined));
    expect(comment).toContain('[flashduty-actions] echo succeeded — clicked by zhangsan');
    expect(comment).toContain(`event ${body.event_id}`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(comments(body.incident.incident_id)).toHaveLength(1);
  });

  it('writes a failed outcome for an action that is not implemented, never a silent success', async () => {
    const body = clickOnNewIncident();
    await click(stack.receiverUrl, 'unbuilt', body);
    const [comment] = await eventually(() => (comments(body.incident.incident_id).length ? comments(body.incident.incident_id) : undefined));
    expect(comment).toContain('unbuilt FAILED');
    expect(comment).toContain('not implemented yet');
  });

  it('runs the action once and comments once when FlashDuty retries the push', async () => {
    const body = clickOnNewIncident();
    await click(stack.receiverUrl, 'counting', body);
    await click(stack.receiverUrl, 'counting', body);
    await eventually(() => (comments(body.incident.incident_id).length ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(comments(body.incident.incident_id)).toHaveLength(1);
    expect(runs.counting).toBe(1);
  });

  it('retries a throwing action with a growing delay, dead-letters it, and comments the failure once', async () => {
    const body = clickOnNewIncident();
    await click(stack.receiverUrl, 'flaky', body);
    const dlq = stack.queues.get('flaky')!.dlqUrl;
    await eventually(async () => ((await depth(stack.sqs, dlq)) === 1 ? true : undefined), 20_000, 'the message in the DLQ');
    expect(runs.flaky).toBe(3);
    const all = comments(body.incident.incident_id);
    expect(all).toHaveLength(1);
    expect(all[0]).toContain('flaky FAILED');
    expect(all[0]).toContain('gave up after 3 attempts: Error: downstream timed out');
    expect(stack.flashduty!.calls).toHaveLength(1);
    await drain(stack.sqs, dlq);
  });

  it('brings a dead-lettered click back with redrive, and it then succeeds', async () => {
    const body = clickOnNewIncident();
    await click(stack.receiverUrl, 'flaky', body);
    const queue = stack.queues.get('flaky')!;
    await eventually(async () => ((await depth(stack.sqs, queue.dlqUrl)) === 1 ? true : undefined), 20_000, 'the message in the DLQ');
    failing = false;
    expect(await redrive(stack.sqs, { queueUrl: queue.url, dlqUrl: queue.dlqUrl })).toBe(1);
    const done = await eventually(() => {
      const all = comments(body.incident.incident_id);
      return all.length === 2 ? all : undefined;
    }, 10_000, 'the success comment');
    expect(done[0]).toContain('flaky FAILED');
    expect(done[1]).toContain('flaky succeeded');
    expect(runs.flaky).toBe(4);
    expect(await depth(stack.sqs, queue.dlqUrl)).toBe(0);
  });

  it('retries the write-back when FlashDuty answers 429, and comments once', async () => {
    stack.flashduty!.intercept = ({ attempt }) =>
      attempt === 1 ? { status: 429, body: JSON.stringify({ request_id: 'r', error: { code: 'RequestTooFrequently', message: 'slow down' } }) } : undefined;
    const body = clickOnNewIncident();
    await click(stack.receiverUrl, 'counting', body);
    await eventually(() => (comments(body.incident.incident_id).length ? true : undefined), 10_000, 'the comment');
    expect(stack.flashduty!.calls.map((c) => c.status)).toEqual([429, 200]);
    expect(runs.counting).toBe(1);
  });

  it('moves an unreadable message to the DLQ without blocking later clicks on the same incident', async () => {
    const body = clickOnNewIncident();
    const queue = stack.queues.get('counting')!;
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: JSON.stringify({ version: 1, action: 'counting', payload: { incident: { incident_id: body.incident.incident_id } } }),
        MessageGroupId: body.incident.incident_id,
        MessageDeduplicationId: `poison-${body.event_id}`,
      }),
    );
    await click(stack.receiverUrl, 'counting', body);
    const all = await eventually(() => {
      const found = comments(body.incident.incident_id);
      return found.some((c) => c.includes('counting succeeded')) ? found : undefined;
    }, 15_000, 'the valid click to be processed');
    expect(await depth(stack.sqs, queue.dlqUrl)).toBe(1);
    expect(all.find((c) => c.includes('could not be read'))).toContain('event_id: is required');
    expect(runs.counting).toBe(1);
    await drain(stack.sqs, queue.dlqUrl);
  });
});

describe('a worker given the same SQS record twice (a redelivery after a crash)', () => {
  it('runs the action and comments only the first time', async () => {
    const stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'counting' }), actions, port: 0, workers: false });
    try {
      runs.counting = 0;
      const body = clickOnNewIncident();
      await click(stack.receiverUrl, 'counting', body);
      const queue = stack.queues.get('counting')!;
      const { Messages = [] } = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['All'] }));
      const handler = makeWorker(workerDeps(workerConfig(stack.workerEnv.get('counting')!, actions)));
      const event = sqsEventOf(Messages, queue.arn);
      const lines = await captureLogs(async () => {
        expect(await handler(event, lambdaContext('counting-worker', 30))).toEqual({ batchItemFailures: [] });
        expect(await handler(event, lambdaContext('counting-worker', 30))).toEqual({ batchItemFailures: [] });
      });
      expect(runs.counting).toBe(1);
      expect(stack.flashduty!.comments(body.incident.incident_id)).toHaveLength(1);
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(parsed.map((line) => line.message)).toEqual([
        'action finished',
        'duplicate delivery: the action already ran for this event; not running it again',
        'duplicate delivery: the result is already on the incident',
      ]);
      for (const line of parsed) {
        expect(line).toMatchObject({ action: 'counting', event_id: body.event_id, incident_id: body.incident.incident_id });
      }
    } finally {
      await stack.stop();
    }
  });
});
