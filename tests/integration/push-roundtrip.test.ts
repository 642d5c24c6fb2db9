import * as v from 'valibot';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { defineAction } from '../../lib/actions/types';
import type { QueueMessage } from '../../lib/queue/envelope';
import { clickOnNewIncident } from '../fixtures/clicks';
import { PUSH_VARIANTS } from '../fixtures/push-variants';
import { click, eventually, testEnv } from './helpers';

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

describe('pushes through the SQS emulator to a worker', () => {
  let stack: LocalStack;
  const runsOn = (incidentId: string) => eventually(() => received.get(incidentId), 15_000, `a run on ${incidentId}`);

  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'echo,capture' }), actions: [...ACTIONS, capture], port: 0 });
  });
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
  });

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
  });

  it('echo comments on a push that carries no title and no person', async () => {
    const plain = clickOnNewIncident();
    const { title: _title, ...incident } = plain.incident;
    const body = { ...plain, person: null, incident };
    expect((await click(stack.receiverUrl, 'echo', body)).status).toBe(200);
    const [comment] = await eventually(() => (stack.flashduty!.comments(incident.incident_id).length ? stack.flashduty!.comments(incident.incident_id) : undefined));
    expect(comment).toContain('[flashduty-actions] echo succeeded\nreceived the click (the push carried no incident title)');
  });
});
