import fc from 'fast-check';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { sampleClick } from '../fixtures/clicks';
import { depth, testEnv, TOKEN } from './helpers';

describe('receiver over real HTTP under random requests (property-based)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv(), port: 0, workers: false });
  });
  afterAll(() => stack.stop());

  it('never answers 5xx and never enqueues for a caller without the token, whatever the path, method, encoding or size', async () => {
    const request = fc.record({
      path: fc.oneof(fc.constantFrom('/actions/echo', '/actions/restart-host', '/actions/', '/actions/echo/x', '/', '/actions/%ZZ', '/actions/..%2f..'), fc.webPath()),
      method: fc.constantFrom('POST', 'GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', ''),
      authorization: fc.oneof(fc.constant(''), fc.string().map((s) => `Bearer ${s}`), fc.constant(`Bearer ${TOKEN}x`)),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
        fc.constant(Buffer.from(JSON.stringify(sampleClick()))),
        fc.nat(3).map((n) => Buffer.alloc(n * 1024 * 1024, 'x')),
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.authorization) headers.authorization = r.authorization;
        const response = await fetch(`${stack.receiverUrl}${r.path}`, {
          method: r.method,
          headers,
          body: r.method === 'GET' ? undefined : r.body,
        });
        const text = await response.text();
        expect(response.status).toBeLessThan(500);
        expect(() => JSON.parse(text)).not.toThrow();
        expect(text).not.toContain(TOKEN);
      }),
      { numRuns: 250 },
    );
    for (const queue of stack.queues.values()) expect(await depth(stack.sqs, queue.url)).toBe(0);
  }, 120_000);
});
