/**
 * restart-host through the real worker (queue -> worker -> SSM stand-in -> FlashDuty stand-in):
 * what the incident hears, and what the cool-down does, when a restart was (or may have been)
 * sent but its result could not be seen before the click was dead-lettered.
 */
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { workerConfig } from '../../lib/config/worker';
import { ACTIONS } from '../../lib/actions/registry';
import { lambdaContext, sqsEventOf } from '../../local/sqs-poller';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { clickOnNewIncident } from '../fixtures/clicks';
import { click, drain, FREE_PORTS, receive, testEnv } from './helpers';

type Click = ReturnType<typeof clickOnNewIncident>;

describe('restart-host through the worker, when its result cannot be seen', () => {
  let stack: LocalStack;
  const worker = (env: NodeJS.ProcessEnv = {}) => makeWorker(workerDeps(workerConfig({ ...stack.workerEnv.get('restart-host')!, ...env }, ACTIONS)));
  const queue = () => stack.queues.get('restart-host')!;
  /** One click through the receiver, delivered once to a worker whose every attempt is its last. */
  async function clickOnce(body: Click) {
    expect((await click(stack.receiverUrl, 'restart-host', body)).status).toBe(200);
    const messages = await receive(stack.sqs, queue().url, 1);
    return worker({ MAX_RECEIVE_COUNT: '1' })(sqsEventOf(messages, queue().arn), lambdaContext('restart-host-worker', 120));
  }
  /** A click on an incident naming a host of its own: a restart left under way keeps its host's lock. */
  let hosts = 0;
  function clickOnOwnHost(): Click {
    const name = `es.test.${++hosts}`;
    const instance = { InstanceId: `i-0000000000000${String(hosts).padStart(4, '0')}`, ComputerName: name, IPAddress: `10.9.0.${hosts}`, tags: { Name: name, 'flashduty-actions:restart': 'allowed' } };
    stack.ssm!.instances = [...stack.ssm!.instances, instance];
    const body = clickOnNewIncident();
    body.incident.labels = { ...body.incident.labels, resource: name };
    return body;
  }
  const comments = (body: Click) => stack.flashduty!.comments(body.incident.incident_id);
  /** A second click on the same incident, whose first click's restart may still run. */
  async function secondClick(first: Click) {
    await drain(stack.sqs, queue().url);
    await clickOnce({ ...clickOnNewIncident(), incident: first.incident });
    return comments(first).at(-1)!.split('\n')[0];
  }

  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv({ ENABLED_ACTIONS: 'restart-host', DRY_RUN: 'false', RETRY_BASE_SECONDS: '0', RESTART_ALLOWED_SERVICES: 'engine', RESTART_WAIT_SECONDS: '5', ...FREE_PORTS }), port: 0, workers: false });
  }, 60_000);
  afterAll(() => stack.stop());
  beforeEach(() => {
    stack.flashduty!.reset();
    stack.ssm!.reset();
  });
  afterEach(async () => {
    await drain(stack.sqs, queue().url);
    await drain(stack.sqs, queue().dlqUrl);
  });

  it('tells the incident the restart was sent, naming the command, when only reading its result failed', async () => {
    const body = clickOnOwnHost();
    stack.ssm!.throttle.set('GetCommandInvocation', 1000);
    expect((await clickOnce(body)).batchItemFailures).toHaveLength(1);
    const [sent] = stack.ssm!.sent();
    expect(stack.ssm!.sent()).toHaveLength(1);
    expect(comments(body)).toHaveLength(1);
    expect(comments(body)[0]).toContain(`the restart was sent to ${sent!.InstanceIds[0]}`);
    expect(comments(body)[0]).toContain(`(command ${sent!.CommandId}: \`systemctl restart 'engine'\`), but its result could not be seen in 1 attempts: ThrottlingException`);
    expect(comments(body)[0]).toContain('`npm run redrive` looks for what was started first, and starts it again only if it is not there');
  }, 90_000);

  it("keeps the cool-down when a dead-lettered click's restart is still running, so a second click does not send another", async () => {
    const first = clickOnOwnHost();
    stack.ssm!.nextScript = { status: 'Success', exitCode: 0, stdout: 'rebooting', takesMs: 60_000 };
    expect((await clickOnce(first)).batchItemFailures).toHaveLength(1);
    expect(await secondClick(first)).toMatch(/restart-host skipped \(not run again\)/);
    expect(stack.ssm!.sent()).toHaveLength(1);
  }, 90_000);

  it('after a SendCommand whose answer was lost (SSM ran it), says the restart may have been sent and keeps the cool-down', async () => {
    const first = clickOnOwnHost();
    stack.ssm!.nextScript = { status: 'Success', exitCode: 0, stdout: 'rebooting', takesMs: 60_000 };
    stack.ssm!.loseAnswers.set('SendCommand', 1);
    expect((await clickOnce(first)).batchItemFailures).toHaveLength(1);
    expect(stack.ssm!.sent()).toHaveLength(1);
    const notice = comments(first).at(-1)!;
    expect(notice).toContain('the restart may have been sent to ');
    expect(notice).not.toContain('`npm run redrive` runs it again');
    expect(await secondClick(first)).toMatch(/restart-host skipped \(not run again\)/);
    expect(stack.ssm!.sent()).toHaveLength(1);
  }, 90_000);

  it('a click whose restart was sent on an earlier attempt keeps the cool-down when its last attempt cannot even list its commands', async () => {
    const first = clickOnOwnHost();
    expect((await click(stack.receiverUrl, 'restart-host', first)).status).toBe(200);
    const twoAttempts = worker({ MAX_RECEIVE_COUNT: '2' });
    stack.ssm!.nextScript = { status: 'Success', exitCode: 0, stdout: 'rebooting', takesMs: 60_000 };
    stack.ssm!.throttle.set('GetCommandInvocation', 1000);
    const one = await receive(stack.sqs, queue().url, 1);
    expect((await twoAttempts(sqsEventOf(one, queue().arn), lambdaContext('restart-host-worker', 120))).batchItemFailures).toHaveLength(1);
    stack.ssm!.throttle.set('ListCommands', 1000);
    const two = await receive(stack.sqs, queue().url, 1);
    expect(two[0]!.Attributes?.ApproximateReceiveCount).toBe('2');
    expect((await twoAttempts(sqsEventOf(two, queue().arn), lambdaContext('restart-host-worker', 120))).batchItemFailures).toHaveLength(1);
    const notice = comments(first).at(-1)!;
    expect(notice).toContain(`the restart may already have been sent to ${stack.ssm!.sent()[0]!.InstanceIds[0]}`);
    expect(notice).not.toContain('`npm run redrive` runs it again');
    stack.ssm!.throttle.clear();
    expect(await secondClick(first)).toMatch(/restart-host skipped \(not run again\)/);
    expect(stack.ssm!.sent()).toHaveLength(1);
  }, 120_000);
});
