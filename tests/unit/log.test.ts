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

  it('writes errors as name, message, stack, cause and own fields, and bigints as digits', async () => {
    const error = Object.assign(new TypeError('boom', { cause: new Error('root') }), { Code: 'E42' });
    const [line] = parsed(await captureLogs(async () => log.error('failed', { error, id: 2n ** 64n })));
    expect(line).toMatchObject({
      level: 'ERROR',
      error: { name: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom'), Code: 'E42', cause: { name: 'Error', message: 'root' } },
      id: '18446744073709551616',
    });
  });

  it('leaves out only a key that cannot be written, keeping the click keys, and says which', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const [line] = parsed(await captureLogs(async () => withCorrelation({ event_id: 'E1' }, () => log.warn('odd', { circular, attempt: 2 }))));
    expect(line).toMatchObject({ level: 'WARN', message: 'odd', event_id: 'E1', attempt: 2, log_error: 'left out keys that cannot be written as JSON: circular' });
    expect(line).not.toHaveProperty('circular');
  });

  it('never lets an extra key replace level, message or the other fixed fields', async () => {
    const [line] = parsed(await captureLogs(async () => log.info('click queued', { message: 'other', level: 'DEBUG', service: 'x', status: 200 })));
    expect(line).toMatchObject({ level: 'INFO', message: 'click queued', service: 'flashduty-actions', status: 200 });
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
