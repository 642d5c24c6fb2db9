import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { workerConfig } from '../../lib/config/worker';
import { lambdaContext, sqsEventOf } from '../../local/sqs-poller';
import { utc } from '../../lib/text';
import { makeGuardrails, makeRunBudget } from '../../lib/worker/guardrails';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { clickOnNewIncident } from '../fixtures/clicks';
import { countingAction } from '../fixtures/counting-action';
import { click, drain, receive, testEnv } from './helpers';

/** An action with side effects and no guardrail code of its own, counting its runs per event. */
const counting = countingAction('bump');
const { action: bump, runs, failing, refusing } = counting;
const actions = [...ACTIONS, bump];
const HOUR = 3_600_000;
/** A fixed moment for the budget's clock, so "frees up at" can be checked to the second. */
const T0 = Date.parse('2026-11-30T02:00:00Z');

type Click = ReturnType<typeof clickOnNewIncident>;
const id = (body: { event_id?: unknown }) => String(body.event_id);

describe('guardrails every action gets from config, with no code in the action', () => {
  let stack: LocalStack;
  let dynamodb: DynamoDBClient;
  let clock = T0;

  /** The bump worker with `env` on top of the local stack's; its run budget reads the test's clock. */
  function worker(env: NodeJS.ProcessEnv = {}) {
    const config = workerConfig({ ...stack.workerEnv.get('bump')!, ...env }, actions);
    const { maxRunsPerHour } = config.guardrails;
    const budget = maxRunsPerHour > 0 ? makeRunBudget(dynamodb, config.idempotencyTable, 'bump', maxRunsPerHour, () => clock) : undefined;
    return makeWorker({ ...workerDeps(config), guardrails: makeGuardrails('bump', config.guardrails, budget) });
  }

  /** Clicks bump once per body through the receiver, each worked by its own invocation after the one before; returns the SQS events. */
  async function clickAndWork(bodies: Click[], env: NodeJS.ProcessEnv = {}) {
    const queue = stack.queues.get('bump')!;
    const events = [];
    for (const body of bodies) {
      expect((await click(stack.receiverUrl, 'bump', body)).status).toBe(200);
      const event = sqsEventOf(await receive(stack.sqs, queue.url, 1), queue.arn);
      expect(await worker(env)(event, lambdaContext('bump-worker', 30))).toEqual({ batchItemFailures: [] });
      events.push(event);
    }
    return events;
  }
  const commentOn = (body: Click) => stack.flashduty!.comments(body.incident.incident_id!);
  const onlyCommentOn = (body: Click) => {
    const comments = commentOn(body);
    expect(comments).toHaveLength(1);
    return comments[0]!;
  };

  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'bump', DRY_RUN: 'false', RETRY_BASE_SECONDS: '0' }), actions, port: 0, workers: false });
    dynamodb = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1' });
  });
  afterAll(async () => {
    dynamodb.destroy();
    await stack.stop();
  });
  beforeEach(async () => {
    stack.flashduty!.reset();
    counting.reset();
    clock = T0;
    const table = stack.workerEnv.get('bump')!.IDEMPOTENCY_TABLE!;
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { id: { S: 'budget#bump' } } }));
  });
  afterEach(() => drain(stack.sqs, stack.queues.get('bump')!.url));

  describe('<ACTION>_ALLOWED_PERSONS', () => {
    it.each([
      ['person id', '1999632289504'],
      ['email, in any case', 'oncall-lead@example.com, ZhangSan@Toutie.COM'],
    ])('runs the action for a person listed by %s', async (_by, list) => {
      const [body] = [clickOnNewIncident()];
      await clickAndWork([body!], { BUMP_ALLOWED_PERSONS: list });
      expect(runs.get(id(body!))).toBe(1);
      expect(onlyCommentOn(body!)).toContain('[flashduty-actions] bump succeeded — clicked by zhangsan');
    });

    it('refuses anyone else without running the action, naming the person and the rule in the comment', async () => {
      const body = clickOnNewIncident();
      await clickAndWork([body], { BUMP_ALLOWED_PERSONS: 'oncall-lead@example.com,12345' });
      expect(runs.has(id(body))).toBe(false);
      expect(onlyCommentOn(body).split('\n').slice(0, 3)).toEqual([
        '[flashduty-actions] bump FAILED — clicked by zhangsan',
        'zhangsan (zhangsan@toutie.com, person 1999632289504) is not in BUMP_ALLOWED_PERSONS, so bump was not run; ask someone listed there to click it',
        '• rule: BUMP_ALLOWED_PERSONS (2 listed)',
      ]);
    });

    it('refuses a click that names no person (an automatic trigger, or a push without person), saying so', async () => {
      const { person: _person, ...body } = clickOnNewIncident();
      await clickAndWork([body as Click], { BUMP_ALLOWED_PERSONS: '1999632289504' });
      expect(runs.size).toBe(0);
      expect(onlyCommentOn(body as Click)).toContain(
        'the click names no person (an automatic trigger, or a push without "person"), and BUMP_ALLOWED_PERSONS lets only listed people run bump; it was not run',
      );
    });

    it('takes neither the cool-down nor the budget when it refuses: a listed person clicking next on the same incident runs', async () => {
      const refused = clickOnNewIncident({ person: { person_id: 42, person_name: 'lisi', email: 'lisi@toutie.com' } });
      const allowed = { ...clickOnNewIncident(), incident: refused.incident };
      const env = { BUMP_ALLOWED_PERSONS: '1999632289504', BUMP_MAX_RUNS_PER_HOUR: '1' };
      await clickAndWork([refused, allowed], env);
      expect([runs.get(id(refused)), runs.get(id(allowed))]).toEqual([undefined, 1]);
      expect(commentOn(refused).map((c) => c.split('\n')[0])).toEqual(['[flashduty-actions] bump FAILED — clicked by lisi', '[flashduty-actions] bump succeeded — clicked by zhangsan']);
    });

    it('lets anyone, and clicks without a person, run the action when empty (the default)', async () => {
      const { person: _person, ...anonymous } = clickOnNewIncident();
      await clickAndWork([clickOnNewIncident(), anonymous as Click]);
      expect(runs.size).toBe(2);
    });
  });

  describe('<ACTION>_MAX_RUNS_PER_HOUR', () => {
    const budget = { BUMP_MAX_RUNS_PER_HOUR: '2' };

    it('refuses the run past the budget across incidents, saying when it frees up, and runs again once the oldest run is an hour old', async () => {
      const bodies = [clickOnNewIncident(), clickOnNewIncident(), clickOnNewIncident()];
      for (const [i, body] of bodies.entries()) {
        clock = T0 + i * 60_000;
        await clickAndWork([body], budget);
      }
      expect(bodies.map((b) => runs.get(id(b)))).toEqual([1, 1, undefined]);
      expect(onlyCommentOn(bodies[2]!).split('\n').slice(0, 4)).toEqual([
        '[flashduty-actions] bump FAILED — clicked by zhangsan',
        `the run budget of bump is used up: BUMP_MAX_RUNS_PER_HOUR allows 2 runs in any hour across all incidents, and 2 started in the last hour, so it was not run; the budget frees up at ${utc(T0 + HOUR)}, click again then if it is still needed`,
        '• rule: BUMP_MAX_RUNS_PER_HOUR = 2',
        '• budget frees up: 2026-11-30 03:00:00 UTC',
      ]);

      clock = T0 + HOUR - 1;
      const early = clickOnNewIncident();
      await clickAndWork([early], budget);
      expect(runs.has(id(early))).toBe(false);
      clock = T0 + HOUR + 1;
      const onTime = clickOnNewIncident();
      await clickAndWork([onTime], budget);
      expect(runs.get(id(onTime))).toBe(1);
      // The second run is still in the hour: the one after is refused until it ages out.
      const next = clickOnNewIncident();
      await clickAndWork([next], budget);
      expect(onlyCommentOn(next)).toContain(`the budget frees up at ${utc(T0 + 60_000 + HOUR)}`);
    });

    it('gives back the run of a click the action refused before touching anything, so a mislabelled incident does not use up the hour', async () => {
      const [refused, next] = [clickOnNewIncident(), clickOnNewIncident()];
      refusing.add(id(refused));
      await clickAndWork([refused, next], { BUMP_MAX_RUNS_PER_HOUR: '1' });
      expect(onlyCommentOn(refused)).toContain('no target; nothing was bumped');
      expect(runs.get(id(next))).toBe(1);
      expect(onlyCommentOn(next).split('\n')[0]).toBe('[flashduty-actions] bump succeeded — clicked by zhangsan');
    });

    it('admits a redelivery of a click that holds a run without taking a second one, even when that run was the last', async () => {
      const one = { BUMP_MAX_RUNS_PER_HOUR: '1' };
      const [retried, next] = [clickOnNewIncident(), clickOnNewIncident()];
      failing.add(id(retried));
      expect((await click(stack.receiverUrl, 'bump', retried)).status).toBe(200);
      const queue = stack.queues.get('bump')!;
      const event = sqsEventOf(await receive(stack.sqs, queue.url, 1), queue.arn);
      expect((await worker(one)(event, lambdaContext('bump-worker', 30))).batchItemFailures).toHaveLength(1);
      failing.clear();
      event.Records[0]!.attributes.ApproximateReceiveCount = '2';
      clock = T0 + 60_000;
      expect(await worker(one)(event, lambdaContext('bump-worker', 30))).toEqual({ batchItemFailures: [] });
      // A duplicate of the finished click replays its result: no run, no budget.
      expect(await worker(one)(event, lambdaContext('bump-worker', 30))).toEqual({ batchItemFailures: [] });
      expect(runs.get(id(retried))).toBe(2);
      expect(onlyCommentOn(retried)).toContain('bump succeeded');

      await clickAndWork([next], one);
      expect(runs.has(id(next))).toBe(false);
      // Counted from the first attempt: the redelivery did not move the run's start either.
      expect(onlyCommentOn(next)).toContain(`and 1 started in the last hour, so it was not run; the budget frees up at ${utc(T0 + HOUR)}`);
    });

    it('lets exactly one of two workers racing for the last run take it', async () => {
      const bodies = [clickOnNewIncident(), clickOnNewIncident()];
      const queue = stack.queues.get('bump')!;
      for (const body of bodies) expect((await click(stack.receiverUrl, 'bump', body)).status).toBe(200);
      const messages = await receive(stack.sqs, queue.url, 2);
      await Promise.all(messages.map((message) => worker({ BUMP_MAX_RUNS_PER_HOUR: '1' })(sqsEventOf([message], queue.arn), lambdaContext('bump-worker', 30))));
      expect(runs.size).toBe(1);
      const heads = bodies.map((body) => onlyCommentOn(body).split('\n')[0]).sort();
      expect(heads).toEqual(['[flashduty-actions] bump FAILED — clicked by zhangsan', '[flashduty-actions] bump succeeded — clicked by zhangsan']);
    });

    it('is neither taken nor enforced by a dry run, whose comment says where the budget stands', async () => {
      const dry = { ...budget, DRY_RUN: 'true' };
      const [first, second, real, third] = [clickOnNewIncident(), clickOnNewIncident(), clickOnNewIncident(), clickOnNewIncident()];
      await clickAndWork([first, second], dry);
      expect(onlyCommentOn(second)).toContain('• run budget: 0 of 2 used in the last hour (a dry run does not count)');
      await clickAndWork([real, clickOnNewIncident()], budget);
      expect(runs.get(id(real))).toBe(1);
      await clickAndWork([third], dry);
      expect(runs.get(id(third))).toBe(1);
      expect(onlyCommentOn(third)).toContain(`• run budget: used up (2 of 2 in the last hour) until ${utc(T0 + HOUR)}; a real click would be refused (a dry run does not count)`);
    });

    it('still refuses a dry run from a person not allowed, so the dry run shows what the click would do', async () => {
      const body = clickOnNewIncident();
      await clickAndWork([body], { DRY_RUN: 'true', BUMP_ALLOWED_PERSONS: '12345' });
      expect(runs.size).toBe(0);
      expect(onlyCommentOn(body)).toContain('is not in BUMP_ALLOWED_PERSONS');
    });
  });
});
