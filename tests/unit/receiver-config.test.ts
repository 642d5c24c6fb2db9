import { receiverConfig } from '../../lib/config/receiver';

const TOKEN = 'config-test-token-0123456789';
const base = {
  ENABLED_ACTIONS: 'restart-host, enrich',
  QUEUE_URL_RESTART_HOST: 'http://q/restart-host.fifo',
  QUEUE_URL_ENRICH: 'http://q/enrich.fifo',
  WEBHOOK_TOKENS: TOKEN,
};

describe('receiver configuration', () => {
  it('reads enabled actions with their queues and applies the documented defaults', () => {
    const config = receiverConfig(base);
    expect([...config.queues]).toEqual([
      ['restart-host', 'http://q/restart-host.fifo'],
      ['enrich', 'http://q/enrich.fifo'],
    ]);
    expect(config.allowedIps).toEqual(['47.94.95.118', '123.56.8.183', '47.94.193.81', '1.13.19.96']);
    expect(config.maxEventAgeMs).toBe(300_000);
    expect(config.maxMessageBytes).toBe(262_144);
    expect(config.tokens).toEqual({ inline: TOKEN });
  });

  it('reads event rules and the app key owner\'s person ids; none by default', () => {
    expect(receiverConfig(base)).toMatchObject({ rules: [], selfPersonIds: [] });
    const config = receiverConfig({ ...base, EVENT_RULES: '[{"name":"enrich-new","on":["i_new"],"run":"enrich"}]', EVENT_SELF_PERSON_IDS: '1552048792504' });
    expect(config.rules).toEqual([{ name: 'enrich-new', on: ['i_new'], when: {}, run: 'enrich' }]);
    expect(config.selfPersonIds).toEqual([1552048792504]);
  });

  it('prefers the SSM parameter when WEBHOOK_TOKENS_PARAM is set', () => {
    const { WEBHOOK_TOKENS: _inline, ...env } = base;
    expect(receiverConfig({ ...env, WEBHOOK_TOKENS_PARAM: '/flashduty/tokens' }).tokens).toEqual({ parameter: '/flashduty/tokens' });
  });

  it.each([
    [{ ENABLED_ACTIONS: '' }, 'ENABLED_ACTIONS: list at least one action'],
    [{ ENABLED_ACTIONS: 'Restart_Host' }, 'ENABLED_ACTIONS: "Restart_Host" is not a valid action name'],
    [{ QUEUE_URL_ENRICH: '' }, 'QUEUE_URL_ENRICH: missing; every enabled action needs its queue URL'],
    [{ WEBHOOK_TOKENS: undefined }, 'WEBHOOK_TOKENS: set WEBHOOK_TOKENS (local use) or WEBHOOK_TOKENS_PARAM (an SSM SecureString name)'],
    [{ WEBHOOK_TOKENS_PARAM: '/p' }, 'WEBHOOK_TOKENS and WEBHOOK_TOKENS_PARAM are both set'],
    [{ EDGE_SECRET: 'e', EDGE_SECRET_PARAM: '/e' }, 'EDGE_SECRET and EDGE_SECRET_PARAM are both set; set exactly one'],
    [{ MAX_EVENT_AGE_SECONDS: 'soon' }, 'MAX_EVENT_AGE_SECONDS: expected an integer between 1 and 86400, got "soon"'],
    [{ MAX_MESSAGE_BYTES: '1000' }, 'MAX_MESSAGE_BYTES: expected an integer between 65536 and 1048576'],
    [{ EVENT_RULES: '[{"name":"r","on":["i_new"],"run":"rollback"}]' }, 'EVENT_RULES: rule "r" runs "rollback", which is not an enabled action'],
    [{ EVENT_RULES: '[{"name":"r","on":["i_new"]}]' }, 'EVENT_RULES: inline JSON: 0.run: is required'],
    [{ EVENT_RULES: '[{"name":"r","on":["i_comm"],"run":"enrich"}]' }, 'set EVENT_SELF_PERSON_IDS'],
    [{ EVENT_SELF_PERSON_IDS: 'bot' }, 'EVENT_SELF_PERSON_IDS: expected comma-separated FlashDuty person ids (digits)'],
  ])('refuses %j at cold start with a message naming the variable', (change, message) => {
    expect(() => receiverConfig({ ...base, ...change })).toThrow(message);
  });

  it('never echoes a token in a configuration error', () => {
    expect(() => receiverConfig({ ...base, WEBHOOK_TOKENS_PARAM: '/p' })).not.toThrow(TOKEN);
  });
});
