import { startLocalStack, type LocalStack } from '../../deploy/local';
import { ACTIONS } from '../../lib/actions/registry';
import { makeSecretReader, type SecretReader } from '../../lib/aws/secrets';
import { SecretRef } from '../../lib/config/secret';
import { SsmStandIn } from '../../lib/local/ssm-standin';
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

describe('an action with a plain, a structured and a secret setting, in the local stack', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      env: testEnv({
        ENABLED_ACTIONS: 'probe',
        DRY_RUN: 'false',
        PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.yaml',
        PROBE_TOKEN_PARAM: '/team/probe-token',
      }),
      actions: [...ACTIONS, probeAction],
      port: 0,
    });
    stack.ssm!.parameters.set('/team/probe-token', 'probe-token-value-123');
  });
  afterAll(() => stack.stop());

  it('reads its YAML file and its SSM secret at run time, and no log line shows the secret', async () => {
    const body = clickOnNewIncident();
    const incident = body.incident.incident_id;
    const logs = await captureLogs(async () => {
      expect((await click(stack.receiverUrl, 'probe', body)).status).toBe(200);
      await eventually(() => (stack.flashduty!.comments(incident).length ? true : undefined), 15_000, 'the comment');
    });
    expect(stack.flashduty!.comments(incident)[0]).toContain('probed 2 sources with a token of 21 characters');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain('probe-token-value-123');
  });
});
