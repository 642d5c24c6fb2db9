import type { Outcome } from '../actions/types';
import { COMMENT_MAX_CHARS } from '../flashduty/facts';
import type { QueueMessage } from '../queue/envelope';
import { truncate } from '../text';

const LABEL: Record<Outcome['status'], string> = {
  succeeded: 'succeeded',
  failed: 'FAILED',
  'dry-run': 'dry-run (nothing was changed)',
};

/**
 * The one comment a run leaves on the incident's timeline: which action ran, for whom, the outcome
 * and the key facts. Always within FlashDuty's 1,024-character limit; when facts do not fit, they
 * are shortened and the head line and event id are kept.
 */
export function formatComment(message: QueueMessage, outcome: Outcome): string {
  const who = message.payload.person?.person_name;
  const head = `[flashduty-actions] ${message.action} ${LABEL[outcome.status]}${who ? ` — clicked by ${who}` : ''}`;
  const foot = `event ${message.event_id}`;
  const details = [
    outcome.summary,
    ...(outcome.facts ?? []).map(([label, value]) => `• ${label}: ${value}`),
    ...(outcome.links ?? []).map((link) => `• ${link.label}: ${link.url}`),
    ...compactionNote(message),
  ];
  const room = COMMENT_MAX_CHARS - head.length - foot.length - 2;
  return [head, fit(details, room), foot].join('\n');
}

/**
 * When the click was too big for one queue message, the action saw fewer alerts than the incident
 * has: say how many it did not see, so nobody reads the result as covering all of them.
 */
function compactionNote(message: QueueMessage): string[] {
  const dropped = message.compacted?.alerts_dropped ?? 0;
  if (dropped === 0) return [];
  const seen = message.payload.incident.alerts?.length ?? 0;
  return [`• note: the incident was too large for one queue message; this action saw ${seen} of its alerts and ${dropped} were dropped`];
}

/** Joins lines into at most `room` characters, shortening the longest lines first. */
function fit(lines: string[], room: number): string {
  let cap = Math.max(...lines.map((line) => line.length), 0);
  let text = lines.join('\n');
  while (Array.from(text).length > room && cap > 40) {
    cap = Math.floor(cap * 0.8);
    text = lines.map((line) => truncate(line, cap)).join('\n');
  }
  return truncate(text, room);
}
