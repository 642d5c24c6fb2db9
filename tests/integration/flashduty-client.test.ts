import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deadlineSignal } from '../../lib/deadline';
import { FlashDutyClient, FlashDutyError, withDeadline } from '../../lib/flashduty/client';
import { RateLimiter } from '../../lib/flashduty/rate-limit';
import { FlashDutyStandIn } from '../../local/flashduty-standin';
import { withCorrelation } from '../../lib/observability';
import { captureLogs } from '../fixtures/capture-logs';
import { INCIDENT_ID } from '../fixtures/clicks';

const APP_KEY = 'app-key-secret-42';

describe('FlashDuty Open API client against a stand-in server', () => {
  const standIn = new FlashDutyStandIn(APP_KEY);
  let baseUrl: string;
  const client = (options: Partial<ConstructorParameters<typeof FlashDutyClient>[0]> = {}) =>
    new FlashDutyClient({ baseUrl, appKey: async () => APP_KEY, baseDelayMs: 10, attemptTimeoutMs: 300, ...options });

  beforeAll(async () => {
    baseUrl = await standIn.start();
  });
  afterAll(() => standIn.stop());
  beforeEach(() => standIn.reset());

  it('posts a comment the official schema accepts, with the app key as a query parameter', async () => {
    await client().comment(INCIDENT_ID, 'restart-host succeeded');
    expect(standIn.calls).toEqual([expect.objectContaining({ path: '/incident/comment', status: 200, body: { incident_ids: [INCIDENT_ID], comment: 'restart-host succeeded', mute_reply: false } })]);
  });

  it('cuts a long comment cleanly to 1,024 characters, never splitting one', async () => {
    await client().comment(INCIDENT_ID, '🔥'.repeat(2000));
    const [comment] = standIn.comments();
    expect(Array.from(comment!)).toHaveLength(1024);
    expect(comment!.endsWith('🔥…')).toBe(true);
  });

  it('reads a GET endpoint with its query and the app key, retrying a 5xx like any read', async () => {
    standIn.statusPages.pages = [{ page_id: 7, name: 'P', url_name: 'p', components: [] }];
    standIn.intercept = ({ attempt }) => (attempt === 1 ? { status: 502, body: 'bad gateway' } : undefined);
    const data = await client().get('/status-page/change/active/list', { page_id: '7', type: 'incident' });
    expect(data).toEqual({ items: [], total: 0 });
    expect(standIn.calls.map((c) => c.status)).toEqual([502, 200]);
  });

  it('sends a callOnce write exactly once, even when the answer is a 5xx', async () => {
    standIn.intercept = () => ({ status: 503, body: JSON.stringify({ request_id: 'r', error: { code: 'ServiceUnavailable', message: 'busy' } }) });
    await expect(client().callOnce('/incident/comment', { incident_ids: [INCIDENT_ID], comment: 'x' })).rejects.toMatchObject({ code: 'ServiceUnavailable', retryable: true });
    expect(standIn.calls).toHaveLength(1);
  });

  it('retries 429 RequestTooFrequently with backoff, then succeeds', async () => {
    standIn.intercept = ({ attempt }) =>
      attempt <= 2 ? { status: 429, body: JSON.stringify({ request_id: 'r', error: { code: 'RequestTooFrequently', message: 'Request too frequently.' } }) } : undefined;
    await client().comment(INCIDENT_ID, 'after throttling');
    expect(standIn.calls.map((c) => c.status)).toEqual([429, 429, 200]);
  });

  it.each([
    ['500 InternalError', { status: 500, body: JSON.stringify({ request_id: 'r', error: { code: 'InternalError', message: 'oops' } }) }],
    ['a garbage body', { status: 502, body: '<html>bad gateway</html>' }],
    ['a 200 with garbage', { status: 200, body: 'not json' }],
  ])('retries %s a bounded number of times, then fails with a retryable error', async (_label, reply) => {
    standIn.intercept = () => reply;
    const error = await client({ maxAttempts: 3 }).comment(INCIDENT_ID, 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlashDutyError);
    expect((error as FlashDutyError).retryable).toBe(true);
    expect(standIn.calls).toHaveLength(3);
  });

  it('gives up on an endpoint that never answers after its attempts time out', async () => {
    standIn.intercept = () => 'hang';
    const started = Date.now();
    const error = await client({ maxAttempts: 2, attemptTimeoutMs: 200 }).comment(INCIDENT_ID, 'x').catch((e: unknown) => e);
    expect((error as FlashDutyError).code).toBe('NetworkError');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not retry a refusal such as a wrong app key, and names the code', async () => {
    const error = await client({ appKey: async () => 'wrong-key' }).comment(INCIDENT_ID, 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'FlashDutyError', code: 'Unauthorized', httpStatus: 401, retryable: false });
    expect(standIn.calls).toHaveLength(1);
  });

  it('refuses an incident id the API would reject before sending anything', async () => {
    await expect(client().comment('not-an-id', 'x')).rejects.toThrow('incident id "not-an-id" is not a 24-character hex ObjectID');
    expect(standIn.calls).toHaveLength(0);
  });

  it('resets a custom field and lists alerts with requests the schema accepts', async () => {
    await client().resetField(INCIDENT_ID, 'remediation', 'restarted');
    const alerts = await client().listAlerts(INCIDENT_ID, { isActive: true, limit: 5000 });
    expect(alerts).toEqual({ items: [], total: 0 });
    expect(standIn.calls.map((c) => [c.path, c.status])).toEqual([
      ['/incident/field/reset', 200],
      ['/incident/alert/list', 200],
    ]);
    expect(standIn.calls[1]?.body.limit).toBe(1000);
    await expect(client().resetField(INCIDENT_ID, '1bad name', 'x')).rejects.toThrow('custom field name "1bad name" is not valid');
  });

  it('never writes the app key into a log line, even when retrying', async () => {
    standIn.intercept = ({ attempt }) => (attempt === 1 ? { status: 503, body: '{}' } : undefined);
    const written = await captureLogs(() => withCorrelation({ event_id: 'evt-log' }, () => client().incidentInfo(INCIDENT_ID)));
    const retryLine = written.find((line) => line.includes('will retry'));
    expect(retryLine).toContain('"path":"/incident/info"');
    expect(retryLine).toContain('"event_id":"evt-log"');
    expect(written.join('')).not.toContain(APP_KEY);
  });

  describe('writing back exactly once', () => {
    const marker = 'flashduty-actions/echo event evt-once';
    const text = `[flashduty-actions] echo succeeded\n${marker}`;

    it('posts a comment once when FlashDuty stores it but answers after the client gave up, finding it on the timeline', async () => {
      standIn.intercept = ({ path, attempt }) => (path === '/incident/comment' && attempt === 1 ? { afterHandling: true, delayMs: 1500 } : undefined);
      await client({ attemptTimeoutMs: 300 }).comment(INCIDENT_ID, text, { marker });
      expect(standIn.comments(INCIDENT_ID)).toEqual([text]);
      expect(standIn.calls.map((c) => c.path)).toContain('/incident/feed');
      expect(standIn.calls.find((c) => c.path === '/incident/feed')?.body).toMatchObject({ incident_id: INCIDENT_ID, types: ['i_comm'] });
    });

    it('posts again after an ambiguous failure when the timeline shows the first post did not land', async () => {
      standIn.intercept = ({ path, attempt }) => (path === '/incident/comment' && attempt === 1 ? { status: 502, body: '<html>bad gateway</html>' } : undefined);
      await client().comment(INCIDENT_ID, text, { marker });
      expect(standIn.comments(INCIDENT_ID)).toEqual([text]);
      expect(standIn.calls.map((c) => [c.path, c.status])).toEqual([
        ['/incident/comment', 502],
        ['/incident/feed', 200],
        ['/incident/comment', 200],
      ]);
    });

    it('never posts again while the timeline cannot be read, and says the comment may have landed', async () => {
      standIn.intercept = ({ path }) =>
        path === '/incident/comment' ? { afterHandling: true, status: 500, body: '{}' } : { status: 503, body: JSON.stringify({ error: { code: 'ServiceUnavailable', message: 'down' } }) };
      const error = await client({ maxAttempts: 3 }).comment(INCIDENT_ID, text, { marker }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', ambiguous: true, retryable: true });
      expect((error as Error).message).toContain('it may still have taken effect');
      expect(standIn.calls.filter((c) => c.path === '/incident/comment')).toHaveLength(1);
      expect(standIn.comments(INCIDENT_ID)).toHaveLength(1);
    });

    it('with checkFirst, writes nothing when an earlier delivery already posted the comment', async () => {
      await client().comment(INCIDENT_ID, text);
      standIn.calls.length = 0;
      await client().comment(INCIDENT_ID, text, { marker, checkFirst: true });
      expect(standIn.calls.map((c) => c.path)).toEqual(['/incident/feed']);
      expect(standIn.comments(INCIDENT_ID)).toHaveLength(1);
    });

    it('matches the marker as a whole last line, so one event id that prefixes another is not taken for it', async () => {
      await client().comment(INCIDENT_ID, `${text}2`);
      await client().comment(INCIDENT_ID, text, { marker, checkFirst: true });
      expect(standIn.comments(INCIDENT_ID)).toEqual([`${text}2`, text]);
    });

    it('refuses a comment that does not end with its marker', async () => {
      await expect(client().comment(INCIDENT_ID, 'no marker here', { marker })).rejects.toThrow(`must end with its marker line "${marker}"`);
      expect(standIn.calls).toHaveLength(0);
    });
  });

  describe('inside the deadline', () => {
    it('stops a call to a FlashDuty that never answers at the deadline, not after every attempt timed out', async () => {
      standIn.intercept = () => 'hang';
      const started = Date.now();
      const error = await client({ attemptTimeoutMs: 5000, baseDelayMs: 1000 })
        .comment(INCIDENT_ID, 'x', { signal: deadlineSignal(Date.now() + 700) })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', code: 'NetworkError', ambiguous: true, networkCause: 'DEADLINE' });
      expect(Date.now() - started).toBeLessThan(5000); // one attempt alone would have taken 5 s
    });

    it('holds every call an action makes to the action deadline, even one that passes no signal', async () => {
      standIn.intercept = () => 'hang';
      const api = withDeadline(client({ attemptTimeoutMs: 5000 }), deadlineSignal(Date.now() + 500));
      for (const call of [() => api.incidentInfo(INCIDENT_ID), () => api.listAlerts(INCIDENT_ID), () => api.resetField(INCIDENT_ID, 'f', 'v'), () => api.comment(INCIDENT_ID, 'x')]) {
        await expect(call()).rejects.toMatchObject({ networkCause: 'DEADLINE' });
      }
    });

    it('gives up at once instead of honouring a Retry-After that would outlast the deadline', async () => {
      const slowDown = JSON.stringify({ error: { code: 'RequestTooFrequently', message: 'slow down' } });
      standIn.intercept = () => ({ status: 429, body: slowDown, headers: { 'retry-after': '30' } });
      const lines = await captureLogs(async () => {
        const error = await client().comment(INCIDENT_ID, 'x', { signal: deadlineSignal(Date.now() + 20_000) }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'RequestTooFrequently', ambiguous: false });
      });
      expect(standIn.calls.filter((c) => c.path === '/incident/comment')).toHaveLength(1);
      expect(lines.join('\n')).toContain('the wait would run past the deadline for this click');
    });
  });

  describe('knowing whether a write may have happened', () => {
    /** Every request that reached the stand-in, answered or not. */
    let arrived: string[];
    beforeEach(() => {
      arrived = [];
      standIn.intercept = ({ path }) => void arrived.push(path) as undefined;
    });
    /** A limiter whose one slot a first call takes: the next waits a minute for its turn. */
    const oneAMinute = () => new RateLimiter([{ limit: 1, ms: 60_000 }]);
    const marker = 'flashduty-actions/echo event evt-maybe';
    const text = `[flashduty-actions] echo succeeded\n${marker}`;

    it('says nothing was written when the deadline had already passed', async () => {
      const error = await client().comment(INCIDENT_ID, 'x', { signal: deadlineSignal(Date.now() - 1) }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', networkCause: 'DEADLINE', ambiguous: false });
      expect((error as Error).message).not.toContain('it may still have taken effect');
      expect(arrived).toEqual([]);
    });

    it('says nothing was written when the signal was aborted before the request was sent', async () => {
      const controller = new AbortController();
      controller.abort();
      const error = await client().comment(INCIDENT_ID, 'x', { signal: controller.signal }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', ambiguous: false });
      expect(arrived).toEqual([]);
    });

    it('says nothing was written when the rate-limit wait ran out the deadline, for a retried write and a callOnce', async () => {
      const api = client({ limiter: oneAMinute() });
      await api.comment(INCIDENT_ID, 'first');
      const held = [
        () => api.comment(INCIDENT_ID, 'second', { signal: deadlineSignal(Date.now() + 300) }),
        () => api.callOnce('/incident/comment', { incident_ids: [INCIDENT_ID], comment: 'third' }, deadlineSignal(Date.now() + 300)),
      ];
      for (const call of held) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toMatchObject({ name: 'FlashDutyError', networkCause: 'DEADLINE', ambiguous: false });
      }
      expect(arrived).toEqual(['/incident/comment']);
      expect(standIn.comments(INCIDENT_ID)).toEqual(['first']);
    });

    it('says a write may have happened when it was sent and its answer never came', async () => {
      standIn.intercept = () => ({ afterHandling: true, delayMs: Infinity });
      const error = await client({ attemptTimeoutMs: 5000 }).comment(INCIDENT_ID, 'x', { signal: deadlineSignal(Date.now() + 400) }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', networkCause: 'DEADLINE', ambiguous: true });
      expect(standIn.comments(INCIDENT_ID)).toEqual(['x']);
    });

    it.each([
      ['a comment whose retry first looks for it on the timeline', '/incident/comment', (api: FlashDutyClient, signal: AbortSignal) => api.comment(INCIDENT_ID, text, { signal, marker })],
      ['a field write retried without looking', '/incident/field/reset', (api: FlashDutyClient, signal: AbortSignal) => api.resetField(INCIDENT_ID, 'f', 'v', signal)],
    ])('still says %s may have happened when its sent attempt went unanswered and the retry never left', async (_label, path, write) => {
      standIn.intercept = (call) => (call.path === path && call.attempt === 1 ? { afterHandling: true, status: 502, body: '<html>bad gateway</html>' } : undefined);
      const error = await write(client({ limiter: oneAMinute() }), deadlineSignal(Date.now() + 800)).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', ambiguous: true });
      expect(standIn.calls.map((c) => [c.path, c.status])).toEqual([[path, 502]]);
    });
  });

  describe('reading answers like the official SDK', () => {
    it.each(['', '0', 'OK'])('takes an envelope error code of %j as success', async (code) => {
      standIn.intercept = () => ({ status: 200, body: JSON.stringify({ request_id: 'r', error: { code, message: '' } }) });
      await expect(client().comment(INCIDENT_ID, 'x')).resolves.toBeUndefined();
      expect(standIn.calls).toHaveLength(1);
    });

    it('takes a 2xx with an empty body as success for a write, but not for a read', async () => {
      standIn.intercept = () => ({ status: 200, body: '' });
      await expect(client().comment(INCIDENT_ID, 'x')).resolves.toBeUndefined();
      await expect(client({ maxAttempts: 2 }).incidentInfo(INCIDENT_ID)).rejects.toMatchObject({ code: 'InvalidResponse' });
      expect(standIn.calls).toHaveLength(3);
    });

    it('sends mute_reply as configured, so a team can keep our comments out of its IM and ticket syncs', async () => {
      await client({ muteReply: true }).comment(INCIDENT_ID, 'quiet');
      expect(standIn.calls[0]?.body.mute_reply).toBe(true);
    });
  });

  describe('credentials in errors', () => {
    // Characters that read differently as sent, URL-encoded and form-encoded.
    const ODD_KEY = 'odd key+/=secret-42';
    const forms = (key: string) => [key, encodeURIComponent(key), new URLSearchParams({ k: key }).toString().slice(2)];
    const expectNoKey = (text: string, key: string) => {
      for (const form of forms(key)) expect(text).not.toContain(form);
    };
    /** FlashDuty answering with the credential it was sent, as it arrived and as the query string carried it. */
    const echo = (status: number, name: string) => ({ query }: { query: URLSearchParams }) => ({
      status,
      body: JSON.stringify({ request_id: 'r', error: { code: status === 401 ? 'Unauthorized' : 'InternalError', message: `${name} ${query.get(name)} refused (${query.toString()})` } }),
    });
    const seen = (error: unknown) => {
      const e = error as FlashDutyError;
      return [e.message, e.code, e.networkCause ?? '', String(e)].join('\n');
    };

    it('removes the app key from a refusal that echoes it, in every form', async () => {
      standIn.intercept = echo(401, 'app_key');
      const error = await client({ appKey: async () => ODD_KEY }).comment(INCIDENT_ID, 'x').catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', code: 'Unauthorized', retryable: false });
      expect((error as Error).message).toContain('app_key *** refused');
      expectNoKey(seen(error), ODD_KEY);
    });

    it('removes the app key from 5xx answers that echo it, in the error after retries and in every log line', async () => {
      standIn.intercept = echo(503, 'app_key');
      let error: unknown;
      const lines = await captureLogs(async () => {
        error = await client({ appKey: async () => ODD_KEY, maxAttempts: 2 }).incidentInfo(INCIDENT_ID).catch((e: unknown) => e);
      });
      expect(error).toMatchObject({ name: 'FlashDutyError', code: 'InternalError' });
      expect(standIn.calls).toHaveLength(2);
      expectNoKey(seen(error), ODD_KEY);
      expectNoKey(lines.join('\n'), ODD_KEY);
    });

    it('removes the app key from a network error that quotes the URL', async () => {
      // fetch refuses a URL with user info, quoting it whole, query (and app key) included.
      const withUserInfo = baseUrl.replace('http://', 'http://user:pw@');
      let error: unknown;
      const lines = await captureLogs(async () => {
        error = await client({ baseUrl: withUserInfo, appKey: async () => ODD_KEY, maxAttempts: 2 }).comment(INCIDENT_ID, 'x').catch((e: unknown) => e);
      });
      expect(error).toMatchObject({ name: 'FlashDutyError', code: 'NetworkError' });
      expect((error as Error).message).toContain('/incident/comment?app_key=***');
      expectNoKey(seen(error), ODD_KEY);
      expectNoKey(lines.join('\n'), ODD_KEY);
    });

    it('removes the integration key from a change push refusal that echoes it', async () => {
      standIn.intercept = echo(401, 'integration_key');
      const event = { change_key: 'k', title: 't', change_status: 'Processing' } as const;
      const error = await client().pushChange(ODD_KEY, event).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FlashDutyError', code: 'Unauthorized' });
      expect((error as Error).message).toContain('integration_key *** refused');
      expectNoKey(seen(error), ODD_KEY);
    });
  });

  describe('network failures', () => {
    it('logs and reports the real cause of a refused connection, and knows nothing was sent', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      let error: unknown;
      const lines = await captureLogs(async () => {
        error = await client({ baseUrl: `http://127.0.0.1:${port}`, maxAttempts: 2 }).comment(INCIDENT_ID, 'x').catch((e: unknown) => e);
      });
      expect(error).toMatchObject({ code: 'NetworkError', networkCause: 'ECONNREFUSED', ambiguous: false });
      expect((error as Error).message).toContain('ECONNREFUSED');
      const logged = lines.join('\n');
      expect(logged).toContain('"cause":"ECONNREFUSED"');
      expect(logged).not.toContain('fetch failed');
    });

    it('names a connection closed mid-request and treats it as possibly carried out', async () => {
      const rude = createServer((req) => req.socket.destroy());
      await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(rude.address() as AddressInfo).port}`;
        const error = await client({ baseUrl: url, maxAttempts: 1 }).comment(INCIDENT_ID, 'x').catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'NetworkError', ambiguous: true });
        expect((error as FlashDutyError).networkCause).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
      } finally {
        rude.close();
      }
    });
  });
});
