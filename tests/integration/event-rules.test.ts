import * as v from 'valibot';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { echo } from '../../lib/actions/echo';
import { defineAction } from '../../lib/actions/types';
import { SAMPLE_CHANNEL, sampleEvent } from '../fixtures/events';
import { sampleClick } from '../fixtures/clicks';
import { enqueue } from '../../lib/queue/sqs';
import { parseClick } from '../../lib/receiver/click';
import { runOf } from '../../lib/receiver/events';
import { Rule } from '../../lib/triggers/rules';
import { click, depth, eventually, localEnv, sendEvent, testEnv } from './helpers';

/** The FlashDuty member owning the app key in these tests. */
const SELF = 900001;

/** An action with side effects (so the cool-down applies) that changes nothing. */
const tally = defineAction({
  name: 'tally',
  description: 'Counts; declares side effects.',
  config: v.object({}),
  async run() {
    return { status: 'succeeded', summary: 'counted' };
  },
});

/** Writes back what the worker saw of the event: the rule, the event's type and its time. */
const ledger = defineAction({
  name: 'ledger',
  description: 'Reports the trigger and event time it was given.',
  sideEffects: false,
  config: v.object({}),
  async run({ message }) {
    const { trigger, payload } = message;
    return { status: 'succeeded', summary: 'noted', facts: [['seen', `${trigger?.rule} ${trigger?.event_type} at ${payload.event_time}`]] };
  },
});

const RULES = [
  { name: 'ledger-critical', on: ['i_new', 'i_rslv'], when: { severity: ['Critical'], channel_ids: [SAMPLE_CHANNEL] }, run: 'ledger' },
  { name: 'echo-new', on: ['i_new'], run: 'echo' },
  { name: 'echo-new-again', on: ['i_new'], run: 'echo' },
  { name: 'echo-on-comment', on: ['i_comm'], run: 'echo' },
  { name: 'tally-ack', on: ['i_ack'], run: 'tally' },
  { name: 'tally-ack-too', on: ['i_ack'], run: 'tally' },
  { name: 'tally-unack', on: ['i_unack'], run: 'tally' },
];

let incidentSeq = 0;
/** The sample event on an incident of its own (unless `incident` names one), so comments and FIFO groups never mix between tests. */
const onNewIncident = (overrides: Parameters<typeof sampleEvent>[0] = {}) =>
  sampleEvent({ ...overrides, incident: { incident_id: `e${process.pid.toString(16)}${(++incidentSeq).toString(16)}`.padStart(24, '0'), ...overrides.incident } });

describe('event rules through the local stack (emulator, workers, stand-in FlashDuty)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    const env = testEnv({ ENABLED_ACTIONS: 'echo,ledger,tally', DRY_RUN: 'false', EVENT_RULES: JSON.stringify(RULES), EVENT_SELF_PERSON_IDS: String(SELF), RETRY_BASE_SECONDS: '0' });
    stack = await startLocalStack({ env, actions: [echo, ledger, tally], port: 0 });
  });
  afterAll(() => stack.stop());

  const commentsOn = (incidentId: string) => stack.flashduty!.calls.filter((c) => c.path === '/incident/comment' && (c.body.incident_ids as string[]).includes(incidentId)).map((c) => String(c.body.comment));
  const commentsFor = (incidentId: string, count: number) => eventually(() => (commentsOn(incidentId).length >= count ? commentsOn(incidentId) : undefined), 15_000, `${count} comments`);
  const idle = () => eventually(async () => ((await Promise.all([...stack.queues.values()].map((q) => depth(stack.sqs, q.url)))).every((n) => n === 0) ? true : undefined), 15_000, 'empty queues');

  it('runs every rule an event matches, once each even when FlashDuty delivers it twice, and says so on the incident', async () => {
    const event = onNewIncident();
    const first = await sendEvent(stack.receiverUrl, event);
    expect(first.status).toBe(200);
    expect((first.body.runs as Array<{ rule: string }>).map((r) => r.rule)).toEqual(['ledger-critical', 'echo-new', 'echo-new-again']);
    expect((await sendEvent(stack.receiverUrl, event)).status).toBe(200);

    await commentsFor(event.incident.incident_id, 3);
    await idle();
    const comments = commentsOn(event.incident.incident_id);
    expect(comments).toHaveLength(3);
    for (const rule of ['ledger-critical', 'echo-new', 'echo-new-again']) {
      const comment = comments.find((c) => c.includes(`run automatically by rule "${rule}" on i_new`));
      expect(comment?.split('\n').at(-1)).toMatch(new RegExp(`^flashduty-actions/(ledger|echo) event ${event.event_id}:${rule}$`));
    }
  });

  it('acknowledges an event no rule wants without touching any queue', async () => {
    for (const event of [onNewIncident({ event_type: 'i_snooze' }), onNewIncident({ incident: { incident_severity: 'Info' }, event_type: 'i_rslv' })]) {
      const answer = await sendEvent(stack.receiverUrl, event);
      expect([answer.status, answer.body.status]).toEqual([200, 'ignored']);
    }
    for (const queue of stack.queues.values()) expect(await depth(stack.sqs, queue.url)).toBe(0);
  });

  it('never loops: the i_comm our own comment raises starts nothing, a person\'s comment does', async () => {
    const incident = { incident_id: onNewIncident().incident.incident_id };
    const person = await sendEvent(stack.receiverUrl, onNewIncident({ event_type: 'i_comm', person: { person_id: 42, person_name: 'zhangsan' }, incident }));
    expect(person.body.status).toBe('queued');
    const [ours] = await commentsFor(incident.incident_id, 1);

    // What FlashDuty pushes for that comment: by the app key's owner, and (with a custom body template) quoting it.
    const echoes = [
      onNewIncident({ event_type: 'i_comm', person: { person_id: SELF }, incident }),
      onNewIncident({ event_type: 'i_comm', person: { person_id: 42 }, comment: ours, incident }),
    ];
    for (const event of echoes) expect((await sendEvent(stack.receiverUrl, event)).body.status).toBe('ignored');
    await idle();
    expect(commentsOn(incident.incident_id)).toHaveLength(1);
  });

  it('stops the loop when EVENT_SELF_PERSON_IDS is wrong: a rule on i_comm runs once per incident in the loop window, and what it holds back writes nothing', async () => {
    const incident = { incident_id: onNewIncident().incident.incident_id };
    // FlashDuty pushing an i_comm for every comment we post, by a member the setting does not name.
    const raised: number[] = [];
    stack.flashduty!.onCall = (call) => {
      if (call.path !== '/incident/comment' || call.status !== 200 || !(call.body.incident_ids as string[]).includes(incident.incident_id)) return;
      void sendEvent(stack.receiverUrl, onNewIncident({ event_type: 'i_comm', person: { person_id: SELF + 1 }, incident })).then((answer) => raised.push(answer.status));
    };
    try {
      expect((await sendEvent(stack.receiverUrl, onNewIncident({ event_type: 'i_comm', person: { person_id: 42 }, incident }))).body.status).toBe('queued');
      await commentsFor(incident.incident_id, 1);
      await eventually(() => (raised.length >= 1 ? true : undefined), 10_000, 'the i_comm our comment raised');
      await idle();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(commentsOn(incident.incident_id)).toHaveLength(1);
      expect(raised).toEqual([200]);
    } finally {
      stack.flashduty!.onCall = undefined;
    }
  }, 40_000);

  it('does not hold back an i_comm run older than a loop could be (a retry, a redrive): both of two old runs on one incident run', async () => {
    const incident = { incident_id: onNewIncident().incident.incident_id };
    const queue = stack.queues.get('echo')!;
    const onComment = v.parse(Rule, RULES.find((rule) => rule.name === 'echo-on-comment'));
    for (let n = 0; n < 2; n++) {
      // What the receiver queued 20 minutes ago for a person's comment (redriven now): sent to the queue as it would be.
      const event = onNewIncident({ event_type: 'i_comm', event_time: Date.now() - 20 * 60_000, person: { person_id: 42 }, incident });
      const message = runOf(onComment, parseClick(JSON.stringify(event), false, { now: event.event_time, maxEventAgeMs: 300_000 }), event.event_time);
      await enqueue(stack.sqs, queue.url, message, { maxBytes: 256 * 1024, timeoutMs: 5000 });
    }
    await commentsFor(incident.incident_id, 2);
    await idle();
    expect(commentsOn(incident.incident_id)).toHaveLength(2);
  }, 30_000);

  it('hands a late, older event to the action with its own event_time, after the newer one', async () => {
    const incident = { incident_id: onNewIncident().incident.incident_id };
    const now = Date.now();
    await sendEvent(stack.receiverUrl, onNewIncident({ event_type: 'i_rslv', event_time: now - 1_000, incident }));
    await commentsFor(incident.incident_id, 1);
    await sendEvent(stack.receiverUrl, onNewIncident({ event_type: 'i_new', event_time: now - 60_000, incident }));
    const comments = await commentsFor(incident.incident_id, 4);
    const seen = comments.flatMap((c) => /• seen: (.*)/.exec(c)?.[1] ?? []);
    expect(seen).toEqual([`ledger-critical i_rslv at ${now - 1_000}`, `ledger-critical i_new at ${now - 60_000}`]);
  });

  it('holds back a second run of an action with side effects for the same kind of event, not for the next lifecycle step', async () => {
    const incident = { incident_id: onNewIncident().incident.incident_id };
    await sendEvent(stack.receiverUrl, onNewIncident({ event_type: 'i_ack', incident }));
    const acked = await commentsFor(incident.incident_id, 2);
    expect(acked.filter((c) => c.startsWith('[flashduty-actions] tally succeeded'))).toHaveLength(1);
    const skipped = acked.filter((c) => c.startsWith('[flashduty-actions] tally skipped (not run again)'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/tally (just ran|is already running \(or retrying\)) on this incident for another i_ack event, so it was not run again/);
    expect(skipped[0]).toContain('• previous run: event ');
    expect(skipped[0]).not.toContain('click again');
    await sendEvent(stack.receiverUrl, onNewIncident({ event_type: 'i_unack', incident }));
    const [unacked] = (await commentsFor(incident.incident_id, 3)).slice(2);
    expect(unacked).toContain('tally succeeded — run automatically by rule "tally-unack" on i_unack');
  });

  it('refuses a bad token, a stale event and a malformed body on /events as on a click route', async () => {
    const stale = Date.now() - 3_600_250;
    const cases: Array<[unknown, unknown, { token?: string }]> = [
      [onNewIncident(), sampleClick(), { token: 'wrong-token-0123456789abcdef' }],
      [onNewIncident({ event_time: stale }), sampleClick({ event_time: stale }), {}],
      ['{"event_time": 1', '{"event_time": 1', {}],
    ];
    for (const [event, push, options] of cases) {
      const [viaEvents, viaClick] = [await sendEvent(stack.receiverUrl, event, options), await click(stack.receiverUrl, 'echo', push, options)];
      expect(viaEvents.status).toBeGreaterThanOrEqual(400);
      expect([viaEvents.status, viaEvents.body]).toEqual([viaClick.status, viaClick.body]);
    }
    for (const queue of stack.queues.values()) expect(await depth(stack.sqs, queue.url)).toBe(0);
  });
});

describe('the README example rules with status-page against the stand-in APIs (what npm start runs)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: localEnv(), port: 0 });
  });
  afterAll(() => stack.stop());

  /** Sends the event and waits for the comment of its run of `rule`. */
  async function run(event: ReturnType<typeof sampleEvent>, rule: string): Promise<string> {
    const answer = await sendEvent(stack.receiverUrl, event, { token: localEnv().WEBHOOK_TOKENS!.split(',')[0]! });
    expect(answer.status).toBe(200);
    const runId = `${event.event_id}:${rule}`;
    expect((answer.body.runs as Array<{ event_id: string }>).map((r) => r.event_id)).toContain(runId);
    return eventually(() => stack.flashduty!.comments().find((c) => c.endsWith(` event ${runId}`)), 15_000, `the ${rule} comment`);
  }

  it('opens the public event on i_new, resolves it on i_rslv, and a late i_new older than the resolve never reopens it', async () => {
    const incident = { incident_id: `f${process.pid.toString(16)}`.padEnd(24, '0'), progress: 'Triggered', incident_status: 'Critical' };
    const t0 = Date.now() - 10_000;
    const opened = await run(sampleEvent({ event_time: t0, incident }), 'status-page-open');
    expect(opened).toContain('status-page succeeded — run automatically by rule "status-page-open" on i_new');
    const event = stack.flashduty!.statusPages.changes.at(-1)!;
    expect(event.status).toBe('investigating');

    const closed = { ...incident, progress: 'Closed', incident_status: 'Ok' };
    const resolved = await run(sampleEvent({ event_type: 'i_rslv', event_time: t0 + 2_000, incident: closed }), 'status-page-resolve');
    expect(resolved).toContain('status-page succeeded — run automatically by rule "status-page-resolve" on i_rslv');
    expect(event.status).toBe('resolved');

    // Delivered last, but older than the resolve (FlashDuty does not guarantee order).
    const late = await run(sampleEvent({ event_time: t0 + 1_000, incident }), 'status-page-open');
    expect(late).toContain('status-page FAILED');
    expect(late).toContain('would reopen it');
    expect(event.status).toBe('resolved');
    expect(stack.flashduty!.statusPages.changes.filter((c) => c.change_id === event.change_id)).toHaveLength(1);
  }, 60_000);
});
