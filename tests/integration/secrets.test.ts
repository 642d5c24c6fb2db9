import { LOCAL_APP_KEY, startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { makeSecretReader, type SecretReader } from '../../lib/aws/secrets';
import { SecretRef } from '../../lib/schema/secret';
import { workerConfig } from '../../lib/config/worker';
import { pollQueue } from '../../local/sqs-poller';
import { SsmStandIn } from '../../local/ssm-standin';
import { makeWorker } from '../../lib/worker/handler';
import { workerDeps } from '../../lib/worker/wiring';
import { captureLogs } from '../fixtures/capture-logs';
import { clickOnNewIncident } from '../fixtures/clicks';
import { probeAction } from '../fixtures/probe-action';
import { click, eventually, testEnv } from './helpers';

describe('secrets from SSM through Powertools Parameters, against the SSM stand-in', () => {
  const ssm = new SsmStandIn();
  let endpoint: string;
  const reads = () => ssm.calls.filter((c) => c.operation === 'GetParameter');
  const reader = (maxAgeSeconds = 300): SecretReader => makeSecretReader({ region: 'us-east-1', endpoint, maxAgeSeconds });

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    endpoint = await ssm.start();
  });
  afterAll(() => ssm.stop());
  beforeEach(() => {
    ssm.reset();
    ssm.parameters.set('/team/token', 'first-value');
  });
  afterEach(() => jest.useRealTimers());

  it('reads a SecureString with decryption at first use, then answers from its cache', async () => {
    const secret = reader();
    const ref = new SecretRef('PROBE_TOKEN', '/team/token', undefined, 'Bearer ');
    expect(await secret(ref)).toBe('Bearer first-value');
    expect(await secret(ref)).toBe('Bearer first-value');
    expect(reads()).toEqual([{ operation: 'GetParameter', input: { Name: '/team/token', WithDecryption: true } }]);
  });

  it('picks up a rotated value once the cache expires, without a restart', async () => {
    // Only the clock is faked: the SDK's own timers and sockets stay real.
    jest.useFakeTimers({ doNotFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask', 'hrtime', 'performance'] });
    const secret = reader(300);
    const ref = new SecretRef('PROBE_TOKEN', '/team/token');
    expect(await secret(ref)).toBe('first-value');
    ssm.parameters.set('/team/token', 'rotated-value');
    jest.setSystemTime(Date.now() + 299_000);
    expect(await secret(ref)).toBe('first-value');
    jest.setSystemTime(Date.now() + 2_000);
    expect(await secret(ref)).toBe('rotated-value');
    expect(reads()).toHaveLength(2);
  });

  it('does not cache a failure, and names the secret and its parameter but never a value', async () => {
    const secret = reader();
    const ref = new SecretRef('PROBE_TOKEN', '/team/missing');
    const failure = await secret(ref).catch((error: Error) => error);
    expect(failure).toMatchObject({ name: 'UnavailableError', message: 'could not read PROBE_TOKEN from SSM parameter /team/missing (ParameterNotFound)' });
    ssm.parameters.set('/team/missing', 'now-there');
    expect(await secret(ref)).toBe('now-there');
  });

  it('answers an inline secret (local use) without calling SSM', async () => {
    expect(await reader()(new SecretRef('PROBE_TOKEN', undefined, 'inline-value', 'token '))).toBe('token inline-value');
    expect(reads()).toEqual([]);
  });
});

describe('workers reading their secrets from the stand-in SSM, in the local stack', () => {
  let stack: LocalStack;
  const actions = [...ACTIONS, probeAction];
  const commentsOn = (body: { incident: { incident_id: string } }) =>
    eventually(() => (stack.flashduty!.comments(body.incident.incident_id).length ? stack.flashduty!.comments(body.incident.incident_id) : undefined), 15_000, 'the comment');

  /** Runs one action's worker (as the local stack would) with changes to its environment. */
  function runWorker(action: string, changes: NodeJS.ProcessEnv) {
    const handler = makeWorker(workerDeps(workerConfig({ ...stack.workerEnv.get(action)!, ...changes }, actions)));
    const queue = stack.queues.get(action)!;
    return pollQueue({ sqs: stack.sqs, queueUrl: queue.url, queueArn: queue.arn, handler, functionName: `${action}-worker`, timeoutSeconds: 30 });
  }

  beforeAll(async () => {
    const env = testEnv({ ENABLED_ACTIONS: 'probe,echo', DRY_RUN: 'false', PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.yaml', PROBE_TOKEN_PARAM: '/team/probe-token' });
    stack = await startLocalStack({ env, actions, port: 0, workers: false });
    stack.ssm!.parameters.set('/team/probe-token', 'probe-token-value-123');
    stack.ssm!.parameters.set('/flashduty-actions/local/flashduty-app-key', LOCAL_APP_KEY);
  });
  afterAll(() => stack.stop());

  it('writes the result with the FlashDuty app key read from its SSM parameter', async () => {
    const poller = runWorker('echo', { FLASHDUTY_APP_KEY: '', FLASHDUTY_APP_KEY_PARAM: '/flashduty-actions/local/flashduty-app-key' });
    try {
      const body = clickOnNewIncident();
      await click(stack.receiverUrl, 'echo', body);
      expect((await commentsOn(body))[0]).toContain('echo succeeded');
      expect(stack.ssm!.calls.map((c) => c.input.Name)).toContain('/flashduty-actions/local/flashduty-app-key');
    } finally {
      await poller.stop();
    }
  });

  it('runs an action with its YAML file and its SSM secret, and no log line shows the secret', async () => {
    const poller = runWorker('probe', {});
    try {
      const body = clickOnNewIncident();
      const logs = await captureLogs(async () => {
        expect((await click(stack.receiverUrl, 'probe', body)).status).toBe(200);
        expect((await commentsOn(body))[0]).toContain('probed 2 sources with a token of 21 characters');
      });
      expect(logs.length).toBeGreaterThan(0);
      expect(logs.join('\n')).not.toContain('probe-token-value-123');
    } finally {
      await poller.stop();
    }
  });
});
