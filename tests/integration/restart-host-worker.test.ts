/**
 * restart-host through the real worker (queue -> worker -> SSM stand-in -> FlashDuty stand-in):
 * what the incident hears, and what the cool-down does, when a restart was sent but its result
 * could not be seen before the click was dead-lettered.
 */
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { workerConfig } from '../../lib/config/worker';
import { ACTIONS } from '../../lib/actions/registry';
import { lambdaContext, sqsEventOf } from '../../local/sqs-poller';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { clickOnNewIncident } from '../fixtures/clicks';
import { click, drain, receive, testEnv, FREE_PORTS } from './helpers';

describe('restart-host through the worker, when its result cannot be seen', () => {
  let stack: LocalStack;
  const worker = (env: NodeJS.ProcessEnv = {}) => makeWorker(workerDeps(workerConfig({ ...stack.workerEnv.get('restart-host')!, ...env }, ACTIONS)));
  const queue = () => stack.queues.get('restart-host')!;
  /** One click through the receiver, delivered once to a worker whose every attempt is its last. */
  async function clickOnce(body: ReturnType<typeof clickOnNewIncident>) {
    expect((await click(stack.receiverUrl, 'restart-host', body)).status).toBe(200);
    const messages = await receive(stack.sqs, queue().url, 1);
    return worker({ MAX_RECEIVE_COUNT: '1' })(sqsEventOf(messages, queue().arn), lambdaContext('restart-host-worker', 120));
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
    // A host of its own: the restart under way keeps its lock, which the next test's host must not share.
    const fleet = stack.ssm!.instances;
    stack.ssm!.instances = [...fleet, { InstanceId: 'i-0c1d2e3f4a5b60789', ComputerName: 'es.nj.02', IPAddress: '10.206.0.22', tags: { Name: 'es.nj.02', 'flashduty-actions:restart': 'allowed' } }];
    const body = clickOnNewIncident();
    body.incident.labels = { ...body.incident.labels, resource: 'es.nj.02' };
    stack.ssm!.throttle.set('GetCommandInvocation', 1000);
    expect((await clickOnce(body)).batchItemFailures).toHaveLength(1);
    const [sent] = stack.ssm!.sent();
    const comments = stack.flashduty!.comments(body.incident.incident_id);
    expect(stack.ssm!.sent()).toHaveLength(1);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain(`the restart was sent to ${sent!.InstanceIds[0]}`);
    expect(comments[0]).toContain(`(command ${sent!.CommandId}: \`systemctl restart 'engine'\`), but its result could not be seen in 1 attempts: ThrottlingException`);
    expect(comments[0]).toContain('`npm run redrive` looks for the result again without starting it again');
    stack.ssm!.instances = fleet;
  }, 90_000);

  it('keeps the cool-down when a dead-lettered click\'s restart is still running, so a second click does not send another', async () => {
    const first = clickOnNewIncident();
    stack.ssm!.nextScript = { status: 'Success', exitCode: 0, stdout: 'rebooting', takesMs: 60_000 };
    expect((await clickOnce(first)).batchItemFailures).toHaveLength(1);
    await drain(stack.sqs, queue().url);
    const second = { ...clickOnNewIncident(), incident: first.incident };
    const secondResult = await clickOnce(second);
    expect(secondResult.batchItemFailures).toHaveLength(0);
    expect(stack.ssm!.sent()).toHaveLength(1);
    const comments = stack.flashduty!.comments(first.incident.incident_id);
    expect(comments.at(-1)).toMatch(/restart-host skipped \(not run again\)/);
  }, 90_000);
});
