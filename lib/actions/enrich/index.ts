import { FlashDutyError } from '../../flashduty/client';
import { makeHttp } from '../../http/outbound';
import { templateContext } from '../../template/context';
import { type ActionContext, defineAction, type Outcome } from '../types';
import { type Answer, ask } from './ask';
import { EnrichConfig } from './config';
import { report, type ReportInput } from './report';

/**
 * Worker timeout: the slowest source may take 30 s (timeout_ms at most), and the alert lookup, up
 * to 15 field writes and the comment must still fit after it, so a hanging source never turns into
 * a retried click.
 */
const TIMEOUT_SECONDS = 45;

/** How many alerts to fetch when the click carries none: the template context uses the first. */
const ALERTS_FETCHED = 10;

/**
 * enrich: asks the team's own observability and CMDB services about the incident (configured
 * sources, in parallel, each within its timeout) and writes what they answer onto the incident:
 * custom fields through `/incident/field/reset`, and the one comment of the run. FlashDuty has no
 * API to add incident labels, so fields and the comment are the write-back channels.
 */
export const enrich = defineAction({
  name: 'enrich',
  description: 'Adds traces, logs and topology to the incident: custom fields and one comment, from configured sources.',
  config: EnrichConfig,
  // A repeat asks the sources again and overwrites the same fields: harmless, so no cool-down.
  cooldown: false,
  worker: { timeoutSeconds: TIMEOUT_SECONDS },
  async run(ctx): Promise<Outcome> {
    const { config, message, dryRun, log } = ctx;
    const notes: Array<[string, string]> = [];
    const alerts = await alertsOf(ctx, notes);
    const context = templateContext(message, { alerts });
    const http = ctx.http ?? makeHttp({ signal: ctx.signal, log });
    const answers = await Promise.all(config.ENRICH_SOURCES.map((source) => ask(source, context, { http, secret: ctx.secret, dryRun })));
    const input: ReportInput = { answers, dryRun, notes, ...(await writeFields(ctx, answers)) };
    const { outcome, dropped } = report(message, input);
    log.info('enrich finished', {
      sources: answers.map((a) => ({ name: a.source.name, state: a.state, problem: a.problem, shows: a.shows, link: a.link })),
      fields_written: input.written.map((w) => w.name),
      fields_not_written: input.notWritten,
      comment_lines_dropped: dropped,
    });
    return outcome;
  },
});

/**
 * The alerts to template from: the click's, or when it carries none (incident webhooks never do,
 * nor manual incidents) the incident's from `/incident/alert/list`. A refused lookup is a note;
 * FlashDuty being unavailable is thrown, so the click is retried rather than enriched half-blind.
 */
async function alertsOf(ctx: ActionContext<EnrichConfig>, notes: Array<[string, string]>): Promise<Array<Record<string, unknown>> | undefined> {
  const { incident } = ctx.message.payload;
  if (incident.alerts && incident.alerts.length > 0) return undefined;
  try {
    const { items, total } = await ctx.flashduty.listAlerts(incident.incident_id, { limit: ALERTS_FETCHED }, ctx.signal);
    notes.push(['alerts', `the push carried none; ${total} listed by FlashDuty${items.length > 0 ? ', labels taken from the first' : ''}`]);
    return items;
  } catch (error) {
    if (!(error instanceof FlashDutyError) || error.retryable) throw error;
    notes.push(['alerts', `the push carried none and FlashDuty would not list them (${error.message}); only incident labels were used`]);
    return undefined;
  }
}

/**
 * Writes each field a source gave a value for. `/incident/field/reset` sets the value outright,
 * so writing it again (a re-run of enrichment, or this click run again after a lost answer) leaves
 * the same value instead of piling up. In dry-run nothing is written; the report shows the values.
 * A field FlashDuty refuses (unknown name, wrong type) is a line of the comment; FlashDuty being
 * unavailable is thrown, and the click is retried.
 */
async function writeFields(ctx: ActionContext<EnrichConfig>, answers: Answer[]): Promise<Pick<ReportInput, 'written' | 'notWritten'>> {
  const written: ReportInput['written'] = [];
  const notWritten: ReportInput['notWritten'] = [];
  for (const field of answers.flatMap((a) => a.fields)) {
    if ('problem' in field) {
      notWritten.push({ name: field.name, problem: field.problem });
      continue;
    }
    try {
      if (!ctx.dryRun) await ctx.flashduty.resetField(ctx.message.payload.incident.incident_id, field.name, field.value, ctx.signal);
      written.push({ name: field.name, value: field.value });
    } catch (error) {
      if (error instanceof FlashDutyError && !error.retryable) notWritten.push({ name: field.name, problem: `FlashDuty refused it (${error.code})` });
      else throw error;
    }
  }
  return { written, notWritten };
}
