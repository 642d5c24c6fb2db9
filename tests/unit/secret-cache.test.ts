import { cachedUntilFailure, RELOAD_RETRY_MS } from '../../lib/aws/parameter-store';

/** A loader answering from a list of results, counting its calls. */
function loader(results: Array<string | Error>) {
  const calls = { count: 0 };
  const load = async () => {
    const result = results[Math.min(calls.count++, results.length - 1)]!;
    if (result instanceof Error) throw result;
    return result;
  };
  return { load, calls };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a secret kept between requests (the receiver tokens)', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => (clock = 1_000_000));

  it('is loaded once and served from memory until it is older than its max age', async () => {
    const { load, calls } = loader(['old,new']);
    const get = cachedUntilFailure(load, 300_000, now);
    expect(await get()).toBe('old,new');
    clock += 299_999;
    expect(await get()).toBe('old,new');
    expect(calls.count).toBe(1);
  });

  it('after its max age, still answers at once with the kept value while it reloads in the background, then serves the new one', async () => {
    const { load, calls } = loader(['old,new', 'new']);
    const get = cachedUntilFailure(load, 300_000, now);
    await get();
    clock += 300_000;
    expect(await get()).toBe('old,new'); // no request waits on SSM
    await settle();
    expect(calls.count).toBe(2);
    expect(await get()).toBe('new'); // the removed token is refused from now on
  });

  it('keeps the old value when a reload fails, and tries again a little later, not on every request', async () => {
    const { load, calls } = loader(['old,new', new Error('throttled'), 'new']);
    const get = cachedUntilFailure(load, 300_000, now);
    await get();
    clock += 300_000;
    await get();
    await settle();
    expect(await get()).toBe('old,new');
    await settle();
    expect(calls.count).toBe(2);
    clock += RELOAD_RETRY_MS;
    await get();
    await settle();
    expect(await get()).toBe('new');
    expect(calls.count).toBe(3);
  });

  it('forgets a failed first load, so the next request tries again', async () => {
    const { load, calls } = loader([new Error('unreachable'), 'token']);
    const get = cachedUntilFailure(load, 300_000, now);
    await expect(get()).rejects.toThrow('unreachable');
    await settle();
    expect(await get()).toBe('token');
    expect(calls.count).toBe(2);
  });
});
