import fc from 'fast-check';
import { asciiJson, encodeQueueMessage, MIN_MESSAGE_BYTES } from '../../lib/queue/compact';
import { decodeQueueMessage, type QueueMessage } from '../../lib/queue/envelope';
import { validatePayload } from '../../lib/flashduty/payload';
import { truncate } from '../../lib/text';
import { RawAlert } from '../../lib/flashduty/raw-alerts';
import { parseClick } from '../../lib/receiver/click';
import { clickWithAlerts, sampleClick } from '../fixtures/clicks';

const SQS_LIMIT = 256 * 1024;
const messageOf = (payload: unknown): QueueMessage => ({
  version: 1,
  action: 'restart-host',
  event_id: 'evt-1',
  received_at: Date.now(),
  payload: validatePayload(payload),
});
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('queue message compaction', () => {
  it('leaves a message that fits untouched', () => {
    const message = messageOf(sampleClick());
    expect(encodeQueueMessage(message, SQS_LIMIT)).toBe(JSON.stringify(message));
  });

  it('keeps as many alerts as fit, keeps alert_cnt, and says how many were dropped', () => {
    const message = messageOf(clickWithAlerts(800, 1000));
    const body = encodeQueueMessage(message, SQS_LIMIT);
    expect(bytes(body)).toBeLessThanOrEqual(SQS_LIMIT);
    const decoded = decodeQueueMessage(body);
    const kept = decoded.payload.incident.alerts?.length ?? 0;
    expect(kept).toBeGreaterThan(100);
    expect(kept).toBeLessThan(800);
    expect(decoded.compacted?.alerts_dropped).toBe(800 - kept);
    expect(decoded.payload.incident.alert_cnt).toBe(800);
    expect(decoded.payload.incident.alerts?.[0]).toEqual(message.payload.incident.alerts?.[0]);
    // No room for one more alert: the search found the maximum.
    const withOneMore = { ...decoded, payload: { ...decoded.payload, incident: { ...decoded.payload.incident, alerts: message.payload.incident.alerts?.slice(0, kept + 1) } } };
    expect(bytes(JSON.stringify(withOneMore))).toBeGreaterThan(SQS_LIMIT);
  });

  it('shortens a giant description rather than refusing the click', () => {
    const click = sampleClick();
    const message = messageOf({ ...click, incident: { ...click.incident, description: 'd'.repeat(2_000_000) } });
    const decoded = decodeQueueMessage(encodeQueueMessage(message, SQS_LIMIT));
    expect(decoded.payload.incident.description).toHaveLength(2048);
    expect(decoded.payload.incident.description?.endsWith('…')).toBe(true);
    expect(decoded.compacted?.strings_shortened).toBe(1);
  });

  it.each([0, 1, 4])('shortens a giant alert (at %i) rather than dropping it and every alert behind it', (at) => {
    const base = clickWithAlerts(6, 100);
    const alerts = base.incident.alerts.map((alert, i) => (i === at ? { ...alert, description: 'd'.repeat(300_000) } : alert));
    const message = messageOf({ ...base, incident: { ...base.incident, alerts } });
    const decoded = decodeQueueMessage(encodeQueueMessage(message, SQS_LIMIT));
    expect(decoded.compacted).toMatchObject({ alerts_dropped: 0, strings_shortened: 1 });
    expect(decoded.payload.incident.alerts?.map((a) => a.description?.length)).toEqual(alerts.map((a, i) => (i === at ? 2048 : a.description?.length)));
  });

  describe('with the alerts kept as the text they came in (a big push)', () => {
    const raw = (click: ReturnType<typeof clickWithAlerts>) => {
      const { payload } = parseClick(JSON.stringify(click), false, { now: Date.now(), maxEventAgeMs: 60_000 });
      expect(payload.incident.alerts?.every((alert) => alert instanceof RawAlert)).toBe(true);
      return { version: 1, action: 'echo', event_id: 'evt-1', received_at: 1, payload } as const;
    };

    it('shortens a giant alert there too', () => {
      const click = clickWithAlerts(900, 100);
      click.incident.alerts[1]!.description = 'd'.repeat(300_000);
      const decoded = decodeQueueMessage(encodeQueueMessage(raw(click), SQS_LIMIT));
      expect(decoded.compacted).toMatchObject({ strings_shortened: 1 });
      expect(decoded.payload.incident.alerts!.length).toBeGreaterThan(2);
    });

    it('does not parse them for step 1 when the first alert left out holds no long string, however big each alert is', () => {
      // About 3 KB each (a 1 KB description, 30 labels): over 2,048 bytes, with no string that long.
      const click = clickWithAlerts(900, 100);
      const labels = Object.fromEntries(Array.from({ length: 30 }, (_, k) => [`label_${k}`, 'v'.repeat(40)]));
      click.incident.alerts = click.incident.alerts.map((alert, i) => ({ ...alert, description: `${'x'.repeat(1000)}${i}`, labels }));
      const message = raw(click);
      const parsed = jest.spyOn(RawAlert.prototype, 'toJSON');
      try {
        const decoded = decodeQueueMessage(encodeQueueMessage(message, SQS_LIMIT));
        expect(decoded.compacted).toMatchObject({ strings_shortened: 0 });
        expect(parsed).not.toHaveBeenCalled();
      } finally {
        parsed.mockRestore();
      }
    });
  });

  it('drops unknown keys and caps labels when there are too many of them', () => {
    const click = sampleClick();
    const labels = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`label_${i}`, 'v'.repeat(30)]));
    const message = messageOf({ ...click, junk: 'j'.repeat(400_000), incident: { ...click.incident, labels } });
    const decoded = decodeQueueMessage(encodeQueueMessage(message, SQS_LIMIT));
    expect(Object.keys(decoded.payload.incident.labels ?? {})).toHaveLength(20);
    expect((decoded.payload as Record<string, unknown>).junk).toBeUndefined();
    expect(decoded.payload.incident.incident_id).toBe(click.incident.incident_id);
  });

  it('survives nesting deeper than JSON.stringify can walk', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20_000; i++) deep = { d: deep };
    const message = messageOf({ ...sampleClick(), deep });
    const body = encodeQueueMessage(message, SQS_LIMIT);
    expect(decodeQueueMessage(body).event_id).toBe('evt-1');
  });

  it('always yields valid JSON that fits the budget and passes the schema (property)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 3000 });
    const labels = fc.dictionary(fc.string({ maxLength: 300 }), text, { maxKeys: 60 });
    fc.assert(
      fc.property(
        fc.record({
          title: text,
          description: text,
          labels,
          extra: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 40 }),
          alertCount: fc.nat(400),
          alertText: text,
          person_name: text,
          budget: fc.integer({ min: MIN_MESSAGE_BYTES, max: SQS_LIMIT }),
        }),
        ({ title, description, labels, extra, alertCount, alertText, person_name, budget }) => {
          const base = clickWithAlerts(alertCount, 10);
          const payload = {
            ...base,
            ...extra,
            event_type: 'i_custom',
            event_time: base.event_time,
            person: { ...base.person, person_name },
            incident: {
              ...base.incident,
              title,
              description,
              labels,
              alerts: base.incident.alerts.map((a) => ({ ...a, title: alertText, labels })),
            },
          };
          const body = encodeQueueMessage(messageOf(payload), budget);
          expect(bytes(body)).toBeLessThanOrEqual(budget);
          expect(decodeQueueMessage(body).payload.incident.incident_id).toBe(base.incident.incident_id);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps the most alerts that fit, and writes exactly the JSON of the message with them (property)', () => {
    // The encoder lays the message out around its alerts instead of encoding each candidate whole;
    // the result must be what encoding the kept message directly gives, and one more alert must not fit.
    const text = fc.string({ unit: 'binary', maxLength: 400 });
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 1, maxLength: 300 }),
        // A title equal to the encoder's placeholder for the alert list must not confuse it.
        fc.oneof(text, fc.constant('\u0000flashduty-actions:alerts\u0000')),
        fc.integer({ min: 20_000, max: 120_000 }),
        (alertTexts, title, budget) => {
          const base = clickWithAlerts(alertTexts.length, 10);
          const message = messageOf({ ...base, incident: { ...base.incident, title, alerts: base.incident.alerts.map((a, i) => ({ ...a, description: alertTexts[i] })) } });
          const body = encodeQueueMessage(message, budget);
          const decoded = decodeQueueMessage(body);
          if (decoded.compacted && (decoded.compacted.strings_shortened > 0 || decoded.compacted.keys_dropped > 0)) return; // a later step: covered above
          const all = message.payload.incident.alerts!;
          const withAlerts = (keep: number) =>
            asciiJson({
              ...message,
              ...(decoded.compacted && { compacted: { ...decoded.compacted, alerts_dropped: all.length - keep } }),
              payload: { ...message.payload, incident: { ...message.payload.incident, alerts: all.slice(0, keep) } },
            });
          const kept = decoded.payload.incident.alerts?.length ?? 0;
          expect(body).toBe(withAlerts(kept));
          expect(bytes(body)).toBeLessThanOrEqual(budget);
          if (kept < all.length) expect(bytes(withAlerts(kept + 1))).toBeGreaterThan(budget);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps an alert that fits only because the count of dropped ones loses a digit', () => {
    // 10 alerts: with none kept, alerts_dropped is 10; with one kept it is 9, a byte shorter.
    const message = messageOf(clickWithAlerts(10, 2000));
    const all = message.payload.incident.alerts!;
    const withAlerts = (keep: number) => ({ ...message, payload: { ...message.payload, incident: { ...message.payload.incident, alerts: all.slice(0, keep) } } });
    const original = bytes(asciiJson(message));
    const exactlyOne = bytes(asciiJson({ ...withAlerts(1), compacted: { original_bytes: original, alerts_dropped: 9, strings_shortened: 0, keys_dropped: 0 } }));
    const decoded = decodeQueueMessage(encodeQueueMessage(message, exactlyOne));
    expect(decoded.payload.incident.alerts).toHaveLength(1);
    expect(decoded.compacted?.alerts_dropped).toBe(9);
  });

  it('keeps every alert that fits when the count of dropped ones loses several digits', () => {
    // 10,005 empty alerts and a description too long to keep (step 1 shortens it): with none kept
    // 10005 alerts are dropped, with 9,996 kept only 9, four bytes shorter, which is room for more
    // than one more 3-byte alert. At each budget below, exactly `keep` alerts fit.
    const base = sampleClick();
    const description = 'd'.repeat(300_000);
    const message = messageOf({ ...base, incident: { ...base.incident, description, alerts: Array.from({ length: 10_005 }, () => ({})) } });
    const all = message.payload.incident.alerts!;
    const original = bytes(asciiJson(message));
    const shortened = { ...message.payload.incident, description: truncate(description, 2048) };
    const sizeWith = (keep: number) =>
      bytes(asciiJson({ ...message, compacted: { original_bytes: original, alerts_dropped: all.length - keep, strings_shortened: 1, keys_dropped: 0 }, payload: { ...message.payload, incident: { ...shortened, alerts: all.slice(0, keep) } } }));
    for (let keep = all.length - 12; keep < all.length; keep++) {
      const decoded = decodeQueueMessage(encodeQueueMessage(message, sizeWith(keep)));
      expect(decoded.compacted?.strings_shortened).toBe(1);
      expect(decoded.payload.incident.alerts).toHaveLength(keep);
    }
  });

  it('writes the body in printable ASCII, which SQS accepts whatever the strings hold, and decoding restores them', () => {
    const strange = '🚨 告警 \uFFFE\uFFFF \uD800 lone \uDFFF é\u0000\u007F';
    const click = sampleClick({ person: { person_id: 1, person_name: '张三 👩‍💻', email: 'z@example.com' } });
    const message = messageOf({ ...click, incident: { ...click.incident, title: strange, labels: { 服务: '🔥' } } });
    const body = encodeQueueMessage(message, SQS_LIMIT);
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    const decoded = decodeQueueMessage(body);
    expect(decoded.payload.incident.title).toBe(strange);
    expect(decoded.payload.person?.person_name).toBe('张三 👩‍💻');
    expect(decoded.payload.incident.labels).toEqual({ 服务: '🔥' });
  });

  it('keeps any UTF-16 string intact through the queue body (property)', () => {
    const unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), (title, name) => {
        const click = sampleClick({ person: { person_name: name } });
        const body = encodeQueueMessage(messageOf({ ...click, incident: { ...click.incident, title } }), SQS_LIMIT);
        expect(body).toMatch(/^[\x20-\x7e]*$/);
        const decoded = decodeQueueMessage(body);
        expect([decoded.payload.incident.title, decoded.payload.person?.person_name]).toEqual([title, name]);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['control characters', '\u0001'], // 6 bytes each once escaped
    ['emoji', '😀'], // 12 bytes each once escaped
  ])('fits the smallest allowed budget even when every kept string is %s', (_name, unit) => {
    const costly = unit.repeat(5000);
    const click = sampleClick();
    const labels = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${i}${costly}`, costly]));
    const person = { person_id: 1, person_name: costly, email: costly };
    const message = messageOf({
      ...click,
      person,
      incident: { ...click.incident, title: costly, detail_url: costly, labels, creator: person, description: costly },
    });
    const body = encodeQueueMessage({ ...message, event_id: 'e'.repeat(256) }, MIN_MESSAGE_BYTES);
    expect(bytes(body)).toBeLessThanOrEqual(MIN_MESSAGE_BYTES);
    expect(Array.from(decodeQueueMessage(body).payload.incident.title ?? '').length).toBeLessThanOrEqual(512);
  });
});
