import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { receiverConfig } from '../../lib/config/receiver';
import { decodeQueueMessage, type OutgoingMessage } from '../../lib/queue/envelope';
import { enqueue } from '../../lib/queue/sqs';
import { parseClick } from '../../lib/receiver/click';
import { makeReceiver } from '../../lib/receiver/handler';
import { receiverDeps } from '../../lib/receiver/wiring';
import { serveHttpApi } from '../../local/http-api';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { clickWithAlerts, clickWithIncident, EVENT_ID, INCIDENT_ID, sampleClick } from '../fixtures/clicks';
import { click, depth, drain, testEnv, TOKEN } from './helpers';

describe('receiver against the SQS emulator', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv(), port: 0, workers: false });
  });
  afterAll(() => stack.stop());
  afterEach(async () => {
    for (const queue of stack.queues.values()) await drain(stack.sqs, queue.url);
  });

  const queueUrl = (action: string) => stack.queues.get(action)!.url;
  const queued = (action: string) => depth(stack.sqs, queueUrl(action));

  it('puts the click on its action FIFO queue, grouped by incident and deduplicated by action, incident and event id', async () => {
    const response = await click(stack.receiverUrl, 'restart-host', sampleClick({ event_id: EVENT_ID }));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'queued', action: 'restart-host', event_id: EVENT_ID });

    const messages = await drain(stack.sqs, queueUrl('restart-host'));
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Attributes?.MessageGroupId).toBe(INCIDENT_ID);
    expect(messages[0]?.Attributes?.MessageDeduplicationId).toBe(`restart-host/${INCIDENT_ID}/${EVENT_ID}`);
    const message = decodeQueueMessage(messages[0]!.Body!);
    expect(message).toMatchObject({ action: 'restart-host', event_id: EVENT_ID });
    expect(message.payload.incident.labels?.resource).toBe('es.nj.01');
    expect(await drain(stack.sqs, queueUrl('echo'))).toHaveLength(0);
  });

  it('absorbs FlashDuty retrying the same event: one message for two deliveries', async () => {
    const body = sampleClick();
    expect((await click(stack.receiverUrl, 'echo', body)).status).toBe(200);
    expect((await click(stack.receiverUrl, 'echo', body)).status).toBe(200);
    expect(await drain(stack.sqs, queueUrl('echo'))).toHaveLength(1);
  });

  it('deduplicates on incident.event_id when the top level has none', async () => {
    const { event_id: _none, ...body } = clickWithIncident({ event_id: 'nested-event-7' });
    await click(stack.receiverUrl, 'echo', body);
    await click(stack.receiverUrl, 'echo', { ...body, event_time: body.event_time + 1 });
    const messages = await drain(stack.sqs, queueUrl('echo'));
    expect(messages.map((m) => m.Attributes?.MessageDeduplicationId)).toEqual([`echo/${INCIDENT_ID}/nested-event-7`]);
  });

  it('queues an incident with hundreds of alerts, compacted to fit one message', async () => {
    const response = await click(stack.receiverUrl, 'echo', clickWithAlerts(900, 1200));
    expect(response.status).toBe(200);
    const [message] = await drain(stack.sqs, queueUrl('echo'));
    const decoded = decodeQueueMessage(message!.Body!);
    expect(decoded.payload.incident.alert_cnt).toBe(900);
    expect(decoded.compacted?.alerts_dropped).toBeGreaterThan(0);
    expect(Buffer.byteLength(message!.Body!)).toBeLessThanOrEqual(256 * 1024);
  });

  it('gives SendMessage its whole timeout however long the message took to encode: a push slow to compact is still queued', async () => {
    const { payload, eventId } = parseClick(JSON.stringify(sampleClick()), false, { now: Date.now(), maxEventAgeMs: 300_000 });
    // Encoding this takes 150 ms (as compacting a push of very many keys can), more than the 100 ms SendMessage is given.
    const slow = { toJSON: () => busyFor(150) };
    const message = { version: 1, action: 'echo', event_id: eventId, received_at: Date.now(), payload: { ...payload, slow } } as OutgoingMessage;
    await enqueue(stack.sqs, queueUrl('echo'), message, { maxBytes: 256 * 1024, timeoutMs: 100 });
    const [queuedMessage] = await drain(stack.sqs, queueUrl('echo'));
    expect(decodeQueueMessage(queuedMessage!.Body!)).toMatchObject({ event_id: eventId, payload: { slow: 'encoded' } });
  });

  it('encodes every message sent together before any of their clocks starts (the events route sends one per rule at once)', async () => {
    const { payload, eventId } = parseClick(JSON.stringify(sampleClick()), false, { now: Date.now(), maxEventAgeMs: 300_000 });
    const message = (id: string, extra: object) => ({ version: 1, action: 'echo', event_id: `${eventId}:${id}`, received_at: Date.now(), payload: { ...payload, ...extra } }) as OutgoingMessage;
    // The second takes 150 ms to encode, more than the 100 ms the first is given to send.
    const sends = [message('fast', {}), message('slow', { slow: { toJSON: () => busyFor(150) } })].map((m) => enqueue(stack.sqs, queueUrl('echo'), m, { maxBytes: 256 * 1024, timeoutMs: 100 }));
    await Promise.all(sends);
    expect((await drain(stack.sqs, queueUrl('echo'))).map((m) => decodeQueueMessage(m.Body!).event_id).sort()).toEqual([`${eventId}:fast`, `${eventId}:slow`]);
  });

  it.each([
    ['a wrong token', 'echo', sampleClick(), { token: 'wrong-token-0123456789xyz' }, 401],
    ['no token', 'echo', sampleClick(), { token: null }, 401],
    ['an unknown action', 'reboot-everything', sampleClick(), {}, 404],
    ['a GET', 'echo', undefined, { method: 'GET' }, 405],
    ['a bad body', 'echo', '{"event_type":"i_custom"', {}, 400],
    ['a stale event_time', 'echo', sampleClick({ event_time: Date.now() - 600_000 }), {}, 400],
  ] as const)('refuses %s and enqueues nothing', async (_label, action, body, options, status) => {
    const response = await click(stack.receiverUrl, action, body, options);
    expect(response.status).toBe(status);
    expect(typeof response.body.error).toBe('string');
    expect((await queued('echo')) + (await queued('restart-host'))).toBe(0);
  });

  it('refuses a foreign IP with 403 and enqueues nothing, whatever X-Forwarded-For says', async () => {
    const foreign = await startLocalStack({ env: testEnv({ ALLOWED_IPS: '47.94.95.118' }), port: 0, workers: false });
    try {
      const response = await click(foreign.receiverUrl, 'echo', sampleClick(), { headers: { 'x-forwarded-for': '47.94.95.118' } });
      expect(response.status).toBe(403);
      expect(await depth(foreign.sqs, foreign.queues.get('echo')!.url)).toBe(0);
    } finally {
      await foreign.stop();
    }
  });
});

describe('receiver cold start', () => {
  it('warms its SQS client at cold start by reading queue attributes, never by sending', async () => {
    // An SQS endpoint that records every request: a cold receiver may read, but must not enqueue.
    const requests: string[] = [];
    const sqsEndpoint = createHttpServer((req, res) => {
      requests.push(String(req.headers['x-amz-target']));
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => sqsEndpoint.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(sqsEndpoint.address() as AddressInfo).port}`;
    try {
      receiverDeps(receiverConfig({ ...testEnv({ ENABLED_ACTIONS: 'echo' }), QUEUE_URL_ECHO: `${endpoint}/000000000000/x.fifo`, AWS_ENDPOINT_URL_SQS: endpoint }));
      // Wait for the warm-up (however busy the machine), then a little longer for anything after it.
      for (const started = Date.now(); requests.length === 0 && Date.now() - started < 10_000; ) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(requests.length).toBeGreaterThan(0);
      expect(new Set(requests)).toEqual(new Set(['AmazonSQS.GetQueueAttributes']));
    } finally {
      sqsEndpoint.close();
    }
  });
});

describe('receiver when the queue is unreachable', () => {
  async function receiverAt(sqsEndpoint: string) {
    const env = { ...testEnv({ ENABLED_ACTIONS: 'echo' }), QUEUE_URL_ECHO: `${sqsEndpoint}/000000000000/x.fifo`, AWS_ENDPOINT_URL_SQS: sqsEndpoint };
    return serveHttpApi(makeReceiver(receiverDeps(receiverConfig(env))), { port: 0 });
  }

  it('answers 503 well inside 1 s when nothing listens on the queue endpoint', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const http = await receiverAt(`http://127.0.0.1:${port}`);
    try {
      const response = await click(http.url, 'echo', sampleClick());
      expect(response.status).toBe(503);
      expect(response.ms).toBeLessThan(1000);
    } finally {
      http.server.close();
    }
  });

  it('answers 503 inside 1 s when the queue endpoint accepts but never answers', async () => {
    const sockets: Array<import('node:net').Socket> = [];
    const blackhole: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const http = await receiverAt(`http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`);
    try {
      const response = await click(http.url, 'echo', sampleClick());
      expect(response.status).toBe(503);
      expect(response.ms).toBeLessThan(1000);
      expect(JSON.stringify(response.body)).not.toContain(TOKEN);
    } finally {
      http.server.close();
      for (const socket of sockets) socket.destroy();
      blackhole.close();
    }
  });
});

/** Keeps the thread busy for `ms`, then returns 'encoded'. */
function busyFor(ms: number): string {
  const until = Date.now() + ms;
  while (Date.now() < until);
  return 'encoded';
}
