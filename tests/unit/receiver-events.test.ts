import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as v from 'valibot';
import { clickKeyOf } from '../../lib/queue/envelope';
import type { ReceiverDeps } from '../../lib/receiver/handler';
import { Rules } from '../../lib/triggers/rules';
import { captureLogs } from '../fixtures/capture-logs';
import { sampleClick } from '../fixtures/clicks';
import { sampleEvent } from '../fixtures/events';
import { FLASHDUTY_IP, receiverUnderTest, TOKEN } from '../fixtures/receiver';

const SELF = 900001;

/** The README's example rules. */
const RULES = v.parse(Rules, [
  { name: 'status-page-open', on: ['i_new'], when: { severity: ['Critical'] }, run: 'status-page' },
  { name: 'status-page-resolve', on: ['i_rslv'], run: 'status-page' },
  { name: 'enrich-new', on: ['i_new'], run: 'enrich' },
  { name: 'customer-facing', on: ['i_r_field'], when: { fields: { customer_facing: true } }, run: 'status-page' },
]);

function request(path: string, overrides: { ip?: string; authorization?: string | null; body?: unknown; method?: string } = {}): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (overrides.authorization !== null) headers.authorization = overrides.authorization ?? `Bearer ${TOKEN}`;
  const action = /^\/actions\/(.+)$/.exec(path)?.[1];
  return {
    version: '2.0',
    routeKey: action ? 'ANY /actions/{action}' : 'POST /events',
    rawPath: path,
    rawQueryString: '',
    headers,
    ...(action && { pathParameters: { action } }),
    requestContext: {
      http: { method: overrides.method ?? 'POST', path, protocol: 'HTTP/1.1', sourceIp: overrides.ip ?? FLASHDUTY_IP, userAgent: 'Go-http-client/1.1' },
    } as APIGatewayProxyEventV2['requestContext'],
    body: typeof overrides.body === 'string' ? overrides.body : JSON.stringify(overrides.body ?? sampleEvent()),
    isBase64Encoded: false,
  };
}

function receiver(overrides: Partial<ReceiverDeps> = {}) {
  return receiverUnderTest({ 'status-page': 'https://queue/status-page.fifo', enrich: 'https://queue/enrich.fifo' }, { rules: RULES, selfPersonIds: [SELF], ...overrides });
}

const lines = async (fn: () => Promise<unknown>) => (await captureLogs(fn)).map((line) => JSON.parse(line) as Record<string, unknown>);
const bodyOf = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

describe('receiver: POST /events (Incident Webhook)', () => {
  it('queues one run per matching rule, each like a click on its action, carrying the rule, the event type and time', async () => {
    const { handler, sent } = receiver();
    const event = sampleEvent({ event_id: 'fac0599a2a25529ba2362c0c184b6cfb' });
    const response = await handler(request('/events', { body: event }));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      status: 'queued',
      event_id: 'fac0599a2a25529ba2362c0c184b6cfb',
      runs: [
        { rule: 'status-page-open', action: 'status-page', event_id: 'fac0599a2a25529ba2362c0c184b6cfb:status-page-open' },
        { rule: 'enrich-new', action: 'enrich', event_id: 'fac0599a2a25529ba2362c0c184b6cfb:enrich-new' },
      ],
    });
    expect(sent.map((s) => s.queueUrl)).toEqual(['https://queue/status-page.fifo', 'https://queue/enrich.fifo']);
    expect(sent[0]?.message).toMatchObject({
      version: 1,
      action: 'status-page',
      trigger: { rule: 'status-page-open', event_type: 'i_new', event_id: 'fac0599a2a25529ba2362c0c184b6cfb' },
      payload: { event_time: event.event_time, event_type: 'i_new', incident: { incident_id: event.incident.incident_id } },
    });
    expect(sent[0]?.message.payload.incident.alerts).toBeUndefined();
  });

  it('keeps two rules running the same action on one event apart: different run ids and deduplication keys', async () => {
    const rules = v.parse(Rules, [
      { name: 'a', on: ['i_new'], run: 'enrich' },
      { name: 'b', on: ['i_new'], run: 'enrich' },
    ]);
    const { handler, sent } = receiver({ rules });
    expect((await handler(request('/events'))).statusCode).toBe(200);
    const keys = sent.map((s) => clickKeyOf(s.message));
    expect(new Set(keys).size).toBe(2);
  });

  it('gives a retried event the same run ids, so the queue absorbs the retry', async () => {
    const { handler, sent } = receiver();
    const event = sampleEvent();
    await handler(request('/events', { body: event }));
    await handler(request('/events', { body: event }));
    const keys = sent.map((s) => clickKeyOf(s.message));
    expect(keys.slice(0, 2)).toEqual(keys.slice(2));
  });

  it.each([
    ['a type no rule names', { event_type: 'i_snooze' }],
    ['a type the docs do not list', { event_type: 'i_from_the_future' }],
    ['a rule\'s type whose conditions fail', { event_type: 'i_r_field', person: { person_id: 42 }, incident: { fields: { customer_facing: false } } }],
  ])('answers 200 and queues nothing for %s', async (_what, overrides) => {
    const { handler, sent } = receiver();
    const response = await handler(request('/events', { body: sampleEvent(overrides) }));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ status: 'ignored', reason: 'no rule matched' });
    expect(sent).toHaveLength(0);
  });

  it('answers 200 to every event when no rules are configured', async () => {
    const { handler, sent } = receiver({ rules: undefined });
    expect(bodyOf(await handler(request('/events')))).toMatchObject({ status: 'ignored' });
    expect(sent).toHaveLength(0);
  });

  it('never runs a rule on an event our own write raised, and runs it on a person\'s', async () => {
    const { handler, sent } = receiver();
    const field = { event_type: 'i_r_field', incident: { fields: { customer_facing: true } } };
    const ours = await handler(request('/events', { body: sampleEvent({ ...field, person: { person_id: SELF } }) }));
    expect(bodyOf(ours)).toMatchObject({ status: 'ignored', reason: expect.stringContaining('our own write') });
    const quoted = await handler(request('/events', { body: sampleEvent({ ...field, person: { person_id: 42 }, detail: 'flashduty-actions/enrich event evt-9:enrich-new' }) }));
    expect(bodyOf(quoted)).toMatchObject({ status: 'ignored', reason: 'the event carries our comment marker' });
    expect(sent).toHaveLength(0);
    const theirs = await handler(request('/events', { body: sampleEvent({ ...field, person: { person_id: 42 } }) }));
    expect(bodyOf(theirs)).toMatchObject({ status: 'queued' });
    expect(sent.map((s) => s.message.trigger?.rule)).toEqual(['customer-facing']);
  });

  it('carries an older event as it is, with its own event_time: the action compares it with what it applied', async () => {
    const { handler, sent } = receiver();
    const now = Date.now();
    await handler(request('/events', { body: sampleEvent({ event_type: 'i_rslv', event_time: now - 1000 }) }));
    await handler(request('/events', { body: sampleEvent({ event_time: now - 60_000 }) })); // the i_new, delivered late
    expect(sent.map((s) => [s.message.trigger?.event_type, s.message.payload.event_time])).toEqual([
      ['i_rslv', now - 1000],
      ['i_new', now - 60_000],
      ['i_new', now - 60_000],
    ]);
  });

  it('answers 503 when a run cannot be confirmed queued, naming the rule in the log only', async () => {
    const { handler } = receiver({ enqueue: async (url) => (url.includes('enrich') ? Promise.reject(new Error('queue down')) : undefined) });
    let response: { statusCode: number; body: string } | undefined;
    const logs = await lines(async () => {
      response = await handler(request('/events'));
    });
    expect(response?.statusCode).toBe(503);
    expect(bodyOf(response!).error).toContain('could not confirm');
    expect(response?.body).not.toContain('queue down');
    expect(logs.find((line) => line.message === 'event refused')).toMatchObject({ reason: 'queue_unavailable', detail: expect.stringContaining('enrich-new') });
  });

  it('refuses an event without event_type with 400 naming it', async () => {
    const { handler, sent } = receiver();
    const { event_type: _type, ...untyped } = sampleEvent();
    const response = await handler(request('/events', { body: untyped }));
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).error).toContain('event_type: is required');
    expect(sent).toHaveLength(0);
  });

  describe('refuses exactly as the click route does', () => {
    type Change = { ip?: string; authorization?: string | null; method?: string; body?: 'stale' | 'not-json' | 'bad-id' };
    /** The same fault in an event and in a click. */
    const bodies = (fault: Change['body']): [unknown, unknown] => {
      const old = Date.now() - 3_600_250; // an hour and a quarter second: both bodies round to the same age
      if (fault === 'stale') return [sampleEvent({ event_time: old }), sampleClick({ event_time: old })];
      if (fault === 'not-json') return ['{"event_id": ', '{"event_id": '];
      if (fault === 'bad-id') return [sampleEvent({ incident: { incident_id: 'nope' } }), { ...sampleClick(), incident: { ...sampleClick().incident, incident_id: 'nope' } }];
      return [sampleEvent(), sampleClick()];
    };
    it.each<[string, Change]>([
      ['a wrong token', { authorization: 'Bearer wrong-token-0123456789' }],
      ['no token', { authorization: null }],
      ['a foreign IP', { ip: '203.0.113.9' }],
      ['another method', { method: 'GET' }],
      ['a stale event', { body: 'stale' }],
      ['a body that is not JSON', { body: 'not-json' }],
      ['an incident id that is not an ObjectID', { body: 'bad-id' }],
    ])('%s', async (_what, { body, ...change }) => {
      const [eventBody, clickBody] = bodies(body);
      const { handler, sent } = receiver({ queues: new Map([['enrich', 'q-enrich'], ['status-page', 'q-status'], ['echo', 'q-echo']]) });
      const toEvents = await handler(request('/events', { ...change, body: eventBody }));
      const toClick = await handler(request('/actions/echo', { ...change, body: clickBody }));
      expect(toEvents.statusCode).toBeGreaterThanOrEqual(400);
      expect([toEvents.statusCode, toEvents.headers, toEvents.body]).toEqual([toClick.statusCode, toClick.headers, toClick.body]);
      expect(sent).toHaveLength(0);
    });
  });

  it('logs one line per event with the route, its type and the runs, and counts refusals with the clicks\' metric', async () => {
    const { handler } = receiver();
    const logs = await lines(async () => {
      await handler(request('/events'));
      await handler(request('/events', { authorization: null }));
    });
    expect(logs.find((line) => line.message === 'event queued')).toMatchObject({ route: 'events', event_type: 'i_new', status: 200 });
    expect(logs.find((line) => line.message === 'event refused')).toMatchObject({ route: 'events', status: 401, reason: 'bad_token' });
  });
});
