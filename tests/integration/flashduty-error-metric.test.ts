import { FlashDutyStandIn } from '../../lib/local/flashduty-standin';
import { INCIDENT_ID } from '../fixtures/clicks';

const APP_KEY = 'app-key-secret-42';

/** The client with metrics on (the test environment turns them off at module load). */
function clientWithMetrics(): typeof import('../../lib/flashduty/client') {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  let module!: typeof import('../../lib/flashduty/client');
  jest.isolateModules(() => {
    module = require('../../lib/flashduty/client') as typeof import('../../lib/flashduty/client');
  });
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return module;
}

describe('the FlashDutyApiError metric the dashboard draws', () => {
  const standIn = new FlashDutyStandIn(APP_KEY);
  let baseUrl: string;
  beforeAll(async () => {
    baseUrl = await standIn.start();
  });
  afterAll(() => standIn.stop());

  async function emittedDuring(fn: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0);
    try {
      await fn().catch(() => undefined);
    } finally {
      spy.mockRestore();
    }
    return lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('is emitted once per failed attempt, retried or final, and not for a success', async () => {
    const { FlashDutyClient } = clientWithMetrics();
    const client = new FlashDutyClient({ baseUrl, appKey: async () => APP_KEY, baseDelayMs: 10, attemptTimeoutMs: 10_000, maxAttempts: 3 });
    standIn.intercept = ({ attempt }) => (attempt <= 1 ? { status: 503, body: '{"request_id":"r","error":{"code":"ServiceUnavailable","message":"busy"}}' } : undefined);
    const retried = await emittedDuring(() => client.incidentInfo(INCIDENT_ID));
    expect(retried.map((r) => r.FlashDutyApiError)).toEqual([1]);
    expect(retried[0]).toMatchObject({ service: 'flashduty-actions', _aws: { CloudWatchMetrics: [{ Namespace: 'FlashdutyActions', Dimensions: [['service']] }] } });

    standIn.reset();
    standIn.intercept = () => ({ status: 401, body: '{"request_id":"r","error":{"code":"Unauthorized","message":"no"}}' });
    expect((await emittedDuring(() => client.incidentInfo(INCIDENT_ID))).map((r) => r.FlashDutyApiError)).toEqual([1]);

    standIn.reset();
    expect(await emittedDuring(() => client.incidentInfo(INCIDENT_ID))).toEqual([]);
  });
});
