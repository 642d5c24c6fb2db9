import { describeError } from '../../errors';
import type { ChangeEvent } from '../../flashduty/client';
import { type HttpClient, makeHttp, secret as secretValue } from '../../http/outbound';
import { clickKeyOf } from '../../queue/envelope';
import { TemplateValueError } from '../../template/compile';
import { type TemplateContext, templateContext } from '../../template/context';
import { type ActionContext, defineAction, type Outcome } from '../types';
import { RollbackConfig, type Target } from './config';
import { type Dispatcher, DispatchRefused, dispatchOnce, DispatchUnknown, type Run } from './dispatch';
import { githubDispatcher } from './github';
import { gitlabDispatcher } from './gitlab';
import { describeLabels, labelView, selectTarget, targetName } from './select';
import { webhookDispatcher } from './webhook';

type Context = ActionContext<RollbackConfig>;
type Facts = Array<[string, string]>;

const failed = (summary: string, facts?: Facts): Outcome => ({ status: 'failed', summary, facts });
/** A refusal before anything was dispatched: it says so, and gives back its run of the budget. */
const notRolledBack = (summary: string, facts?: Facts): Outcome => ({ status: 'failed', summary: `${summary}; nothing was rolled back`, facts, untouched: true });

const dispatchKey = (ctx: Context) => `dispatch#${clickKeyOf(ctx.message)}`;

/**
 * A refusal before dispatching: "nothing was rolled back", giving its run of the budget back.
 * Unless an earlier delivery of the click already sent its dispatch (its note, see dispatchOnce),
 * and the targets or labels changed since: then the rollback may be running.
 */
async function refuse(ctx: Context, summary: string, facts?: Facts): Promise<Outcome> {
  const sent = ctx.dryRun ? undefined : await ctx.memory.recall<{ run?: Run }>(dispatchKey(ctx));
  if (!sent) return notRolledBack(summary, facts);
  const what = sent.run ? `started the rollback${sent.run.id ? ` (run ${sent.run.id})` : ''}` : 'sent the dispatch, and whether the rollback started is unknown';
  return failed(`${summary}, but an earlier delivery of this click already ${what}: look at the platform's runs before clicking again`, facts);
}

/**
 * rollback: starts the configured rollback on the deploy platform (a GitHub Actions workflow, a
 * GitLab pipeline or a signed webhook) for the first target whose labels match the incident,
 * at most once per click, and records it as a FlashDuty change.
 */
export const rollback = defineAction({
  name: 'rollback',
  description: 'Rolls back the change behind the incident through the deploy platform.',
  config: RollbackConfig,
  // Three dispatch attempts of up to 10 s each, the run lookups between them, and the change push.
  worker: { timeoutSeconds: 90 },
  async run(ctx): Promise<Outcome> {
    const alerts = await alertsOf(ctx);
    const labels = labelView(ctx.message.payload.incident.labels, alerts);
    const target = selectTarget(ctx.config.ROLLBACK_TARGETS, labels);
    if (!target) {
      return refuse(ctx, 'no target in ROLLBACK_TARGETS matches this incident', [['labels looked at', describeLabels(labels)]]);
    }
    const name = targetName(target);
    let dispatcher: Dispatcher;
    try {
      dispatcher = await dispatcherFor(ctx, target, templateContext(ctx.message, { alerts }));
    } catch (error) {
      if (error instanceof TemplateValueError) return refuse(ctx, `target ${name}: ${error.message}`);
      throw error;
    }
    const facts: Facts = [['provider', target.provider], ['target', name], ...dispatcher.facts];
    const change = changeEvent(ctx, name, dispatcher, labels);
    if (ctx.dryRun) {
      const record = change ? [['change record', `would push change ${change.change_key} (Processing)`] as [string, string]] : [];
      return { status: 'dry-run', summary: `would start the rollback ${name} on ${target.provider}`, facts: [...facts, ['request', dispatcher.describe()], ...record] };
    }
    return dispatchAndRecord(ctx, target, dispatcher, facts, change);
  },
});

async function dispatchAndRecord(ctx: Context, target: Target, dispatcher: Dispatcher, facts: Facts, change: ChangeEvent | undefined): Promise<Outcome> {
  const name = targetName(target);
  let run: Run;
  let earlier: boolean;
  try {
    ({ run, earlier } = await dispatchOnce(dispatcher, ctx.memory, dispatchKey(ctx), target.provider, ctx.log, ctx.signal));
  } catch (error) {
    if (error instanceof DispatchRefused) return notRolledBack(error.message, facts);
    if (error instanceof DispatchUnknown) return failed(`${error.message}; whether the rollback started is unknown: look at the platform's runs before clicking again`, facts);
    throw error;
  }
  const runFacts: Facts = [...(run.id ? [['run id', run.id] as [string, string]] : []), ...(run.note ? [['status', run.note] as [string, string]] : [])];
  const recorded = change ? await pushChange(ctx, { ...change, link: run.url ?? change.link }) : [];
  return {
    status: 'succeeded',
    summary: `${earlier ? 'the rollback was already started for this click (not started again)' : 'started the rollback'} ${name} on ${target.provider}`,
    facts: [...facts, ...runFacts, ...recorded],
    links: run.url ? [{ label: 'run', url: run.url }] : undefined,
  };
}

/** The payload's alerts; fetched when it carries none (manual incidents, incident webhooks). */
async function alertsOf(ctx: Context): Promise<Array<Record<string, unknown>>> {
  const { incident } = ctx.message.payload;
  if (incident.alerts?.length) return incident.alerts as Array<Record<string, unknown>>;
  return (await ctx.flashduty.listAlerts(incident.incident_id, { limit: 100 }, ctx.signal)).items;
}

/** Renders the target's templates and reads its secrets; throws TemplateValueError naming a missing value. */
async function dispatcherFor(ctx: Context, target: Target, context: TemplateContext): Promise<Dispatcher> {
  const http: HttpClient = ctx.http ?? makeHttp({ signal: ctx.signal, log: ctx.log });
  const render = (templates: Record<string, { render(c: TemplateContext): string }>) =>
    Object.fromEntries(Object.entries(templates).map(([key, template]) => [key, template.render(context)]));
  // A dry run shows *** for secrets; it never needs their values.
  const read = async (ref: Parameters<Context['secret']>[0] | undefined) => (ref === undefined ? undefined : ctx.dryRun ? '***' : await ctx.secret(ref));
  // The very key `{{ click_key }}` renders: what a run is told apart by, and the webhook's delivery id.
  const clickKey = context.click_key;
  if (target.provider === 'github') {
    return githubDispatcher(target, render(target.inputs), clickKey, secretValue(`Bearer ${await read(target.token)}`), http, ctx.signal);
  }
  if (target.provider === 'gitlab') {
    const readToken = await read(target.read_token);
    return gitlabDispatcher(target, render(target.variables), clickKey, secretValue((await read(target.token))!), readToken === undefined ? undefined : secretValue(readToken), http);
  }
  const body = target.body ? target.body.render(context) : defaultBody(ctx);
  return webhookDispatcher(target, body, clickKey, await read(target.secret), http);
}

/** What a webhook receives when its target configures no body. */
function defaultBody(ctx: Context): unknown {
  const { incident, person } = ctx.message.payload;
  return { event_id: ctx.message.event_id, action: 'rollback', incident_id: incident.incident_id, title: incident.title, labels: incident.labels ?? {}, person: person?.email };
}

/**
 * The change record, when FLASHDUTY_CHANGE_INTEGRATION_KEY is set. Its key is the click key
 * (`rollback/<incident>/<event id>`, hashed when that is not 1-128 printable ASCII characters), so
 * every delivery of one click updates the same change, and a click on another incident that reuses
 * the event id gets its own.
 */
function changeEvent(ctx: Context, name: string, dispatcher: Dispatcher, labels: Record<string, string>): ChangeEvent | undefined {
  if (!ctx.config.FLASHDUTY_CHANGE_INTEGRATION_KEY) return undefined;
  const { incident, person } = ctx.message.payload;
  const environment = labels.environment ?? labels.env;
  return {
    change_key: clickKeyOf(ctx.message),
    title: `Rollback ${name} for "${incident.title ?? incident.incident_id}"`.slice(0, 200),
    change_status: 'Processing',
    event_time: Math.floor(ctx.message.received_at / 1000),
    description: [`${dispatcher.facts.map(([k, v]) => `${k} ${v}`).join('; ')}`, person ? `started by ${person.person_name} (${person.email})` : '']
      .filter(Boolean)
      .join('\n')
      .slice(0, 2048),
    link: incident.detail_url,
    labels: { ...(labels.service && { service: labels.service }), ...(environment && { environment }), incident_id: incident.incident_id },
  };
}

/** Pushes the change record; a failure is reported in the comment, never hides the rollback that did start. */
async function pushChange(ctx: Context, change: ChangeEvent): Promise<Facts> {
  try {
    await ctx.flashduty.pushChange(await ctx.secret(ctx.config.FLASHDUTY_CHANGE_INTEGRATION_KEY!), change, ctx.signal);
    return [['change record', change.change_key]];
  } catch (error) {
    ctx.log.warn('could not record the rollback as a FlashDuty change', { error: describeError(error) });
    return [['change record', `NOT recorded (${describeError(error)}); key ${change.change_key}`]];
  }
}
