import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeParameterReader } from '../../lib/aws/parameter-store';

describe('SSM parameter reader', () => {
  it('names the network cause when SSM cannot be reached, not a bare TypeError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const read = makeParameterReader({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    const error = await read('/flashduty-actions/test/app-key').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnavailableError' });
    expect((error as Error).message).toBe('SSM GetParameter for /flashduty-actions/test/app-key could not be reached (ECONNREFUSED)');
  });
});
