import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeParameterReader, ParameterNotFoundError } from '../../lib/aws/parameter-store';
import { SsmStandIn } from '../../local/ssm-standin';

const NAME = '/flashduty-actions/test/webhook-tokens';

describe('SSM parameter reader', () => {
  const ssm = new SsmStandIn();
  let endpoint: string;
  beforeAll(async () => {
    endpoint = await ssm.start();
  });
  afterAll(() => ssm.stop());
  beforeEach(() => {
    ssm.reset();
    ssm.parameters.set(NAME, 'token-one,token-two');
  });
  const getParameterCalls = () => ssm.calls.filter((call) => call.operation === 'GetParameter');

  it('names the network cause when SSM cannot be reached, not a bare TypeError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const read = makeParameterReader({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    const error = await read('/flashduty-actions/test/app-key').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnavailableError' });
    expect((error as Error).message).toMatch(/^SSM GetParameter for \/flashduty-actions\/test\/app-key could not be reached \(ECONNREFUSED\); gave up after \d+ attempts in 300 ms$/);
  });

  it('rides out throttling (a storm of cold starts) by trying again within its budget', async () => {
    ssm.throttle.set('GetParameter', 2);
    const read = makeParameterReader({ region: 'us-east-1', endpoint, timeoutMs: 400 });
    expect(await read(NAME)).toBe('token-one,token-two');
    expect(getParameterCalls()).toHaveLength(3);
  });

  it('gives up when its budget is spent, saying why and how many attempts it made', async () => {
    ssm.throttle.set('GetParameter', 1_000);
    const read = makeParameterReader({ region: 'us-east-1', endpoint, timeoutMs: 200 });
    const error = await read(NAME).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnavailableError' });
    expect((error as Error).message).toMatch(/^SSM GetParameter for \/flashduty-actions\/test\/webhook-tokens failed \(ThrottlingException: Rate exceeded\); gave up after \d+ attempts in 200 ms$/);
    expect(getParameterCalls().length).toBeGreaterThan(1);
  });

  it('does not try again when the parameter does not exist', async () => {
    const read = makeParameterReader({ region: 'us-east-1', endpoint, timeoutMs: 400 });
    await expect(read('/flashduty-actions/test/missing')).rejects.toBeInstanceOf(ParameterNotFoundError);
    expect(getParameterCalls()).toHaveLength(1);
  });
});
