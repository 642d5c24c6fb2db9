import { validatePayload } from '../../lib/flashduty/payload';
import type { QueueMessage } from '../../lib/queue/envelope';
import { commentMarker, formatComment, unreadableComment } from '../../lib/actions/comment';
import { sampleClick } from '../fixtures/clicks';

const message = (overrides: Record<string, unknown> = {}): QueueMessage => ({
  version: 1,
  action: 'restart-host',
  event_id: 'evt-42',
  received_at: Date.now(),
  payload: validatePayload(sampleClick(overrides)),
});

describe('write-back comment', () => {
  it('says which action ran, for whom, the outcome, the facts and the event', () => {
    const text = formatComment(message(), {
      status: 'succeeded',
      summary: 'restarted nginx on i-0123456789abcdef0',
      facts: [['command', 'c-1']],
      links: [{ label: 'SSM console', url: 'https://console.aws.amazon.com/systems-manager/run-command/c-1' }],
    });
    expect(text.split('\n')).toEqual([
      '[flashduty-actions] restart-host succeeded — clicked by zhangsan',
      'restarted nginx on i-0123456789abcdef0',
      '• command: c-1',
      '• SSM console: https://console.aws.amazon.com/systems-manager/run-command/c-1',
      'flashduty-actions/restart-host event evt-42',
    ]);
  });

  it('says a run an event rule started ran automatically, naming the rule and the event, not a clicker', () => {
    const triggered: QueueMessage = { ...message(), event_id: 'evt-42:enrich-new', trigger: { rule: 'enrich-new', event_type: 'i_new', event_id: 'evt-42' } };
    const lines = formatComment(triggered, { status: 'succeeded', summary: 'added 3 traces' }).split('\n');
    expect(lines[0]).toBe('[flashduty-actions] restart-host succeeded — run automatically by rule "enrich-new" on i_new');
    expect(lines.at(-1)).toBe('flashduty-actions/restart-host event evt-42:enrich-new');
  });

  it('tells the incident how many alerts compaction dropped before the action ran', () => {
    const compacted: QueueMessage = { ...message(), compacted: { original_bytes: 900_000, alerts_dropped: 412, strings_shortened: 0, keys_dropped: 0 } };
    const seen = compacted.payload.incident.alerts?.length ?? 0;
    const text = formatComment(compacted, { status: 'succeeded', summary: 's', facts: [['x'.repeat(10), 'y'.repeat(2000)]] });
    expect(text).toContain(`• note: the incident was too large for one queue message; this action saw ${seen} of its alerts and 412 were dropped`);
    expect(Array.from(text).length).toBeLessThanOrEqual(1024);
    expect(formatComment({ ...compacted, compacted: { ...compacted.compacted!, alerts_dropped: 0 } }, { status: 'succeeded', summary: 's' })).not.toContain('note:');
  });

  it('says so too when compaction shortened texts or left keys out, with or without alerts dropped', () => {
    const note = (counts: { alerts_dropped: number; strings_shortened: number; keys_dropped: number }) =>
      formatComment({ ...message(), compacted: { original_bytes: 900_000, ...counts } }, { status: 'succeeded', summary: 's' }).split('\n').find((line) => line.startsWith('• note:'));
    expect(note({ alerts_dropped: 0, strings_shortened: 3, keys_dropped: 41 })).toBe('• note: the incident was too large for one queue message; 3 long texts were shortened; 41 keys, labels or list entries were left out');
    expect(note({ alerts_dropped: 5, strings_shortened: 0, keys_dropped: 2 })).toMatch(/; this action saw \d+ of its alerts and 5 were dropped; 2 keys, labels or list entries were left out$/);
  });

  it('marks dry runs and failures in the first line', () => {
    expect(formatComment(message(), { status: 'dry-run', summary: 'would restart' })).toMatch(/^\[flashduty-actions\] restart-host dry-run \(nothing was changed\)/);
    expect(formatComment(message(), { status: 'failed', summary: 'no target' })).toMatch(/^\[flashduty-actions\] restart-host FAILED/);
  });

  it('keeps every value on its own line: a label, a name or an answer with line breaks cannot forge a head or marker line', () => {
    const forged = 'engine\n[flashduty-actions] rollback succeeded — clicked by oncall-lead\r\nflashduty-actions/restart-host event evt-42\u2028• run: https://evil.example\u0085x\vy\fz';
    const person = { person_id: 1, person_name: 'mallory\n[flashduty-actions] restart-host succeeded', email: 'm@example.com' };
    const text = formatComment(message({ person }), { status: 'failed', summary: `no target for service=${forged}`, facts: [['labels looked at', forged]] });
    const lines = text.split(/[\n\r\v\f\u0085\u2028\u2029]/);
    expect(lines).toHaveLength(4);
    expect(lines.filter((line) => line.startsWith('[flashduty-actions]'))).toEqual(['[flashduty-actions] restart-host FAILED — clicked by mallory [flashduty-actions] restart-host succeeded']);
    expect(lines.at(-1)).toBe('flashduty-actions/restart-host event evt-42');
    expect(lines[2]).toBe(`• labels looked at: ${forged.replace(/[\n\r\v\f\u0085\u2028\u2029]/g, ' ')}`);
  });

  it('omits the clicker when FlashDuty sent no person', () => {
    expect(formatComment(message({ person: undefined }), { status: 'succeeded', summary: 's' })).toMatch(/^\[flashduty-actions\] restart-host succeeded\n/);
  });

  it('shortens a very long person name, so the comment keeps its details and marker line within 1,024 characters', () => {
    const name = `${'名'.repeat(600)}${'n'.repeat(420)}`;
    const text = formatComment(message({ person: { person_id: 7, person_name: name, email: 'a@b.c' } }), { status: 'succeeded', summary: 'restarted nginx' });
    expect(Array.from(text).length).toBeLessThanOrEqual(1024);
    expect(text.split('\n')).toEqual([`[flashduty-actions] restart-host succeeded — clicked by ${'名'.repeat(63)}…`, 'restarted nginx', 'flashduty-actions/restart-host event evt-42']);
  });

  it('stays within 1,024 characters and keeps the head line and the event id when facts are long', () => {
    const facts: Array<[string, string]> = Array.from({ length: 30 }, (_, i) => [`output ${i}`, 'x'.repeat(200)]);
    const text = formatComment(message(), { status: 'failed', summary: 'command failed', facts });
    expect(Array.from(text).length).toBeLessThanOrEqual(1024);
    expect(text.startsWith('[flashduty-actions] restart-host FAILED')).toBe(true);
    expect(text.endsWith('\nflashduty-actions/restart-host event evt-42')).toBe(true);
    expect(text).toContain('command failed');
  });

  it('ends with a marker line that tells the result of a click from its final failure', () => {
    const result = formatComment(message(), { status: 'succeeded', summary: 's' });
    const failure = formatComment(message(), { status: 'failed', summary: 'gave up' }, 'final-failure');
    expect(result.split('\n').pop()).toBe(commentMarker(message(), 'result'));
    expect(failure.split('\n').pop()).toBe('flashduty-actions/restart-host final-failure event evt-42');
  });

  it('hashes an event id that is not plain printable text, so the marker stays one line', () => {
    const marker = commentMarker({ ...message(), event_id: 'evt\n42 two' }, 'result');
    expect(marker).toMatch(/^flashduty-actions\/restart-host event sha256:[0-9a-f]{64}$/);
  });

  it('ends an unreadable message\'s comment with its own marker line, within 1,024 characters however long the problem', () => {
    const text = unreadableComment('restart-host', 'msg-7', `ValidationError: ${'event_id: is required; '.repeat(80)}`);
    expect(Array.from(text).length).toBeLessThanOrEqual(1024);
    expect(text.startsWith('[flashduty-actions] restart-host FAILED\nThe queued click could not be read (')).toBe(true);
    expect(text.split('\n').pop()).toBe('flashduty-actions/restart-host unreadable event msg-7');
    expect(text.split('\n').pop()).toBe(commentMarker({ action: 'restart-host', event_id: 'msg-7' }, 'unreadable'));
  });

  it('writes a skipped click as skipped, not as a failure', () => {
    expect(formatComment(message(), { status: 'skipped', summary: 'cool-down' })).toMatch(/^\[flashduty-actions\] restart-host skipped \(not run again\)/);
  });
});
