import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { enrich } from '../../lib/actions/enrich';
import type { Answer } from '../../lib/actions/enrich/ask';
import { report } from '../../lib/actions/enrich/report';
import { shapeField, TEXT_FIELD_MAX_CHARS } from '../../lib/actions/enrich/values';
import { secretParameters } from '../../lib/schema/secret';
import { actionConfig } from '../../lib/config/worker';
import { ConfigError } from '../../lib/errors';
import { validatePayload } from '../../lib/flashduty/payload';
import type { QueueMessage } from '../../lib/queue/envelope';
import { formatComment } from '../../lib/actions/comment';
import type { Outcome } from '../../lib/actions/types';
import { guardrailConfig } from '../../lib/config/guardrails';
import { makeGuardrails, type RunBudget } from '../../lib/worker/guardrails';
import { sampleClick } from '../fixtures/clicks';

const ROOT = join(__dirname, '..', '..');
const configOf = (sources: unknown) => actionConfig(enrich, { ENRICH_SOURCES: JSON.stringify(sources) });
const problemOf = (sources: unknown) => {
  try {
    configOf(sources);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
};
const URL_ = 'https://tempo.internal/api/search?q={{ labels.service }}';

describe('enrich sources config', () => {
  it('reads the example sources the local stack and README use', () => {
    const { ENRICH_SOURCES } = actionConfig(enrich, { ENRICH_SOURCES_FILE: 'deploy/enrich-sources.local.yaml' }, ROOT);
    expect(ENRICH_SOURCES.map((s) => [s.name, s.method, s.timeout_ms, s.read_only])).toEqual([
      ['traces', 'GET', 3000, true],
      ['logs', 'GET', 3000, true],
      ['cmdb', 'GET', 2000, true],
    ]);
    expect(ENRICH_SOURCES[2]!.fields.impacted_services!.type).toBe('multi_select');
    expect(ENRICH_SOURCES[2]!.fields.owner_team!.type).toBe('text');
  });

  it('is the example the README shows, in full', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`yaml\n${readFileSync(join(ROOT, 'deploy', 'enrich-sources.local.yaml'), 'utf8')}\`\`\``);
  });

  it('names the SSM parameters of secret headers, so the package step grants exactly those', () => {
    const config = configOf([
      { name: 'a', url: URL_, headers: { authorization: { secret_param: '/flashduty-actions/prod/tempo-token', prefix: 'Bearer ' }, 'x-team': 'sre' } },
      { name: 'b', url: URL_, headers: { authorization: { secret_value: 'local', prefix: 'Bearer ' } } },
    ]);
    expect(secretParameters(config)).toEqual(['/flashduty-actions/prod/tempo-token']);
  });

  it('defaults a source to GET, 3000 ms, read-only, text fields; a POST is not read-only unless marked', () => {
    const [get, post] = configOf([
      { name: 'a', url: URL_, fields: { f: 'x' } },
      { name: 'b', url: URL_, method: 'POST', body: { q: '{{ labels.service }}' } },
    ]).ENRICH_SOURCES;
    expect([get!.method, get!.timeout_ms, get!.read_only, get!.fields.f!.type]).toEqual(['GET', 3000, true, 'text']);
    expect(post!.read_only).toBe(false);
  });

  it.each([
    ['no source', [], 'list at least one source'],
    ['a JMESPath syntax error', [{ name: 'a', url: URL_, show: { x: 'traces[' } }], 'JMESPath "traces["'],
    ['an unknown JMESPath function', [{ name: 'a', url: URL_, fields: { f: 'nope(x)' } }], 'JMESPath "nope(x)"'],
    ['a field name FlashDuty would refuse', [{ name: 'a', url: URL_, fields: { 'bad-name': 'x' } }], 'a FlashDuty field name'],
    ['an unknown field type', [{ name: 'a', url: URL_, fields: { f: { path: 'x', type: 'date' } } }], 'expected one of'],
    ['a label in the host', [{ name: 'a', url: 'https://{{ labels.host }}/x' }], 'fixed host'],
    ['a GET with a body', [{ name: 'a', url: URL_, body: { q: 1 } }], 'a GET source cannot have a body'],
    ['a secret given two ways', [{ name: 'a', url: URL_, headers: { authorization: { secret_param: '/x', secret_value: 'y' } } }], 'set exactly one of secret_param'],
    ['a timeout under 100 ms', [{ name: 'a', url: URL_, timeout_ms: 10 }], 'timeout_ms'],
    ['two sources with one name', [{ name: 'a', url: URL_ }, { name: 'a', url: URL_ }], 'two sources are named "a"'],
    ['one field written by two sources', [{ name: 'a', url: URL_, fields: { f: 'x' } }, { name: 'b', url: URL_, fields: { f: 'y' } }], 'field "f" is written by both "a" and "b"'],
    ['an unknown key', [{ name: 'a', url: URL_, colour: 'red' }], 'colour: is not a known key'],
  ])('refuses %s at cold start, naming the problem', (_what, sources, expected) => {
    const message = problemOf(sources);
    expect(message).toContain('ENRICH_SOURCES');
    expect(message).toContain(expected);
  });

  it('requires ENRICH_SOURCES (or its file) once enrich is enabled', () => {
    expect(() => actionConfig(enrich, {})).toThrow('set ENRICH_SOURCES (JSON) or ENRICH_SOURCES_FILE');
  });

  it('accepts a JMESPath that only fails on some answers (a type error is not a syntax error)', () => {
    expect(() => configOf([{ name: 'a', url: URL_, show: { n: 'length(traces)' } }])).not.toThrow();
  });
});

describe('shaping a value for a custom field', () => {
  it.each([
    ['text', 'abc', 'abc'],
    ['text', 42, '42'],
    ['text', ['a', 'b'], 'a, b'],
    ['text', { a: 1 }, '{"a":1}'],
    ['single_select', 'P1', 'P1'],
    ['single_select', ['P1'], 'P1'],
    ['single_select', 3, '3'],
    ['multi_select', 'order', ['order']],
    ['multi_select', ['order', 'order', null, 'passport'], ['order', 'passport']],
    ['checkbox', true, true],
    ['checkbox', 'Yes', true],
    ['checkbox', 0, false],
    ['checkbox', 'false', false],
  ] as const)('%s takes %j as %j', (type, value, expected) => {
    expect(shapeField(type, value)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['single_select', ['a', 'b'], 'a single-select field takes one value, got a list of 2'],
    ['single_select', 'x'.repeat(201), 'longer than an option can be'],
    ['multi_select', [{ a: 1 }], 'a multi-select field takes a list of strings'],
    ['checkbox', 'maybe', 'a checkbox field takes true or false, got "maybe"'],
    ['checkbox', 2, 'a checkbox field takes true or false, got 2'],
  ] as const)('refuses to make a %s of %j', (type, value, problem) => {
    const shaped = shapeField(type, value);
    expect(shaped.ok).toBe(false);
    expect(!shaped.ok && shaped.problem).toContain(problem);
  });

  it('cuts text to the field limit of 3,000 characters without splitting a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 4000 }), fc.nat(3), (text, copies) => {
        const shaped = shapeField('text', text.repeat(copies + 1));
        expect(shaped.ok).toBe(true);
        const value = (shaped as { value: string }).value;
        expect(Array.from(value).length).toBeLessThanOrEqual(TEXT_FIELD_MAX_CHARS);
        expect(value).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      }),
      { numRuns: 50 },
    );
  });
});

describe('the enrich comment', () => {
  const message: QueueMessage = { version: 1, action: 'enrich', event_id: 'evt-0123456789abcdef', received_at: 0, payload: validatePayload(sampleClick()) };
  const [source] = configOf([{ name: 'x', url: URL_ }]).ENRICH_SOURCES;

  function answer(i: number, state: Answer['state']): Answer {
    return {
      source: { ...source!, name: `source-${i}` },
      state,
      request: `GET https://source-${i}.internal/api/search?q=engine&window=${'w'.repeat(40)}`,
      problem: state === 'failed' ? `answered HTTP 500: {"error":"shard ${i} failed"}` : undefined,
      shows: state === 'answered' ? [['first', `value ${i} `.repeat(8)], ['second', 'more'.repeat(20)], ['third', 'x'.repeat(150)]] : [],
      fields: [],
      link: `https://grafana.internal/explore?source=${i}&q=${'q'.repeat(60)}`,
    };
  }

  it.each([false, true])('fits 1,024 characters with many sources, keeping every failure and each first line (dry-run %s)', (dryRun) => {
    const answers = Array.from({ length: 12 }, (_, i) => answer(i, i % 4 === 0 ? 'failed' : 'answered'));
    const written = [{ name: 'trace_id', value: 'abc' }];
    const { outcome, dropped } = report(message, { answers, dryRun, written, notWritten: [], notes: [] });
    const comment = formatComment(message, outcome);
    expect(Array.from(comment).length).toBeLessThanOrEqual(1024);
    expect(dropped).toBeGreaterThan(0);
    expect(comment).toContain(`• …: ${dropped} more lines in the worker log`);
    for (const i of [0, 4, 8]) expect(comment).toContain(`• source-${i}: FAILED: answered HTTP 500: {"error":"shard ${i} failed"}`);
    // Lines are left out whole, never cut by the comment formatter: every kept line is one we made.
    const made = new Set([...(outcome.facts ?? []).map(([l, v]) => `• ${l}: ${v}`), ...(outcome.links ?? []).map((l) => `• ${l.label}: ${l.url}`)]);
    for (const line of comment.split('\n').slice(2, -1)) expect(made.has(line)).toBe(true);
    if (!dryRun) expect(comment).toContain('• source-1 first: value 1');
  });

  const RULE = `on-new-${'r'.repeat(57)}`; // 64 characters, the longest a rule name may be
  const variants: Array<[string, QueueMessage]> = [
    ['a click', message],
    ['a click whose event id the marker hashes', { ...message, event_id: 'evt 0123456789abcdef' }],
    ['a run a rule started', { ...message, event_id: `evt-0123456789abcdef:${RULE}`, trigger: { rule: RULE, event_type: 'i_new', event_id: 'evt-0123456789abcdef' } }],
    ['a compacted click', { ...message, compacted: { original_bytes: 300_000, alerts_dropped: 120, strings_shortened: 0, keys_dropped: 0 } }],
  ];

  // Notes grow a character at a time, across the point where every line fits and on into leaving lines out.
  const notesOf = (pad: number) => [0, 1, 2].map((k): [string, string] => [`note ${k}`, 'n'.repeat(Math.min(300, Math.max(0, pad - 300 * k)))]);
  const answerSets = [[answer(2, 'failed'), answer(3, 'failed')], [answer(1, 'answered'), answer(2, 'failed'), answer(3, 'failed')]];
  const linesOf = (outcome: Outcome) => [outcome.summary, ...(outcome.facts ?? []).map(([l, v]) => `• ${l}: ${v}`), ...(outcome.links ?? []).map((l) => `• ${l.label}: ${l.url}`)];

  it.each(variants)('near the limit, never has a line cut that it counted as kept, within 1,024 characters (%s)', (_, click) => {
    for (const [dryRun, answers] of [false, true].flatMap((d) => answerSets.map((set) => [d, set] as const))) {
      for (let pad = 0; pad <= 900; pad++) {
        const { outcome } = report(click, { answers, dryRun, written: [{ name: 'trace_id', value: 'abc' }], notWritten: [], notes: notesOf(pad) });
        const comment = formatComment(click, outcome);
        expect(Array.from(comment).length).toBeLessThanOrEqual(1024);
        // Between the head line and the marker line: the summary and every kept line, none cut.
        expect(comment.split('\n').slice(1, click.compacted ? -2 : -1)).toEqual(linesOf(outcome));
        for (const i of [2, 3]) expect(comment).toContain(`• source-${i}: FAILED: answered HTTP 500: {"error":"shard ${i} failed"}`);
      }
    }
  });

  it.each(variants)('in dry-run near the limit, leaves room for the run budget line the worker adds, so no kept line is cut (%s)', async (_, click) => {
    // The longest budget line: the most runs an hour may allow, all used up.
    const budget: RunBudget = { take: async () => ({ taken: true }), giveBack: async () => undefined, look: async () => ({ used: 1000, freesAt: Date.UTC(2026, 10, 30, 3, 12, 5) }) };
    const budgetFacts = await makeGuardrails('enrich', guardrailConfig('enrich', { ENRICH_MAX_RUNS_PER_HOUR: '1000' }), budget).dryRunFacts();
    expect(budgetFacts).toHaveLength(1);
    for (const answers of answerSets) {
      for (let pad = 0; pad <= 900; pad++) {
        const { outcome } = report(click, { answers, dryRun: true, written: [{ name: 'trace_id', value: 'abc' }], notWritten: [], notes: notesOf(pad) });
        // As the worker writes back a dry run: the action's facts, then where the run budget stands.
        const written = { ...outcome, facts: [...(outcome.facts ?? []), ...budgetFacts] };
        const comment = formatComment(click, written);
        expect(Array.from(comment).length).toBeLessThanOrEqual(1024);
        expect(comment.split('\n').slice(1, click.compacted ? -2 : -1)).toEqual(linesOf(written));
      }
    }
  });

  it('keeps every line when they fit, and says so in the summary', () => {
    const { outcome, dropped } = report(message, { answers: [answer(1, 'answered')], dryRun: false, written: [], notWritten: [], notes: [] });
    expect(dropped).toBe(0);
    expect(outcome.summary).toBe('1 of 1 sources answered; set 0 fields');
    expect(outcome.facts).toHaveLength(3);
    expect(outcome.links).toHaveLength(1);
  });
});
