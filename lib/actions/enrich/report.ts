import type { QueueMessage } from '../../queue/envelope';
import { truncate } from '../../text';
import { detailsRoom } from '../comment';
import type { Outcome } from '../types';
import type { Answer } from './ask';

/** A line of the comment with how much it matters: lower is kept first when the comment is full. */
interface Line {
  fact?: [string, string];
  link?: { label: string; url: string };
  rank: number;
}

/** What the run did besides asking: alerts fetched, and the fields written (or that would be). */
export interface ReportInput {
  answers: Answer[];
  dryRun: boolean;
  /** Fields written, by name; in dry-run, the fields that would be. */
  written: Array<{ name: string; value: unknown }>;
  /** Fields not written and why (no value, wrong shape, FlashDuty refused). */
  notWritten: Array<{ name: string; problem: string }>;
  notes: Array<[string, string]>;
}

const FACT_MAX_CHARS = 300;
/** Room for `• …: N more lines in the worker log`. */
const MORE_NOTE_CHARS = 40;

/**
 * The one comment of a run, as an outcome: per source its `show` lines and link, or why it failed;
 * the fields set. It fits FlashDuty's 1,024 characters by leaving out whole lines, least useful
 * first (a source's later `show` lines before any source's first, links before failures), rather
 * than cutting every line short; a value over 300 characters is cut. The worker log has it all.
 */
export function report(message: QueueMessage, input: ReportInput): { outcome: Outcome; dropped: number } {
  const { answers, dryRun } = input;
  const answered = answers.filter((a) => a.state === 'answered').length;
  const status: Outcome['status'] = dryRun ? 'dry-run' : answered > 0 ? 'succeeded' : 'failed';
  const lines = [...input.notes.map((fact): Line => ({ fact, rank: 1 })), ...answers.flatMap((a) => sourceLines(a, dryRun)), ...fieldLines(input, dryRun)];
  const fitted = fit(lines, detailsRoom(message, status) - summaryOf(input, answered).length - 1);
  const outcome: Outcome = {
    status,
    summary: summaryOf(input, answered),
    facts: fitted.kept.flatMap((line) => (line.fact ? [line.fact] : [])),
    links: fitted.kept.flatMap((line) => (line.link ? [line.link] : [])),
  };
  if (fitted.dropped > 0) outcome.facts!.push(['…', `${fitted.dropped} more lines in the worker log`]);
  return { outcome, dropped: fitted.dropped };
}

function summaryOf({ answers, dryRun, written }: ReportInput, answered: number): string {
  const asked = `${answered} of ${answers.length} sources answered`;
  const fields = `${written.length} field${written.length === 1 ? '' : 's'}`;
  if (dryRun) return `${asked} (read-only requests are sent in dry-run); would set ${fields}, wrote nothing`;
  return answered === 0 ? `${asked}; no field was changed` : `${asked}; set ${fields}`;
}

function sourceLines(answer: Answer, dryRun: boolean): Line[] {
  const name = answer.source.name;
  const lines: Line[] = [];
  if (dryRun && answer.request) lines.push({ fact: [`${name} request`, answer.request], rank: 1 });
  if (answer.state !== 'answered') lines.push({ fact: [name, `${answer.state === 'skipped' ? 'skipped' : 'FAILED'}: ${answer.problem}`], rank: 0 });
  for (const [index, [label, value]] of answer.shows.entries()) lines.push({ fact: [`${name} ${label}`, value], rank: index === 0 ? 2 : 4 + index });
  if (answer.link) lines.push({ link: { label: name, url: answer.link }, rank: 3 });
  return lines;
}

function fieldLines({ written, notWritten }: ReportInput, dryRun: boolean): Line[] {
  const lines: Line[] = [];
  if (written.length > 0) {
    const values = written.map(({ name, value }) => (dryRun ? `${name}=${truncate(JSON.stringify(value), 40)}` : name)).join(', ');
    lines.push({ fact: [dryRun ? 'fields it would set' : 'fields set', values], rank: 1 });
  }
  for (const { name, problem } of notWritten) lines.push({ fact: [`field ${name}`, `not set: ${problem}`], rank: 2 });
  return lines;
}

/**
 * Keeps lines in their order. When they do not all fit in `budget`, takes them most useful first
 * (lowest rank, then earliest), each one that still fits, keeping room for the "more lines" note.
 */
function fit(lines: Line[], budget: number): { kept: Line[]; dropped: number } {
  const sized = lines.map((line) => {
    if (line.fact) line.fact = [line.fact[0], truncate(line.fact[1], FACT_MAX_CHARS)];
    const text = line.fact ? `• ${line.fact[0]}: ${line.fact[1]}` : `• ${line.link!.label}: ${line.link!.url}`;
    return { line, size: text.length + 1 };
  });
  if (sized.reduce((sum, s) => sum + s.size, 0) <= budget) return { kept: lines, dropped: 0 };
  let left = budget - MORE_NOTE_CHARS;
  const kept = new Set<(typeof sized)[number]>();
  for (const candidate of [...sized].sort((a, b) => a.line.rank - b.line.rank)) {
    if (candidate.size > left) continue;
    kept.add(candidate);
    left -= candidate.size;
  }
  return { kept: sized.filter((s) => kept.has(s)).map((s) => s.line), dropped: sized.length - kept.size };
}
