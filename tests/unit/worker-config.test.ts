import * as v from 'valibot';
import { defineAction } from '../../lib/actions/types';
import { intVar } from '../../lib/schema/env';
import { workerConfig } from '../../lib/config/worker';

const probe = defineAction({
  name: 'probe',
  description: 'test action with one setting',
  config: v.object({ PROBE_LIMIT: intVar(2, 1, 5, 'how many probes') }),
  run: async () => ({ status: 'succeeded', summary: 'ok' }),
});
const base = { ACTION_NAME: 'probe', QUEUE_URL: 'http://q/probe.fifo', IDEMPOTENCY_TABLE: 't', FLASHDUTY_APP_KEY: 'k' };

describe('worker configuration', () => {
  it('reads the worker settings with their defaults and the action settings with its schema', () => {
    const config = workerConfig(base, [probe]);
    expect(config).toMatchObject({
      dryRun: false,
      maxReceiveCount: 3,
      retryBaseSeconds: 10,
      flashdutyUrl: 'https://api.flashcat.cloud',
      actionConfig: { PROBE_LIMIT: 2 },
      flashdutyMuteReply: false,
      cooldownSeconds: 60,
      secretMaxAgeSeconds: 300,
    });
    expect(config.appKey).toMatchObject({ label: 'FLASHDUTY_APP_KEY', parameter: undefined });
    expect(workerConfig({ ...base, FLASHDUTY_MUTE_REPLY: 'true', COOLDOWN_SECONDS: '0' }, [probe])).toMatchObject({ flashdutyMuteReply: true, cooldownSeconds: 0 });
  });

  it.each([
    [{ ACTION_NAME: 'nope' }, 'ACTION_NAME: unknown action "nope"; known: probe'],
    [{ QUEUE_URL: '' }, 'QUEUE_URL: missing'],
    [{ FLASHDUTY_APP_KEY: '' }, 'FLASHDUTY_APP_KEY: set FLASHDUTY_APP_KEY (local use) or FLASHDUTY_APP_KEY_PARAM'],
    [{ FLASHDUTY_APP_KEY_PARAM: '/p' }, 'FLASHDUTY_APP_KEY and FLASHDUTY_APP_KEY_PARAM are both set'],
    [{ DRY_RUN: 'maybe' }, 'DRY_RUN: expected true or false, got "maybe"'],
    [{ FLASHDUTY_API_URL: 'ftp://x' }, 'FLASHDUTY_API_URL: expected an http(s) URL'],
    [{ COOLDOWN_SECONDS: '-5' }, 'COOLDOWN_SECONDS: expected an integer between 0 and 86400, got "-5"'],
    [{ FLASHDUTY_MUTE_REPLY: 'sometimes' }, 'FLASHDUTY_MUTE_REPLY: expected true or false, got "sometimes"'],
    [{ PROBE_LIMIT: '9' }, 'invalid probe configuration: PROBE_LIMIT: expected an integer between 1 and 5, got "9"'],
  ])('refuses %j at cold start with a message naming the variable', (change, message) => {
    expect(() => workerConfig({ ...base, ...change }, [probe])).toThrow(message);
  });

  it('never echoes the app key in an error', () => {
    expect(() => workerConfig({ ...base, FLASHDUTY_APP_KEY: 'secret-app-key', FLASHDUTY_APP_KEY_PARAM: '/p' }, [probe])).not.toThrow(/secret-app-key/);
  });
});
