import { eventIdOf, validatePayload, withoutNulls } from '../../lib/flashduty/payload';
import { parseClick } from '../../lib/receiver/click';
import { clickWithIncident, EVENT_ID, sampleClick } from '../fixtures/clicks';

const NOW = Date.now();
const parse = (body: unknown, options: { base64?: boolean; now?: number } = {}) => {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const encoded = options.base64 ? Buffer.from(raw).toString('base64') : raw;
  return parseClick(encoded, options.base64 ?? false, { now: options.now ?? NOW, maxEventAgeMs: 300_000 });
};

describe('Custom Action payload', () => {
  it('accepts FlashDuty sample payload and keeps keys the schema does not list', () => {
    const click = parse(sampleClick({ vendor_extra: { a: 1 } }));
    expect(click.payload.incident.incident_id).toBe('6551f3888713372ad1054d57');
    expect((click.payload as Record<string, unknown>).vendor_extra).toEqual({ a: 1 });
    expect((click.payload.incident as Record<string, unknown>).num).toBe('054D57');
  });

  it('reads event_id from the top level first', () => {
    expect(parse(sampleClick({ event_id: EVENT_ID })).eventId).toBe(EVENT_ID);
  });

  it('falls back to incident.event_id, where FlashDuty examples put it', () => {
    const { event_id: _dropped, ...click } = clickWithIncident({ event_id: 'from-incident-1' });
    expect(parse(click).eventId).toBe('from-incident-1');
  });

  it('falls back to a hash of the body, stable across identical retries', () => {
    const { event_id: _dropped, ...click } = sampleClick();
    const raw = JSON.stringify(click);
    const first = parse(raw).eventId;
    expect(first).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(parse(raw).eventId).toBe(first);
    expect(eventIdOf(validatePayload(click), `${raw} `)).not.toBe(first);
  });

  it('keeps every digit of a numeric event_id past 2^53, so neighbouring int64 ids stay two clicks', () => {
    const body = (id: string) => JSON.stringify(sampleClick()).replace(/"event_id":"[^"]*"/, `"event_id":${id}`);
    expect(parse(body('1999632289504123456')).eventId).toBe('1999632289504123456');
    expect(parse(body('1999632289504123457')).eventId).toBe('1999632289504123457');
    const { event_id: _dropped, ...click } = sampleClick();
    const nested = JSON.stringify({ ...click, incident: { ...click.incident, event_id: 0 } }).replace('"event_id":0', '"event_id":18446744073709551615');
    expect(parse(nested).eventId).toBe('18446744073709551615');
  });

  it('decodes a base64-encoded body as API Gateway may hand it over', () => {
    expect(parse(sampleClick({ event_id: EVENT_ID }), { base64: true }).eventId).toBe(EVENT_ID);
  });

  it('reads Go-shaped values: nulls as absent, every label value as a string, numeric ids as strings, seconds as ms', () => {
    const click = sampleClick({ event_id: 12345, event_time: Math.floor(NOW / 1000) + 0.5, person: null });
    const { payload, eventId } = parse({ ...click, incident: { ...click.incident, labels: { port: 9200, canary: true, zone: null, host: 'a', odd: { x: [1] } }, alerts: null, title: null } });
    expect(eventId).toBe('12345');
    expect(payload.event_time).toBe(Math.floor(NOW / 1000) * 1000 + 500);
    expect(payload.incident.labels).toEqual({ port: '9200', canary: 'true', host: 'a', odd: '{"x":[1]}' });
    expect('person' in payload || 'alerts' in payload.incident || 'title' in payload.incident).toBe(false);
  });

  it('keeps unknown enum values as sent', () => {
    const { payload } = parse(clickWithIncident({ incident_severity: 'Major', progress: 'Muted' }));
    expect([payload.incident.incident_severity, payload.incident.progress]).toEqual(['Major', 'Muted']);
  });

  it.each([
    ['an empty body', '', 'request body is empty'],
    ['invalid JSON', '{"event_type":', 'request body is not valid JSON'],
    ['a JSON array', '[]', 'request body must be a JSON object'],
    ['a missing incident', sampleClick({ incident: undefined }), 'incident: is required'],
    ['a malformed incident id', clickWithIncident({ incident_id: 'abc' }), 'incident.incident_id: expected a 24-character hex ObjectID'],
    ['a null incident', sampleClick({ incident: null }), 'incident: is required'],
    ['a numeric title', clickWithIncident({ title: 42 }), 'incident.title: expected string, got number'],
    ['a missing event_time', sampleClick({ event_time: undefined }), 'event_time: is required'],
    ['a null event_time', sampleClick({ event_time: null }), 'event_time: is required'],
    ['an over-long event_id', sampleClick({ event_id: 'x'.repeat(300) }), 'event_id: must be at most 256 characters'],
    ['an alert that is not an object', clickWithIncident({ alerts: [{ alert_id: 'a' }, 'down'] }), 'incident.alerts.1: expected an object'],
  ])('refuses %s with a message naming the problem', (_label, body, message) => {
    expect(() => parse(body)).toThrow(message);
  });

  it('refuses an event older than the configured age (replay protection)', () => {
    expect(() => parse(sampleClick({ event_time: NOW - 301_000 }))).toThrow('event_time is 301 s old; events older than 300 s are refused');
    expect(parse(sampleClick({ event_time: NOW - 299_000 })).payload.event_time).toBe(NOW - 299_000);
  });

  it('refuses an event far in the future, e.g. event_time sent in seconds by mistake then multiplied', () => {
    expect(() => parse(sampleClick({ event_time: NOW + 3_600_000 }))).toThrow('event_time is 3600 s in the future');
    expect(parse(sampleClick({ event_time: NOW + 30_000 })).payload.event_time).toBe(NOW + 30_000);
  });

  it('lists every problem, not just the first', () => {
    try {
      parse(clickWithIncident({ incident_id: undefined, title: 7 }));
      throw new Error('expected a ValidationError');
    } catch (error) {
      expect((error as { problems: string[] }).problems).toEqual(['incident.incident_id: is required', 'incident.title: expected string, got number']);
    }
  });
});

describe('alerts', () => {
  const alert = { alert_id: 'a1', title: 42, created_at: '2024-01-01', alert_severity: ['Critical'], labels: 'host=db', alert_key: 'k', extra: { kept: true } };

  it('passes alerts through the receiver as they came: checking each field of hundreds is the worker\'s job', () => {
    expect(parse(clickWithIncident({ alerts: [alert] })).payload.incident.alerts).toEqual([alert]);
  });

  it('accepts an alert that is an array, as it always did (read as an object), and refuses only a scalar', () => {
    expect(parse(clickWithIncident({ alerts: [[]] })).payload.incident.alerts).toEqual([[]]);
    expect(() => parse(clickWithIncident({ alerts: ['down'] }))).toThrow('incident.alerts.0: expected an object');
  });

  it('leaves the nulls inside alerts to the worker, and drops only null items from their list', () => {
    const withNulls = { alert_id: 'a1', labels: null, title: 'disk full', extra: { gone: null } };
    const read = parse(clickWithIncident({ alerts: [null, withNulls, null], labels: null })).payload;
    expect(read.incident.alerts).toEqual([withNulls]);
    expect(read.incident).not.toHaveProperty('labels');
    expect(validatePayload(JSON.parse(JSON.stringify(read))).incident.alerts).toEqual([{ alert_id: 'a1', title: 'disk full', extra: {} }]);
  });

  it('keeps the digits of a numeric event_id anywhere in the push, in an alert too, and leaves one a number holds exactly as it was', () => {
    const body = JSON.stringify(clickWithIncident({ alerts: [{ alert_id: 'a1', event_id: 0 }] })).replace('"event_id":0', '"event_id":1234567890123456789');
    expect(parse(body).payload.incident.alerts?.[0]).toEqual({ alert_id: 'a1', event_id: '1234567890123456789' });
    const small = JSON.stringify(clickWithIncident({ alerts: [{ alert_id: 'a1', event_id: 7, labels: { event_id: 9 } }] }));
    expect(parse(small).payload.incident.alerts?.[0]).toEqual({ alert_id: 'a1', event_id: 7, labels: { event_id: 9 } });
  });

  it('reads a push nested too deep for the reviver, and refuses it only when its own numeric event_id would lose digits', () => {
    // 20,000 levels: a plain parse reads it, the reviver's recursive walk overflows the stack.
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const body = (id: string) => JSON.stringify(sampleClick({ incident: { ...sampleClick().incident, fields: { deep: 0 } } })).replace(/"event_id":"[^"]*"/, `"event_id":${id}`).replace('"deep":0', `"deep":${deep}`);
    expect(parse(body('4242')).eventId).toBe('4242');
    expect(() => parse(body('1999632289504123456'))).toThrow('event_id is a number too large to read exactly in a push nested this deep; send it as a string');
  });

  it('drops an alert field of the wrong type when the worker reads it, keeping the rest', () => {
    const [read] = validatePayload(clickWithIncident({ alerts: [alert] })).incident.alerts ?? [];
    expect(JSON.parse(JSON.stringify(read))).toEqual({ alert_id: 'a1', alert_key: 'k', extra: { kept: true } });
  });
});

describe('withoutNulls', () => {
  it('drops null keys and list items at any depth, copying only what held a null', () => {
    const clean = { a: 1, list: [{ b: 'x' }], deep: { c: [1, 2] } };
    const value = { keep: clean, gone: null, items: [null, { d: null, e: 2 }], nested: { f: { g: null } } };
    const before = JSON.stringify(value);
    expect(withoutNulls(value)).toEqual({ keep: clean, items: [{ e: 2 }], nested: { f: {} } });
    expect((withoutNulls(value) as { keep: unknown }).keep).toBe(clean); // nothing to drop: the same object
    expect(withoutNulls(clean)).toBe(clean);
    expect(JSON.stringify(value)).toBe(before); // the input is left as it was
  });

  it('keeps a "__proto__" key a key when it copies', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "gone": null}');
    const cleaned = withoutNulls(value) as Record<string, unknown>;
    expect(Object.keys(cleaned)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(cleaned)).toBe(Object.prototype);
  });
});
