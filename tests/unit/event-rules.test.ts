import fc from 'fast-check';
import * as v from 'valibot';
import { describeIssues } from '../../lib/schema/parse';
import { validatePayload } from '../../lib/flashduty/payload';
import type { QueueMessage } from '../../lib/queue/envelope';
import { checkRules, matchingRules, ownWrite, type Rule, Rules } from '../../lib/triggers/rules';
import { commentMarker } from '../../lib/actions/comment';
import { SAMPLE_CHANNEL, sampleEvent } from '../fixtures/events';

const rules = (value: unknown): Rule[] => v.parse(Rules, value);
const payload = (overrides: Parameters<typeof sampleEvent>[0] = {}) => validatePayload(sampleEvent(overrides));
const names = (matched: Rule[]) => matched.map((rule) => rule.name);

describe('event rules: matching', () => {
  it('runs a rule with no conditions on every event of the types it lists, and no other', () => {
    const all = rules([{ name: 'enrich-new', on: ['i_new'], run: 'enrich' }]);
    expect(names(matchingRules(all, payload()))).toEqual(['enrich-new']);
    expect(names(matchingRules(all, payload({ event_type: 'i_ack' })))).toEqual([]);
  });

  it.each([
    ['severity (any case)', { severity: ['critical'] }, { incident: { incident_severity: 'Warning' } }],
    ['channel_ids', { channel_ids: [SAMPLE_CHANNEL] }, { incident: { channel_id: 42 } }],
    ['a label with one value', { labels: { check: 'cpu idle low' } }, { incident: { labels: { check: 'disk full' } } }],
    ['a label with a list of values', { labels: { check: ['disk full', 'cpu idle low'] } }, { incident: { labels: {} } }],
    ['a custom field', { fields: { customer_facing: true } }, { incident: { fields: { customer_facing: false } } }],
    ['a multi-select field, by any of its values', { fields: { services: ['checkout'] } }, { incident: { fields: { services: ['search'] } } }],
  ])('holds on %s, and fails when it does not hold', (_name, when, failing) => {
    const rule = rules([{ name: 'r', on: ['i_new'], when, run: 'enrich' }]);
    const holding = payload({ incident: { fields: { customer_facing: true, services: ['search', 'checkout'] } } });
    expect(names(matchingRules(rule, holding))).toEqual(['r']);
    expect(names(matchingRules(rule, payload(failing)))).toEqual([]);
  });

  it('needs every condition to hold', () => {
    const rule = rules([{ name: 'critical-in-channel', on: ['i_new'], when: { severity: ['Critical'], channel_ids: [SAMPLE_CHANNEL] }, run: 'status-page' }]);
    expect(names(matchingRules(rule, payload()))).toEqual(['critical-in-channel']);
    expect(names(matchingRules(rule, payload({ incident: { channel_id: 7 } })))).toEqual([]);
    expect(names(matchingRules(rule, payload({ incident: { incident_severity: 'Info' } })))).toEqual([]);
  });

  it('starts every rule an event matches, in configuration order, and none when none matches', () => {
    const all = rules([
      { name: 'status-page-open', on: ['i_new'], when: { severity: ['Critical'] }, run: 'status-page' },
      { name: 'status-page-resolve', on: ['i_rslv'], run: 'status-page' },
      { name: 'enrich-new', on: ['i_new', 'i_reopen'], run: 'enrich' },
    ]);
    expect(names(matchingRules(all, payload()))).toEqual(['status-page-open', 'enrich-new']);
    expect(names(matchingRules(all, payload({ event_type: 'i_rslv' })))).toEqual(['status-page-resolve']);
    expect(names(matchingRules(all, payload({ event_type: 'i_snooze' })))).toEqual([]);
    expect(names(matchingRules(all, payload({ event_type: 'i_someday_new_type' })))).toEqual([]);
  });

  it('never throws on hostile events: whatever the labels and fields, matching is true or false', () => {
    const all = rules([{ name: 'r', on: ['i_new'], when: { labels: { a: ['x'] }, fields: { f: [1, 'x', true] }, severity: ['Info'], channel_ids: [0] }, run: 'enrich' }]);
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue(), (labels, fields, severity) => {
        const event = sampleEvent({ incident: { labels, fields, incident_severity: severity } });
        let parsed: ReturnType<typeof validatePayload>;
        try {
          parsed = validatePayload(event);
        } catch {
          return; // refused by the payload schema (a 400), never reaches the rules
        }
        expect(Array.isArray(matchingRules(all, parsed))).toBe(true);
      }),
    );
  });
});

describe('event rules: configuration', () => {
  it.each([
    [[{ name: 'r', on: ['i_resolved'], run: 'enrich' }], '0.on.0: expected one of'],
    [[{ name: 'r', on: [], run: 'enrich' }], '0.on: must list at least one event type'],
    [[{ name: 'r', on: ['i_new'], when: { severity: ['Critcal'] }, run: 'enrich' }], 'expected one of Critical, Warning, Info'],
    [[{ name: 'r', on: ['i_new'], when: { chanel_ids: [1] }, run: 'enrich' }], '0.when.chanel_ids: is not a known key'],
    [[{ name: 'has space', on: ['i_new'], run: 'enrich' }], '0.name: expected 1-64 letters'],
    [[{ name: 'r', on: ['i_new'], when: { labels: { a: [] } }, run: 'enrich' }], 'must list at least one value'],
  ])('refuses %j, saying where', (value, message) => {
    const result = v.safeParse(Rules, value);
    expect(result.success).toBe(false);
    expect(describeIssues(result.issues!).join('; ')).toContain(message);
  });

  it('refuses a rule running an action that is not enabled, and duplicate names', () => {
    expect(() => checkRules(rules([{ name: 'r', on: ['i_new'], run: 'rollback' }]), ['enrich'], [])).toThrow(
      'EVENT_RULES: rule "r" runs "rollback", which is not an enabled action (ENABLED_ACTIONS: enrich)',
    );
    const twice = rules([
      { name: 'r', on: ['i_new'], run: 'enrich' },
      { name: 'r', on: ['i_ack'], run: 'enrich' },
    ]);
    expect(() => checkRules(twice, ['enrich'], [])).toThrow('two rules are named "r"');
  });

  it('refuses a rule on i_comm or i_r_field until it can tell our own writes from people\'s', () => {
    const risky = rules([{ name: 'on-field', on: ['i_r_field'], when: { fields: { customer_facing: true } }, run: 'status-page' }]);
    expect(() => checkRules(risky, ['status-page'], [])).toThrow('set EVENT_SELF_PERSON_IDS');
    expect(() => checkRules(risky, ['status-page'], [1552048792504])).not.toThrow();
  });
});

describe('event rules: our own writes never start a rule', () => {
  const SELF = 1552048792504;
  const message = (action: string): QueueMessage => ({ version: 1, action, event_id: 'evt-1:r', received_at: 0, payload: payload() });

  it('ignores i_comm and i_r_field caused by the app key\'s owner, or by nobody we can name', () => {
    for (const type of ['i_comm', 'i_r_field']) {
      const ours = payload({ event_type: type, person: { person_id: SELF, person_name: 'bot' } });
      expect(ownWrite(ours, JSON.stringify(ours), [SELF])).toContain('our own write');
      const nobody = payload({ event_type: type, person: null });
      expect(ownWrite(nobody, JSON.stringify(nobody), [SELF])).toContain('may be our own write');
      const someone = payload({ event_type: type, person: { person_id: 42, person_name: 'human' } });
      expect(ownWrite(someone, JSON.stringify(someone), [SELF])).toBeUndefined();
    }
  });

  it('ignores an i_comm whose body carries any of our comment markers, whoever sent it', () => {
    const markers = [commentMarker(message('enrich'), 'result'), commentMarker(message('restart-host'), 'final-failure'), commentMarker(message('echo'), 'unreadable')];
    for (const marker of markers) {
      const event = sampleEvent({ event_type: 'i_comm', person: { person_id: 42 }, comment: `done\n${marker}` });
      expect(ownWrite(validatePayload(event), JSON.stringify(event), [SELF])).toBe('the event carries our comment marker');
    }
  });

  it('never suspects other event types, even when the app key\'s owner caused them', () => {
    const resolved = payload({ event_type: 'i_rslv', person: { person_id: SELF } });
    expect(ownWrite(resolved, JSON.stringify(resolved), [SELF])).toBeUndefined();
  });
});
