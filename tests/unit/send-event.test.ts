import { sendRequest } from '../../scripts/send-options';

const env = { PORT: '3000', WEBHOOK_TOKENS: 'first-token,second' };

describe('npm run send -- --event', () => {
  it("posts FlashDuty's sample incident webhook event of that type to /events, labelled like the sample click", () => {
    const request = sendRequest(['--event', 'i_rslv'], env);
    expect(request.url).toBe('http://127.0.0.1:3000/events');
    expect(request.token).toBe('first-token');
    expect(request.body).toMatchObject({ event_type: 'i_rslv', incident: { incident_id: '64b1352e376e32c85c56e25b', labels: { check: 'Custom field test', service: 'engine', resource: 'es.nj.01' } } });
    expect((request.body.incident as Record<string, unknown>).alerts).toBeUndefined();
  });

  it('sends the incident as the event leaves it: resolved by i_rslv, acknowledged by i_ack, open on i_new', () => {
    const incident = (type: string) => sendRequest(['--event', type], env).body.incident as Record<string, unknown>;
    expect(incident('i_rslv')).toMatchObject({ progress: 'Closed', close_time: 1689335086, end_time: 1689335086 });
    expect(incident('i_ack')).toMatchObject({ progress: 'Processing', ack_time: 1689335086, close_time: 0 });
    expect(incident('i_new')).toMatchObject({ progress: 'Triggered', ack_time: 0, close_time: 0 });
    expect(incident('i_reopen')).toMatchObject({ progress: 'Triggered' });
  });

  it('takes --url (a base URL or the /events URL), --label and --token like a click', () => {
    expect(sendRequest(['--event', 'i_new', '--url', 'https://api.example/'], env).url).toBe('https://api.example/events');
    expect(sendRequest(['--event', 'i_new', '--url', 'https://api.example/events'], env).url).toBe('https://api.example/events');
    const labelled = sendRequest(['--event', 'i_new', '--label', 'service=checkout', '--token', 't'], env);
    expect(labelled.token).toBe('t');
    expect(labelled.body.incident).toMatchObject({ labels: { service: 'checkout' } });
  });

  it.each([
    [['--event', 'i_resolved'], '--event takes one of FlashDuty\'s event types'],
    [['echo', '--event', 'i_new'], "--event posts to the receiver's /events; name no action"],
    [['--event'], '--event needs a value'],
  ])('refuses %j, saying what was wrong', (argv, message) => {
    expect(() => sendRequest(argv, env)).toThrow(message);
  });
});
