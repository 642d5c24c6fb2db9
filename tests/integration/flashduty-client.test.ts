import { FlashDutyClient, FlashDutyError } from '../../lib/flashduty/client';
import { FlashDutyStandIn } from '../../lib/local/flashduty-standin';
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
    expect(standIn.calls).toEqual([expect.objectContaining({ path: '/incident/comment', status: 200, body: { incident_ids: [INCIDENT_ID], comment: 'restart-host succeeded' } })]);
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
});
