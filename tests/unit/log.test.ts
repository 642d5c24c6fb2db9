import { log, setLogLevel, withCorrelation } from '../../lib/observability';
import { captureLogs } from '../fixtures/capture-logs';

const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('log', () => {
  it('writes one JSON line per call in the Powertools shape, with the correlation keys and the extras', async () => {
    const lines = parsed(await captureLogs(async () => withCorrelation({ action: 'echo', event_id: 'e-1' }, () => log.info('click queued', { status: 200 }))));
    expect(lines).toEqual([
      { level: 'INFO', message: 'click queued', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), service: 'flashduty-actions', sampling_rate: 0, action: 'echo', event_id: 'e-1', status: 200 },
    ]);
  });

  it('writes errors as name, message and stack, bigints as digits, and a circular value as a line that says so', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const lines = parsed(
      await captureLogs(async () => {
        log.error('failed', { error: new TypeError('boom'), id: 2n ** 64n });
        log.warn('odd', { circular });
      }),
    );
    expect(lines[0]).toMatchObject({ level: 'ERROR', error: { name: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom') }, id: '18446744073709551616' });
    expect(lines[1]).toMatchObject({ level: 'WARN', message: 'odd', log_error: expect.stringContaining('keys could not be written') });
  });

  it('keeps to the level: nothing below it, nothing at all when SILENT', async () => {
    const lines = await captureLogs(async () => {
      setLogLevel('WARN');
      log.debug('no');
      log.info('no');
      log.warn('yes');
      setLogLevel('SILENT');
      log.error('no');
    });
    expect(parsed(lines).map((line) => line.message)).toEqual(['yes']);
  });
});
