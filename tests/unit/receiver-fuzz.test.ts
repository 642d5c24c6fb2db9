import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { IpAllowlist } from '../../lib/auth/ip-allowlist';
import { TokenVerifier } from '../../lib/auth/tokens';
import { encodeQueueMessage } from '../../lib/queue/compact';
import { decodeQueueMessage, type OutgoingMessage } from '../../lib/queue/envelope';
import { makeReceiver } from '../../lib/receiver/handler';
import { sampleClick } from '../fixtures/clicks';

const TOKEN = 'SECRET-fuzz-token-0123456789';
const OTHER = 'SECRET-rotated-token-abcdefgh';
const ALLOWED_IP = '47.94.95.118';

function receiver() {
  const enqueued: OutgoingMessage[] = [];
  const handler = makeReceiver({
    queues: new Map([
      ['restart-host', 'q1'],
      ['echo', 'q2'],
    ]),
    allowlist: new IpAllowlist([ALLOWED_IP, '10.0.0.0/8']),
    verifier: async () => new TokenVerifier([TOKEN, OTHER], 'WEBHOOK_TOKENS'),
    enqueue: async (_url, message) => {
      enqueued.push(message);
    },
    maxEventAgeMs: 300_000,
    enqueueTimeoutMs: 500,
  });
  return { handler, enqueued };
}

const ip = fc.oneof(fc.constant(ALLOWED_IP), fc.constant('10.1.2.3'), fc.ipV4(), fc.ipV6(), fc.string(), fc.constant(undefined));
const authorization = fc.oneof(
  fc.constant(`Bearer ${TOKEN}`),
  fc.constant(`bearer ${OTHER}`),
  fc.constant(`Bearer ${TOKEN.slice(0, -1)}`),
  fc.string().map((s) => `Bearer SECRET-${s}`),
  fc.string(),
  fc.constant(undefined),
);
const method = fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'post', '');
const action = fc.oneof(fc.constantFrom('restart-host', 'echo', 'rollback', ''), fc.string({ maxLength: 300 }));
/** Bodies from garbage to nearly valid: random text, random JSON, the sample with random fields replaced. */
const body = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 2000 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({
      path: fc.constantFrom('event_type', 'event_time', 'event_id', 'person', 'incident', 'incident.incident_id', 'incident.title', 'incident.labels', 'incident.alerts', 'incident.progress', 'incident.event_id'),
      value: fc.jsonValue(),
    })
    .map(({ path, value }) => {
      const click = sampleClick() as Record<string, any>;
      const [head, tail] = path.split('.') as [string, string | undefined];
      if (tail) click[head] = { ...click[head], [tail]: value };
      else click[head] = value;
      return JSON.stringify(click);
    }),
  fc.constant(JSON.stringify(sampleClick())),
);

function event(e: { method: string; action: string; ip?: string; authorization?: string; body: string; base64: boolean; header: [string, string] }): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { [e.header[0].toLowerCase()]: e.header[1] };
  if (e.authorization !== undefined) headers.authorization = e.authorization;
  return {
    version: '2.0',
    routeKey: 'ANY /actions/{action}',
    rawPath: `/actions/${e.action}`,
    rawQueryString: '',
    headers,
    pathParameters: { action: e.action },
    requestContext: { http: { method: e.method, path: '/', protocol: 'HTTP/1.1', sourceIp: e.ip as string, userAgent: '' } } as APIGatewayProxyEventV2['requestContext'],
    body: e.base64 ? Buffer.from(e.body).toString('base64') : e.body,
    isBase64Encoded: e.base64,
  };
}

/** What the receiver needs to route and dedup: the only keys a null may not replace. */
const REQUIRED = new Set(['event_time', 'incident', 'incident.incident_id']);

/** Every key path in a JSON value, objects and list items alike. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => [[...prefix, key], ...pathsOf(item, [...prefix, key])]);
}

/** Sets `value` at `path` in place, if every step on the way is still an object. */
function setAt(root: Record<string, unknown>, path: string[], value: unknown): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  if (node !== null && typeof node === 'object') (node as Record<string, unknown>)[path[path.length - 1]!] = value;
}

const samplePaths = pathsOf(sampleClick()).filter((path) => !REQUIRED.has(path.join('.')));
const objectPaths = [[], ...samplePaths.filter((path) => {
  const value = path.reduce<any>((node, key) => node[key], sampleClick());
  return value !== null && typeof value === 'object' && !Array.isArray(value);
})];

/**
 * Whether the allowlist above should let `ip` in: ALLOWED_IP or 10.0.0.0/8, in any of their forms
 * (IPv4-mapped IPv6 too, `::ffff:a00:1` is 10.0.0.1), as Node's own BlockList reads them. Random
 * addresses fall in now and then, and are rightly let in.
 */
function allowedIp(ip: string | undefined): boolean {
  const address = (ip ?? '').trim();
  const family = isIP(address);
  return family !== 0 && ORACLE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
const ORACLE = new BlockList();
ORACLE.addAddress(ALLOWED_IP);
ORACLE.addSubnet('10.0.0.0', 8);

describe('receiver under random input (property-based)', () => {
  it('never answers 5xx, never enqueues for an unverified caller, never echoes a secret, always answers JSON', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ method, action, ip, authorization, body, base64: fc.boolean(), header: fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string()) }),
        async (input) => {
          const { handler, enqueued } = receiver();
          const response = await handler(event(input));
          expect(response.statusCode).toBeLessThan(500);
          expect([200, 400, 401, 403, 404, 405]).toContain(response.statusCode);
          expect(() => JSON.parse(response.body)).not.toThrow();
          expect(response.body).not.toContain('SECRET-');
          const verified = allowedIp(input.ip) && [`Bearer ${TOKEN}`, `bearer ${OTHER}`].includes(input.authorization ?? '');
          if (!verified || input.method !== 'POST') expect(enqueued).toHaveLength(0);
          if (response.statusCode === 200) {
            expect(enqueued).toHaveLength(1);
            // What was queued is what the worker will accept, and fits one SQS message.
            const encoded = encodeQueueMessage(enqueued[0]!, 256 * 1024);
            expect(decodeQueueMessage(encoded).event_id).toBe(JSON.parse(response.body).event_id);
          } else {
            expect(enqueued).toHaveLength(0);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts a verified, valid click with any of its optional fields null and extra fields anywhere', async () => {
    const extra = fc.tuple(fc.constantFrom(...objectPaths), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 3 }));
    await fc.assert(
      fc.asyncProperty(fc.subarray(samplePaths), fc.array(extra, { maxLength: 10 }), async (nulls, extras) => {
        const { handler, enqueued } = receiver();
        const click = sampleClick() as Record<string, unknown>;
        for (const [path, key, value] of extras) setAt(click, [...path, `x-${key}`], value);
        for (const path of nulls) setAt(click, path, null);
        const response = await handler(event({ method: 'POST', action: 'echo', ip: ALLOWED_IP, authorization: `Bearer ${TOKEN}`, body: JSON.stringify(click), base64: false, header: ['x', 'y'] }));
        expect(JSON.parse(response.body)).toMatchObject({ status: 'queued' });
        expect(enqueued).toHaveLength(1);
        expect(decodeQueueMessage(encodeQueueMessage(enqueued[0]!, 256 * 1024)).event_id).toBe(JSON.parse(response.body).event_id);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a verified, valid click however its body is encoded and whatever extra keys it carries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ minLength: 1 }), fc.jsonValue(), { maxKeys: 20 }), fc.boolean(), async (extra, base64) => {
        const { handler, enqueued } = receiver();
        const click = { ...extra, ...sampleClick(), incident: { ...extra, ...sampleClick().incident } };
        const response = await handler(event({ method: 'POST', action: 'echo', ip: ALLOWED_IP, authorization: `Bearer ${TOKEN}`, body: JSON.stringify(click), base64, header: ['x', 'y'] }));
        expect(response.statusCode).toBe(200);
        expect(enqueued).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  });
});
