import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { defineAction } from '../../lib/actions/types';
import { encodeQueueMessage } from '../../lib/queue/compact';
import type { QueueMessage } from '../../lib/queue/envelope';
import { clickOnNewIncident } from '../fixtures/clicks';
import { PUSH_VARIANTS } from '../fixtures/push-variants';
import { click, depth, eventually, testEnv } from './helpers';

/** A test action that keeps every message a worker hands it, by incident. */
const received = new Map<string, QueueMessage[]>();
const capture = defineAction({
  name: 'capture',
  description: 'keeps what the worker received',
  config: v.object({}),
  async run({ message }) {
    const id = message.payload.incident.incident_id;
    received.set(id, [...(received.get(id) ?? []), message]);
    return { status: 'succeeded', summary: 'captured' };
  },
});

/** Room for a busy machine: each test waits on the emulator and a polling worker. */
const TEST_TIMEOUT_MS = 20_000;

describe('pushes through the SQS emulator to a worker', () => {
  let stack: LocalStack;
  const runsOn = (incidentId: string) => eventually(() => received.get(incidentId), TEST_TIMEOUT_MS - 5000, `a run on ${incidentId}`);

  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'echo,capture' }), actions: [...ACTIONS, capture], port: 0 });
  }, TEST_TIMEOUT_MS);
  afterAll(() => stack.stop());

  it.each(PUSH_VARIANTS)('runs the action for a push with %s, and writes its comment', async (_name, variant) => {
    const body = variant(clickOnNewIncident());
    const incidentId = (body.incident as { incident_id: string }).incident_id;
    const response = await click(stack.receiverUrl, 'capture', body);
    expect(response.body).toMatchObject({ status: 'queued' });
    expect(response.status).toBe(200);
    const [message] = await runsOn(incidentId);
    expect(message?.event_id).toBe(response.body.event_id);
    const [comment] = await eventually(() => (stack.flashduty!.comments(incidentId).length ? stack.flashduty!.comments(incidentId) : undefined));
    expect(comment).toContain('capture succeeded');
  }, TEST_TIMEOUT_MS);

  it('carries every character to the worker intact: emoji, U+FFFE/U+FFFF, lone surrogates, CJK', async () => {
    const title = '🚨 磁盘告警 \uFFFE\uFFFF lone \uD800 and \uDFFF 𝕏';
    const name = '张三 👩‍💻';
    const plain = clickOnNewIncident();
    const body = { ...plain, person: { ...plain.person, person_name: name }, incident: { ...plain.incident, title, labels: { 服务: '支付 🔥' } } };
    const response = await click(stack.receiverUrl, 'capture', body);
    expect(response.status).toBe(200);
    const [message] = await runsOn(body.incident.incident_id);
    expect(message?.payload.incident.title).toBe(title);
    expect(message?.payload.person?.person_name).toBe(name);
    expect(message?.payload.incident.labels).toEqual({ 服务: '支付 🔥' });
    const [comment] = await eventually(() => (stack.flashduty!.comments(body.incident.incident_id).length ? stack.flashduty!.comments(body.incident.incident_id) : undefined));
    expect(comment).toContain(`clicked by ${name}`);
  }, TEST_TIMEOUT_MS);

  it('runs both clicks when two incidents carry the same event_id', async () => {
    const first = clickOnNewIncident({ event_id: 'evt-shared-across-incidents' });
    const second = clickOnNewIncident({ event_id: 'evt-shared-across-incidents' });
    expect((await click(stack.receiverUrl, 'capture', first)).status).toBe(200);
    expect((await click(stack.receiverUrl, 'capture', second)).status).toBe(200);
    expect(await runsOn(first.incident.incident_id)).toHaveLength(1);
    expect(await runsOn(second.incident.incident_id)).toHaveLength(1);
    for (const body of [first, second]) {
      await eventually(() => (stack.flashduty!.comments(body.incident.incident_id).length ? true : undefined), 10_000, 'the comment');
    }
  }, TEST_TIMEOUT_MS);

  it('runs once when the same event on the same incident is pushed again, even past the queue', async () => {
    const body = clickOnNewIncident();
    const queue = stack.queues.get('capture')!;
    expect((await click(stack.receiverUrl, 'capture', body)).status).toBe(200);
    // The push again later (another event_time): the queue's deduplication absorbs it...
    expect((await click(stack.receiverUrl, 'capture', { ...body, event_time: body.event_time + 1000 })).status).toBe(200);
    await runsOn(body.incident.incident_id);
    // ...and a copy that slips past it (after the 5-minute window) meets the worker's idempotency key.
    const [queued] = received.get(body.incident.incident_id)!;
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: encodeQueueMessage(queued!, 256 * 1024),
        MessageGroupId: body.incident.incident_id,
        MessageDeduplicationId: 'past-the-window',
      }),
    );
    await eventually(async () => ((await depth(stack.sqs, queue.url)) === 0 ? true : undefined), 10_000, 'the copy to be taken off the queue');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(received.get(body.incident.incident_id)).toHaveLength(1);
    expect(stack.flashduty!.comments(body.incident.incident_id)).toHaveLength(1);
  }, TEST_TIMEOUT_MS);

  it('echo comments on a push that carries no title and no person', async () => {
    const plain = clickOnNewIncident();
    const { title: _title, ...incident } = plain.incident;
    const body = { ...plain, person: null, incident };
    expect((await click(stack.receiverUrl, 'echo', body)).status).toBe(200);
    const [comment] = await eventually(() => (stack.flashduty!.comments(incident.incident_id).length ? stack.flashduty!.comments(incident.incident_id) : undefined));
    expect(comment).toContain('[flashduty-actions] echo succeeded\nreceived the click (the push carried no incident title)');
  }, TEST_TIMEOUT_MS);
});
