import fc from 'fast-check';
import { parseWithRawAlerts, RawAlert } from '../../lib/flashduty/raw-alerts';
import { encodeQueueMessage } from '../../lib/queue/compact';
import { decodeQueueMessage } from '../../lib/queue/envelope';
import { parseClick } from '../../lib/receiver/click';
import { validatePush } from '../../lib/flashduty/payload';
import type { OutgoingMessage } from '../../lib/queue/envelope';
import { clickWithAlerts } from '../fixtures/clicks';

type Push = { incident: { alerts?: unknown[] } & Record<string, unknown> } & Record<string, unknown>;

/** What JSON.parse makes of the body, with the alert list's null items dropped (as the receiver drops them). */
function expected(raw: string): unknown {
  const value = JSON.parse(raw) as Push;
  const alerts = value.incident.alerts?.filter((alert) => alert !== null);
  return { ...value, incident: { ...value.incident, alerts } };
}

/** The split value with its alerts read back from their text. */
function readBack(value: unknown): unknown {
  const push = value as Push;
  const alerts = push.incident.alerts?.map((alert) => (alert instanceof RawAlert ? JSON.parse(alert.text) : alert));
  return { ...push, incident: { ...push.incident, alerts } };
}

const split = (raw: string) => parseWithRawAlerts(raw);
const rawAlertsOf = (value: unknown) => (value as Push).incident.alerts as RawAlert[];

/** JSON values as FlashDuty's alerts hold them, within the depth the splitter reads (and sometimes past it). */
const text = fc.string({ unit: 'binary', maxLength: 40 });
const scalar = fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null));
const nested = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('value'), { maxLength: 4 }),
  map: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
})).value;
const alert = fc.dictionary(text, nested, { maxKeys: 8 });
const alerts = fc.array(fc.oneof({ weight: 9, arbitrary: alert }, { weight: 1, arbitrary: fc.constant(null) }), { maxLength: 30 });

describe('a big push with its alerts left as text', () => {
  it('reads the same push as JSON.parse, whatever the alerts hold (property)', () => {
    let taken = 0;
    fc.assert(
      fc.property(alerts, fc.dictionary(text, nested, { maxKeys: 5 }), fc.constantFrom(undefined, 2, '\t'), (list, extra, indent) => {
        const click = clickWithAlerts(1);
        const raw = JSON.stringify({ ...extra, ...click, incident: { ...click.incident, alerts: list } }, null, indent);
        const value = split(raw);
        if (value === undefined) return; // read the usual way
        taken++;
        expect(readBack(value)).toEqual(expected(raw));
        for (const item of rawAlertsOf(value)) expect(item.text).toMatch(/^[\x20-\x7e]*$/);
      }),
      // About one run in eight takes the fast way (a third are indented, many alerts go too deep):
      // at 400 runs the count once fell to 37 in a full `npm test`; at 800 six runs gave 99-118.
      { numRuns: 800 },
    );
    expect(taken).toBeGreaterThan(40); // the fast way was tested, not only the fallback
  });

  it('takes the fast way for compact alerts up to three levels deep, and reads deeper or spaced ones the usual way', () => {
    const click = clickWithAlerts(3);
    const deep = { labels: { a: { b: 'c' } }, list: [[1], { x: true }] };
    const raw = (alertList: unknown[], indent?: number) => JSON.stringify({ ...click, incident: { ...click.incident, alerts: alertList } }, null, indent);
    expect(rawAlertsOf(split(raw([...click.incident.alerts, deep])))).toHaveLength(4);
    expect(split(raw([{ a: { b: { c: { d: 1 } } } }]))).toBeUndefined();
    expect(split(raw([{ list: [{ x: [true] }] }]))).toBeUndefined();
    expect(split(raw(click.incident.alerts, 2))).toBeUndefined();
    expect(rawAlertsOf(split(raw([])))).toEqual([]);
  });

  it('never accepts a body JSON.parse refuses (property: the sample cut or changed at random)', () => {
    const click = clickWithAlerts(4, 40);
    const good = JSON.stringify({ ...click, incident: { ...click.incident, alerts: [...click.incident.alerts, { n: -1.5e3, t: true, s: 'a\\"b\u00e9' }] } });
    const start = good.indexOf('"alerts":[');
    let refused = 0;
    fc.assert(
      fc.property(fc.integer({ min: start, max: good.length - 1 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom('', '"', '\\', '{', '}', '[', ']', ',', ':', '01', '1.', '+1', 'tru', '\u0001', 'x', ' '), (at, cut, insert) => {
        const raw = good.slice(0, at) + insert + good.slice(at + cut);
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          expect(split(raw)).toBeUndefined();
          refused++;
          return;
        }
        const value = split(raw);
        if (value !== undefined && Array.isArray((parsed as Push).incident?.alerts)) expect(readBack(value)).toEqual(expected(raw));
      }),
      { numRuns: 1000 },
    );
    expect(refused).toBeGreaterThan(300);
  });

  it('finds the list JSON.parse keeps: a repeated key, an "alerts" elsewhere first, or one in a string is never taken for it', () => {
    const click = clickWithAlerts(2, 20);
    const { alerts: list, ...incident } = click.incident;
    const body = (incidentJson: string) => `{"event_time":${click.event_time},"event_type":"i_custom","incident":${incidentJson}}`;
    const inner = JSON.stringify(incident).slice(1, -1);
    const cases = [
      body(`{${inner},"alerts":${JSON.stringify(list)},"alerts":[{"late":1}]}`),
      body(`{"fields":{"alerts":[{"early":1}]},${inner},"alerts":${JSON.stringify(list)}}`),
      body(`{"title2":"\\"alerts\\":[{\\"x\\":1}]",${inner},"alerts":${JSON.stringify(list)}}`),
      `{"incident":{${inner},"alerts":[{"first":1}]},"incident":{${inner},"alerts":${JSON.stringify(list)}},"event_time":${click.event_time},"event_type":"i_custom"}`,
      body(`{${inner},"alerts":${JSON.stringify(list)},"alerts":"\\u0000flashduty-actions:raw-alerts\\u0000"}`),
    ];
    for (const raw of cases) {
      const value = split(raw);
      if (value !== undefined) expect(readBack(value)).toEqual(expected(raw));
    }
    // The plain case does take the fast way.
    expect(split(body(`{${inner},"alerts":${JSON.stringify(list)}}`))).toBeDefined();
  });

  it('escapes text outside ASCII, and decoding restores it', () => {
    const click = clickWithAlerts(1);
    const strange = '🚨 告警 \uFFFE\uFFFF é\u007F\u2028';
    const raw = JSON.stringify({ ...click, incident: { ...click.incident, title: strange, alerts: [{ title: strange, labels: { 服务: '🔥' } }] } });
    const value = split(raw);
    expect(rawAlertsOf(value)[0]!.text).toMatch(/^[\x20-\x7e]*$/);
    expect(readBack(value)).toEqual(expected(raw));
  });

  it('writes the same queue message as encoding the parsed alerts, at any budget and through every compaction step (property)', () => {
    // Without "\u0000", which sends a push the usual way (see parseWithRawAlerts).
    const text400 = fc.string({ unit: 'binary', maxLength: 400 }).filter((s) => !s.includes('\u0000'));
    fc.assert(
      fc.property(fc.array(text400, { minLength: 1, maxLength: 200 }), text400, fc.integer({ min: 4_000, max: 40_000 }), fc.integer({ min: 20_000, max: 120_000 }), (descriptions, title, descriptionBytes, budget) => {
        const click = clickWithAlerts(descriptions.length, 10);
        const push = { ...click, incident: { ...click.incident, title, description: 'd'.repeat(descriptionBytes), alerts: click.incident.alerts.map((a, i) => ({ ...a, description: descriptions[i] })) } };
        const raw = JSON.stringify(push);
        const message = (payload: unknown): OutgoingMessage => ({ version: 1, action: 'echo', event_id: 'evt-1', received_at: 1, payload: validatePush(payload) });
        const fast = split(raw);
        expect(fast).toBeDefined();
        expect(encodeQueueMessage(message(fast), budget)).toBe(encodeQueueMessage(message(JSON.parse(raw)), budget));
      }),
      { numRuns: 150 },
    );
  });

  it('writes printable ASCII within the budget and the alerts as sent, however the push spaces, nulls or escapes them (property)', () => {
    const click = clickWithAlerts(1);
    const goEscaped = (json: string) => json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
    fc.assert(
      fc.property(
        fc.array(fc.record({ description: fc.string({ maxLength: 300 }), n: fc.oneof(fc.integer(), fc.constantFrom(-0, 1e99, 2.5e-7)) }), { minLength: 1, maxLength: 150 }),
        fc.array(fc.constantFrom(',', ', ', ',\n  ', ',null,', ', null ,\t'), { minLength: 150, maxLength: 150 }),
        fc.boolean(),
        fc.integer({ min: 8_000, max: 60_000 }),
        (list, separators, goStyle, budget) => {
          const items = list.map((alert) => (goStyle ? goEscaped : (json: string) => json)(JSON.stringify(alert)));
          const alertsJson = `[${items.map((item, i) => (i === 0 ? item : separators[i]! + item)).join('')}]`;
          const { alerts: _, ...incident } = click.incident;
          const raw = `{"event_time":${click.event_time},"event_type":"i_custom","incident":${JSON.stringify(incident).slice(0, -1)},"alerts":${alertsJson}}}`;
          const value = split(raw);
          expect(value).toBeDefined();
          const body = encodeQueueMessage({ version: 1, action: 'echo', event_id: 'evt-1', received_at: 1, payload: validatePush(value) }, budget);
          expect(body).toMatch(/^[\x20-\x7e]*$/);
          expect(body.length).toBeLessThanOrEqual(budget);
          const kept = decodeQueueMessage(body).payload.incident.alerts ?? [];
          expect(kept).toEqual(list.slice(0, kept.length).map((alert) => ({ ...alert, n: alert.n === 0 ? 0 : alert.n })));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('leaves a push mostly in Chinese to the usual way, where escaping costs what the fast way saves', () => {
    const click = clickWithAlerts(20, 40);
    const withDescription = (description: string) => JSON.stringify({ ...click, incident: { ...click.incident, alerts: click.incident.alerts.map((a) => ({ ...a, description })) } });
    expect(split(withDescription(`磁盘告警 ${'x'.repeat(200)}`))).toBeDefined();
    expect(split(withDescription('磁盘空间不足告警'.repeat(40)))).toBeUndefined();
  });

  it('leaves a number that would overflow to the usual way, which writes it as null', () => {
    const click = clickWithAlerts(2, 20);
    const withNumber = (number: string) => JSON.stringify(click).replace('"alert_id":', `"huge":${number},"alert_id":`);
    expect(split(withNumber('1e400'))).toBeUndefined();
    expect(split(withNumber(`1${'0'.repeat(400)}`))).toBeUndefined();
    expect(rawAlertsOf(split(withNumber('1e99')))[0]!.text).toContain('"huge":1e99');
  });

  it('is how the receiver reads a push of 64 K characters or more; the queue message decodes to the alerts sent', () => {
    const click = clickWithAlerts(120, 600);
    const raw = JSON.stringify(click);
    expect(raw.length).toBeGreaterThan(64 * 1024);
    const { payload } = parseClick(raw, false, { now: Date.now(), maxEventAgeMs: 60_000 });
    expect(payload.incident.alerts?.every((item) => item instanceof RawAlert)).toBe(true);
    const body = encodeQueueMessage({ version: 1, action: 'echo', event_id: 'evt-1', received_at: 1, payload }, 256 * 1024);
    expect(decodeQueueMessage(body).payload.incident.alerts).toEqual(click.incident.alerts);
  });
});
