import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { EDGE_HEADER } from '../../lib/auth/edge';
import { TokenVerifier } from '../../lib/auth/tokens';
import type { ReceiverDeps } from '../../lib/receiver/handler';
import { captureLogs } from '../fixtures/capture-logs';
import { sampleClick } from '../fixtures/clicks';
import { PUSH_VARIANTS } from '../fixtures/push-variants';
import { FLASHDUTY_IP, receiverUnderTest, TOKEN } from '../fixtures/receiver';


function event(overrides: {
  method?: string;
  action?: string;
  ip?: string;
  authorization?: string | null;
  body?: unknown;
  base64?: boolean;
} = {}): APIGatewayProxyEventV2 {
  const raw = typeof overrides.body === 'string' ? overrides.body : JSON.stringify(overrides.body ?? sampleClick());
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (overrides.authorization !== null) headers.authorization = overrides.authorization ?? `Bearer ${TOKEN}`;
  return {
    version: '2.0',
    routeKey: 'ANY /actions/{action}',
    rawPath: `/actions/${overrides.action ?? 'restart-host'}`,
    rawQueryString: '',
    headers,
    pathParameters: { action: overrides.action ?? 'restart-host' },
    requestContext: {
      http: { method: overrides.method ?? 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: overrides.ip ?? FLASHDUTY_IP, userAgent: 'Go-http-client/1.1' },
    } as APIGatewayProxyEventV2['requestContext'],
    body: overrides.base64 ? Buffer.from(raw).toString('base64') : raw,
    isBase64Encoded: overrides.base64 ?? false,
  };
}

function receiver(overrides: Partial<ReceiverDeps> = {}) {
  return receiverUnderTest({ 'restart-host': 'https://queue/restart-host.fifo' }, overrides);
}

const bodyOf = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

describe('receiver', () => {
  it('queues a verified, valid click on its action queue and answers 200 with the event id', async () => {
    const { handler, sent } = receiver();
    const response = await handler(event({ body: sampleClick({ event_id: 'fac0599a2a25529ba2362c0c184b6cfb' }) }));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ status: 'queued', action: 'restart-host', event_id: 'fac0599a2a25529ba2362c0c184b6cfb' });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.queueUrl).toBe('https://queue/restart-host.fifo');
    expect(sent[0]?.message).toMatchObject({ version: 1, action: 'restart-host', event_id: 'fac0599a2a25529ba2362c0c184b6cfb' });
  });

  it('answers 401 when the token is wrong or missing, without saying more', async () => {
    const { handler, sent } = receiver();
    for (const authorization of ['Bearer wrong-token-0123456789', null]) {
      const response = await handler(event({ authorization }));
      expect(response.statusCode).toBe(401);
      expect(bodyOf(response)).toEqual({ error: 'unauthorized' });
    }
    expect(sent).toHaveLength(0);
  });

  it('answers 403 to a foreign IP even with a valid token, and ignores X-Forwarded-For', async () => {
    const { handler, sent } = receiver();
    const request = event({ ip: '203.0.113.9' });
    request.headers['x-forwarded-for'] = FLASHDUTY_IP;
    const response = await handler(request);
    expect(response.statusCode).toBe(403);
    expect(bodyOf(response)).toEqual({ error: 'forbidden' });
    expect(sent).toHaveLength(0);
  });

  it.each(['GET', 'PUT', 'DELETE', 'OPTIONS', 'POST'])('answers 403 to a foreign IP whatever the method (%s), before saying which methods are allowed', async (method) => {
    const { handler, sent } = receiver();
    const response = await handler(event({ ip: '203.0.113.9', method }));
    expect(response.statusCode).toBe(403);
    expect(response.headers?.allow).toBeUndefined();
    expect(bodyOf(response)).toEqual({ error: 'forbidden' });
    expect(sent).toHaveLength(0);
  });

  describe('behind the CloudFront + WAF edge (EDGE_FIREWALL)', () => {
    const EDGE = 'edge-secret-0123456789abcdef';
    const behindEdge = () => receiver({ edgeSecret: async () => new TokenVerifier([EDGE], 'EDGE_SECRET') });
    const viaEdge = (secret?: string) => {
      // API Gateway sees CloudFront's address, not FlashDuty's; the WAF checked FlashDuty's.
      const request = event({ ip: '130.176.0.10' });
      if (secret !== undefined) request.headers[EDGE_HEADER] = secret;
      return request;
    };

    it('accepts a click that came through the edge, whatever address API Gateway saw', async () => {
      const { handler, sent } = behindEdge();
      expect((await handler(viaEdge(EDGE))).statusCode).toBe(200);
      expect(sent).toHaveLength(1);
    });

    it.each([['without the edge header', undefined], ['with a wrong edge secret', 'guess-0123456789abcdef0']])(
      'answers 403 to a request %s (one that went around the WAF to the API directly)',
      async (_how, secret) => {
        const { handler, sent } = behindEdge();
        const response = await handler(viaEdge(secret));
        expect([response.statusCode, bodyOf(response)]).toEqual([403, { error: 'forbidden' }]);
        expect(sent).toHaveLength(0);
      },
    );

    it('answers 503 when the edge secret cannot be loaded', async () => {
      const { handler } = receiver({ edgeSecret: () => Promise.reject(new Error('ssm down')) });
      expect((await handler(viaEdge(EDGE))).statusCode).toBe(503);
    });
  });

  it('does not reveal which actions exist to an unverified caller', async () => {
    const { handler } = receiver();
    const known = await handler(event({ action: 'restart-host', authorization: null }));
    const unknown = await handler(event({ action: 'no-such-action', authorization: null }));
    expect([known.statusCode, known.body]).toEqual([unknown.statusCode, unknown.body]);
  });

  it('takes the action from the path on an action\'s own route, where API Gateway gives no path parameter', async () => {
    const { handler, sent } = receiver();
    const request = event();
    delete request.pathParameters;
    request.rawPath = '/actions/restart-host';
    const response = await handler(request);
    expect(response.statusCode).toBe(200);
    expect(sent.map((s) => s.message.action)).toEqual(['restart-host']);
  });

  it('answers 404 naming the action when it is unknown or not enabled', async () => {
    const { handler, sent } = receiver();
    const response = await handler(event({ action: 'rollback' }));
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ error: 'no enabled action named "rollback"' });
    expect(sent).toHaveLength(0);
  });

  it('answers 405 with Allow: POST to other methods', async () => {
    const { handler, sent } = receiver();
    const response = await handler(event({ method: 'GET' }));
    expect(response.statusCode).toBe(405);
    expect(response.headers?.allow).toBe('POST');
    expect(bodyOf(response).error).toBe('method GET is not allowed; use POST');
    expect(sent).toHaveLength(0);
  });

  it('answers 400 listing what is wrong with the payload', async () => {
    const { handler, sent } = receiver();
    const click = sampleClick();
    const response = await handler(event({ body: { ...click, incident: { ...click.incident, incident_id: 42 } } }));
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).details).toEqual(['incident.incident_id: expected string, got number']);
    expect(sent).toHaveLength(0);
  });

  it.each(PUSH_VARIANTS)('queues a push with %s (FlashDuty never retries a 400)', async (_name, variant) => {
    const { handler, sent } = receiver();
    const response = await handler(event({ body: variant(sampleClick()) }));
    expect(bodyOf(response)).toMatchObject({ status: 'queued' });
    expect(response.statusCode).toBe(200);
    expect(sent).toHaveLength(1);
  });

  it('answers 400 to a stale event_time', async () => {
    const { handler, sent } = receiver();
    const response = await handler(event({ body: sampleClick({ event_time: Date.now() - 3_600_000 }) }));
    expect(response.statusCode).toBe(400);
    expect(String(bodyOf(response).error)).toMatch(/^event_time is 3600 s old/);
    expect(sent).toHaveLength(0);
  });

  it('accepts a base64-encoded body', async () => {
    const { handler, sent } = receiver();
    expect((await handler(event({ base64: true }))).statusCode).toBe(200);
    expect(sent).toHaveLength(1);
  });

  it('answers 503 when the queue cannot take the message, saying it may still run rather than to click again', async () => {
    const { handler } = receiver({
      enqueue: async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.1:443 with secret details');
      },
    });
    const response = await handler(event());
    expect(response.statusCode).toBe(503);
    expect(response.body).not.toMatch(/ECONNREFUSED|secret/);
    const { error } = JSON.parse(response.body) as { error: string };
    expect(error).toContain('it may still run');
    expect(error).toContain('watch the incident timeline');
    expect(error).not.toMatch(/try again/i);
  });

  it('answers 503 when the token store cannot be read, and 401 is not given to a caller it could not check', async () => {
    const { handler, sent } = receiver({ verifier: () => Promise.reject(new Error('SSM down')) });
    expect((await handler(event())).statusCode).toBe(503);
    expect(sent).toHaveLength(0);
  });

  it('answers a JSON 500 without internals when something unexpected breaks', async () => {
    const { handler } = receiver({
      verifier: async () => {
        return { verify: () => { throw new TypeError('boom at /var/task/index.js:1'); } } as unknown as TokenVerifier;
      },
    });
    const response = await handler(event());
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({ error: 'internal error' });
  });

  it('logs one line per request with the correlation keys and never the token', async () => {
    const { handler } = receiver();
    const wrong = 'Bearer wrong-token-with-secret-value';
    const lines = await captureLogs(async () => {
      await handler(event());
      await handler(event({ authorization: wrong }));
    });
    expect(lines).toHaveLength(2);
    const [accepted, refused] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(accepted).toMatchObject({ message: 'click queued', action: 'restart-host', incident_id: '6551f3888713372ad1054d57', status: 200 });
    expect(typeof accepted?.event_id).toBe('string');
    expect(refused).toMatchObject({ message: 'click refused', action: 'restart-host', status: 401, reason: 'bad_token' });
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(lines.join('\n')).not.toContain('wrong-token-with-secret-value');
  });

  it('answers every request with JSON', async () => {
    const { handler } = receiver();
    for (const request of [event(), event({ method: 'PUT' }), event({ ip: '1.1.1.1' }), event({ authorization: null }), event({ body: 'x' })]) {
      const response = await handler(request);
      expect(response.headers?.['content-type']).toBe('application/json');
      expect(() => JSON.parse(response.body)).not.toThrow();
    }
  });
});
