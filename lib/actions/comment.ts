import { createHash } from 'node:crypto';
import type { Outcome } from './types';
import { COMMENT_MAX_CHARS } from '../flashduty/facts';
import type { QueueMessage } from '../queue/envelope';
import { truncate, utc } from '../text';

const LABEL: Record<Outcome['status'], string> = {
  succeeded: 'succeeded',
  failed: 'FAILED',
  'dry-run': 'dry-run (nothing was changed)',
  skipped: 'skipped (not run again)',
};

/**
 * Which of a click's comments: its result, the final failure written when it is dead-lettered, or
 * the failure written for a queue message no worker could read.
 */
export type CommentKind = 'result' | 'final-failure' | 'unreadable';

/**
 * The last line of a click's comment, unique to the click, the action and the kind of comment. The
 * write-back searches the incident's timeline for it after an answer is lost, so it must never
 * match another comment: it is compared as a whole line, and a redriven click's result is told
 * apart from the failure written before. An event id that is not plain printable text is hashed.
 * An unreadable message has no event id to trust: its SQS message id stands in for it.
 */
export function commentMarker(message: Pick<QueueMessage, 'action' | 'event_id'>, kind: CommentKind): string {
  const id = /^[\x21-\x7e]{1,128}$/.test(message.event_id) ? message.event_id : `sha256:${createHash('sha256').update(message.event_id).digest('hex')}`;
  return `flashduty-actions/${message.action}${kind === 'result' ? '' : ` ${kind}`} event ${id}`;
}

/**
 * The one comment a run leaves on the incident's timeline: which action ran, for whom, the outcome
 * and the key facts, ending with the click's marker line. Always within FlashDuty's 1,024-character
 * limit; when facts do not fit, they are shortened and the head line and marker are kept.
 */
export function formatComment(message: QueueMessage, outcome: Outcome, kind: CommentKind = 'result'): string {
  const details = [
    outcome.summary,
    ...(outcome.facts ?? []).map(factLine),
    ...(outcome.links ?? []).map((link) => `• ${link.label}: ${link.url}`),
    ...compactionNote(message),
  ];
  return assemble(headLine(message, outcome.status), details, commentMarker(message, kind));
}

/**
 * Characters formatComment leaves for an outcome's summary, facts and links (one line each, joined
 * by newlines), measured on the lines it adds: the head line (who clicked, or which rule ran it),
 * the compaction note and the marker line, and for a dry run the run budget line the worker adds
 * after the action (at its longest: the worker may have no budget, or a shorter line). Details
 * within it are never cut. Counted in UTF-16 units, which never undercount the code points the
 * comment is cut to.
 */
export function detailsRoom(message: QueueMessage, status: Outcome['status']): number {
  const added = [...compactionNote(message), ...(status === 'dry-run' ? [factLine(LONGEST_RUN_BUDGET_FACT)] : [])];
  return roomBetween(headLine(message, status), commentMarker(message, 'result')) - added.reduce((sum, line) => sum + 1 + line.length, 0);
}

/**
 * The fact the worker adds to a dry run's comment when the action has a run budget: where the
 * budget stands (`used` runs in the last hour of `max`, used up until `freesAt`), without taking from it.
 */
export function runBudgetFact(used: number, max: number, freesAt: number | undefined): [string, string] {
  const state = freesAt === undefined ? `${used} of ${max} used in the last hour` : `used up (${used} of ${max} in the last hour) until ${utc(freesAt)}; a real click would be refused`;
  return ['run budget', `${state} (a dry run does not count)`];
}

/** The run budget fact at its longest: used up, with counts longer than any budget allows. */
const LONGEST_RUN_BUDGET_FACT = runBudgetFact(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);

const factLine = ([label, value]: [string, string]): string => `• ${label}: ${value}`;

/**
 * The comment for a queue message no worker could read (written when it goes to the dead-letter
 * queue), ending with its marker line like every other comment, so a lost answer is not posted twice.
 */
export function unreadableComment(action: string, messageId: string, problem: string): string {
  const head = `[flashduty-actions] ${action} FAILED`;
  const detail = `The queued click could not be read (${problem}); it is in the dead-letter queue as message ${messageId}.`;
  return assemble(head, [detail], commentMarker({ action, event_id: messageId }, 'unreadable'));
}

/**
 * The head line, the details fitted to the room the limit leaves, and the marker line last. Each
 * detail stays one line: a value from the incident or a source (a label, a name, an answer) cannot
 * add a line of its own, such as a forged head line.
 */
function assemble(head: string, details: string[], foot: string): string {
  return [head, fit(details.map(oneLine), roomBetween(head, foot)), foot].join('\n');
}

/** Line breaks (as any renderer may take them) become spaces, one for one, so lengths stay as counted. */
const oneLine = (text: string): string => text.replace(/[\n\r\v\f\u0085\u2028\u2029]/g, ' ');

/** What the 1,024-character limit leaves between a head line and a marker line (and their two newlines). */
const roomBetween = (head: string, foot: string): number => COMMENT_MAX_CHARS - head.length - foot.length - 2;

/** The first line: which action, the outcome, and who started it. */
function headLine(message: QueueMessage, status: Outcome['status']): string {
  return oneLine(`[flashduty-actions] ${message.action} ${LABEL[status]}${byline(message)}`);
}

/**
 * Who started the run: the person who clicked, or, for a run an event rule started, that it ran by
 * itself and which rule and event started it (the event's person did not ask for this action).
 */
function byline(message: QueueMessage): string {
  if (message.trigger) return ` — run automatically by rule "${truncate(message.trigger.rule, 64)}" on ${truncate(message.trigger.event_type, 32)}`;
  const who = message.payload.person?.person_name;
  return who ? ` — clicked by ${personText(who)}` : '';
}

/**
 * A person's name or email as a comment line shows it: cut to 64 code points, since FlashDuty
 * sends them unbounded and a name near the limit would leave no room for the details and marker.
 */
export const personText = (text: string): string => truncate(text, 64);

/**
 * When the click was too big for one queue message, the action saw less than the incident holds:
 * say what it did not see (alerts, shortened texts, keys left out), so nobody reads the result as
 * covering all of it.
 */
function compactionNote(message: QueueMessage): string[] {
  const { alerts_dropped: dropped = 0, strings_shortened: shortened = 0, keys_dropped: keys = 0 } = message.compacted ?? {};
  const seen = message.payload.incident.alerts?.length ?? 0;
  const parts = [
    ...(dropped > 0 ? [`this action saw ${seen} of its alerts and ${dropped} were dropped`] : []),
    ...(shortened > 0 ? [`${shortened} long texts were shortened`] : []),
    ...(keys > 0 ? [`${keys} keys, labels or list entries were left out`] : []),
  ];
  return parts.length > 0 ? [`• note: the incident was too large for one queue message; ${parts.join('; ')}`] : [];
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
