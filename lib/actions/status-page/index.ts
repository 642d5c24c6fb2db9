import { FlashDutyError } from '../../flashduty/client';
import { makeHttp } from '../../http/outbound';
import { clickKeyOf } from '../../queue/envelope';
import { TemplateValueError } from '../../template/compile';
import { templateContext } from '../../template/context';
import { type ActionContext, defineAction, type Outcome } from '../types';
import { type Component, resolveComponents, selectComponents } from './components';
import { StatusPageConfig, type EventStatus } from './config';
import { flashdutyProvider } from './flashduty';
import { desiredStatus, formatLink, type Link, type LinkRead, parseLink } from './link';
import { type ComponentChange, markerFor, type Prepared, type Provider, ProviderError, type PublicEvent } from './provider';
import { statuspageProvider } from './statuspage';

type Ctx = ActionContext<StatusPageConfig>;
const failed = (summary: string): Outcome => ({ status: 'failed', summary: `${summary}; nothing was published` });
/** A failure after this click's write was sent and its outcome is not known (its note has no link). */
const failedAfterWrite = (summary: string): Outcome => ({ status: 'failed', summary: `${summary}; an earlier write of this click may have been published: check the status page before clicking again` });

/**
 * status-page: one public event per incident. The first click opens it, later clicks move it along
 * (investigating -> identified/monitoring -> resolved, with every touched component back to
 * operational on resolve). The incident's custom field links it to its event, so a redelivered
 * first click never opens a second one; each click's write is noted in ctx.memory before it is sent
 * (Note), so a click delivered again after a lost answer never publishes it twice.
 */
export const statusPage = defineAction({
  name: 'status-page',
  description: 'Opens, updates and resolves a public status page event for the incident (FlashDuty Status Page or Atlassian Statuspage).',
  config: StatusPageConfig,
  checkConfig: (config) =>
    config.STATUS_PAGE_PROVIDER === 'statuspage' && !config.STATUS_PAGE_API_KEY ? 'STATUS_PAGE_PROVIDER=statuspage needs STATUS_PAGE_API_KEY (or STATUS_PAGE_API_KEY_PARAM)' : undefined,
  // Each click moves the incident's one public event along (its link lives on the incident), so a
  // second click is an update, never a second event: no cool-down.
  cooldown: false,
  async run(ctx): Promise<Outcome> {
    try {
      return await publish(ctx);
    } catch (error) {
      if (error instanceof ProviderError) return (await sentUnknown(ctx)) ? failedAfterWrite(error.message) : failed(error.message);
      if (error instanceof TemplateValueError) return failed(`the public text could not be written: ${error.message}`);
      // A refused read (the incident's fields) will be refused again: say so now instead of retrying.
      if (error instanceof FlashDutyError && !error.retryable) return failed(`FlashDuty refused a call: ${error.message}`);
      throw error;
    }
  },
});

/** What this click wants published, before knowing whether an event exists. */
interface Wanted {
  status: EventStatus;
  components: Component[];
  why: string;
  /** Components a resolve would have set back, no longer on the page (resolveComponents). */
  missing: string[];
  provider: Provider;
  page: string;
}

async function publish(ctx: Ctx): Promise<Outcome> {
  const { config, message } = ctx;
  const incident = message.payload.incident as Record<string, unknown>;
  const status = desiredStatus(incident, config.STATUS_PAGE_PROCESSING_STATUS);
  if ('problem' in status) return failed(status.problem);
  const selection = selectComponents(config.STATUS_PAGE_COMPONENTS, templateContext(message).labels);
  if ('problem' in selection) return failed(selection.problem);
  const made = await makeProvider(ctx);
  if ('problem' in made) return failed(made.problem);
  const note = ctx.dryRun ? undefined : await ctx.memory.recall<Note | null>(noteKey(ctx));
  // After a write of this click, the payload's link is stale: the note has the one the write started from.
  const current: LinkRead = note ? (note.before ? { link: note.before } : { none: true }) : await readLink(ctx);
  if ('problem' in current) return failed(current.problem);
  const link = 'link' in current ? current.link : undefined;
  // On resolve every component the event ever touched goes back to operational, not only today's.
  const refs = status.status === 'resolved' ? [...(link?.components ?? []), ...selection.refs] : selection.refs;
  const resolved = await resolveComponents(refs, made.key, made.provider, status.status === 'resolved');
  if ('problem' in resolved) return failed(resolved.problem);
  const wanted: Wanted = { status: status.status, components: resolved.components, why: selection.why, missing: resolved.missing, provider: made.provider, page: config.STATUS_PAGE_ID! };
  if (note) return resume(ctx, wanted, note);
  return link ? onExisting(ctx, wanted, link) : onNone(ctx, wanted);
}

/**
 * This click's create or update, kept in ctx.memory under noteKey: written before it is sent, and
 * completed with the link as soon as the provider answers. A delivery of the click after a lost
 * answer (a network drop or a timeout, perhaps after the provider applied the write) must not go by
 * the payload's link, which is from before the click: it goes by this note (resume). null: the last
 * attempt certainly never reached the provider.
 */
interface Note {
  kind: 'create' | 'update';
  /** The provider accepted the create but named no event: it is looked for, never sent again. */
  unnamed?: boolean;
  /** The link the update was built on (none for a create). */
  before?: Link;
  /** The link recorded once the provider answered: the write is known to be done. */
  link?: Link;
}

const noteKey = (ctx: Ctx) => `publish#${clickKeyOf(ctx.message)}`;
/** Whether this click sent a write whose outcome is not known: its note is there without a link. */
async function sentUnknown(ctx: Ctx): Promise<boolean> {
  if (ctx.dryRun) return false;
  const note = await ctx.memory.recall<Note | null>(noteKey(ctx));
  return note != null && note.link === undefined;
}
/** What a Statuspage update carries to be found again: the click's marker. */
const clickMarker = (ctx: Ctx) => markerFor(clickKeyOf(ctx.message));
/** What a public event carries to be found again: the incident's marker. */
const incidentMarker = (ctx: Ctx) => markerFor(ctx.message.payload.incident.incident_id);
const did = (kind: Note['kind'], status: EventStatus) => (kind === 'create' ? 'opened' : status === 'resolved' ? 'resolved' : 'updated');

/**
 * A delivery of a click that already sent its write (see Note). Known done: the link is recorded
 * again (the field write may be what failed) and nothing is sent. Answer lost: the page is asked,
 * and the write is sent again only where the page shows it is not there.
 * - create: onNone looked for an open event with the incident's marker before creating and found
 *   none, so one there now is this click's: it is linked. None: the create did not land (or its
 *   event was resolved in the minutes before this retry), and it is sent again. A create that was
 *   answered without naming its event is looked for the same way but never sent again (findUnnamed).
 * - update: Statuspage keeps the click's marker in the update's text: found, it is linked; missing,
 *   sent again. FlashDuty lists no updates of an event, so while the event is open nobody can tell:
 *   nothing is sent (subscribers would hear it twice), and the incident is told so. A closed event
 *   is what a resolve wants; any other update would reopen it, so it is not sent either.
 */
async function resume(ctx: Ctx, wanted: Wanted, note: Note): Promise<Outcome> {
  if (note.link) {
    const summary = `this click already ${did(note.kind, note.link.status)} public event ${note.link.id}; nothing new was published`;
    return outcome(ctx, wanted, note.link, summary, [], await record(ctx, note.link));
  }
  if (note.kind === 'create' && note.unnamed) return findUnnamed(ctx, wanted, []);
  ctx.log.warn('an earlier delivery of this click sent its status page write and got no answer; looking for it on the page first', { kind: note.kind });
  if (note.kind === 'create') {
    const open = await wanted.provider.findOpen(incidentMarker(ctx));
    if (!open) return send(ctx, wanted, undefined, 'create');
    const summary = `public event ${open.id} was opened by an earlier delivery of this click, whose answer was lost; linked it, not opened again`;
    return finish(ctx, wanted, { kind: 'create', link: newLink(ctx, wanted, open) }, summary, []);
  }
  const before = note.before!;
  const seen = await wanted.provider.findUpdate(before.id, clickMarker(ctx));
  if (seen === 'missing') return send(ctx, wanted, before, 'update');
  const lost = `an earlier delivery of this click sent the ${wanted.status} update to public event ${before.id} and got no answer`;
  if (seen === 'found' || (seen === 'closed' && wanted.status === 'resolved')) {
    const summary = seen === 'found' ? `${lost}; it is on the page, so it was not published again` : `${lost}; the event is resolved, so nothing new was published`;
    return finish(ctx, wanted, { ...note, link: newLink(ctx, wanted, { id: before.id }, before) }, summary, []);
  }
  const why = seen === 'closed' ? 'the event is no longer open on the page' : `${ctx.config.STATUS_PAGE_PROVIDER} gives no way to list an event's updates`;
  const url = before.url ?? ctx.config.STATUS_PAGE_PUBLIC_URL;
  return {
    status: 'failed',
    summary: `${lost}; ${why}, so whether it was published cannot be known, and it was not sent again (subscribers would be notified twice): check the status page, and click again if the update is missing`,
    facts: [['public event', `${before.id} (${before.provider} page ${before.page})`], ['status', wanted.status]],
    ...(url && { links: [{ label: 'status page', url }] }),
  };
}

async function makeProvider(ctx: Ctx): Promise<{ provider: Provider; key: string } | { problem: string }> {
  const { config } = ctx;
  const page = config.STATUS_PAGE_ID!;
  if (config.STATUS_PAGE_PROVIDER === 'flashduty') return { provider: flashdutyProvider(ctx.flashduty, page, ctx.signal), key: `flashduty|${page}` };
  if (!config.STATUS_PAGE_API_KEY) return { problem: 'STATUS_PAGE_PROVIDER=statuspage needs STATUS_PAGE_API_KEY (or STATUS_PAGE_API_KEY_PARAM)' };
  const http = ctx.http ?? makeHttp({ signal: ctx.signal, log: ctx.log });
  const provider = statuspageProvider(http, config.STATUS_PAGE_API_URL, page, await ctx.secret(config.STATUS_PAGE_API_KEY));
  return { provider, key: `statuspage|${config.STATUS_PAGE_API_URL}|${page}` };
}

/** The link from the payload's fields, or from /incident/info when the payload does not carry it. */
async function readLink(ctx: Ctx): Promise<ReturnType<typeof parseLink>> {
  const field = ctx.config.STATUS_PAGE_FIELD;
  const { incident } = ctx.message.payload;
  const fields = incident.fields as Record<string, unknown> | undefined | null;
  if (fields && Object.hasOwn(fields, field) && fields[field] !== null) return parseLink(fields[field], field);
  const info = await ctx.flashduty.incidentInfo(incident.incident_id, ctx.signal);
  const fresh = info.fields as Record<string, unknown> | undefined | null;
  return parseLink(fresh && Object.hasOwn(fresh, field) ? fresh[field] : undefined, field);
}

async function onExisting(ctx: Ctx, wanted: Wanted, link: Link): Promise<Outcome> {
  const { message, config } = ctx;
  if (link.provider !== config.STATUS_PAGE_PROVIDER || link.page !== wanted.page) {
    return failed(`the incident is linked to ${link.provider} page ${link.page} event ${link.id}, but the action is configured for ${config.STATUS_PAGE_PROVIDER} page ${wanted.page}`);
  }
  if (link.click === message.event_id) return done(ctx, wanted, link, `this click already updated public event ${link.id}; nothing new was published`);
  if (link.status === 'resolved') {
    if (wanted.status === 'resolved') return done(ctx, wanted, link, `public event ${link.id} is already resolved; nothing new was published`);
    if (message.payload.event_time < link.at) {
      return failed(`public event ${link.id} was resolved by a newer event (${new Date(link.at).toISOString()}); this older click (${new Date(message.payload.event_time).toISOString()}) would reopen it`);
    }
  }
  return send(ctx, wanted, link, 'update');
}

async function onNone(ctx: Ctx, wanted: Wanted): Promise<Outcome> {
  const marker = incidentMarker(ctx);
  // The field is empty, but a run whose answer (or field write) was lost may have opened the event.
  const open = await wanted.provider.findOpen(marker);
  if (open && open.status === wanted.status) {
    // Most likely this very click opened it: record it rather than post the same update twice.
    const link = newLink(ctx, wanted, open);
    const problem = await record(ctx, link);
    return outcome(ctx, wanted, link, `public event ${open.id} was already open (${open.status}); linked it to the incident`, [], problem);
  }
  if (open) {
    const adopted: Link = { ...newLink(ctx, wanted, open), status: 'investigating', click: '', at: 0 };
    return send(ctx, wanted, adopted, 'update');
  }
  if (wanted.status === 'resolved') return failed('the incident is resolved and has no open public event to resolve');
  return send(ctx, wanted, undefined, 'create');
}

function newLink(ctx: Ctx, wanted: Wanted, event: PublicEvent, before?: Link): Link {
  const { config, message } = ctx;
  return {
    provider: config.STATUS_PAGE_PROVIDER,
    page: wanted.page,
    id: event.id,
    status: wanted.status,
    at: Math.max(before?.at ?? 0, message.payload.event_time),
    click: message.event_id,
    components: [...new Set([...(before?.components ?? []), ...wanted.components.map((c) => c.id)])],
    ...((event.url ?? before?.url) && { url: event.url ?? before?.url }),
  };
}

/** Builds the create or update, describes it on dry-run, else sends it and records the link. */
async function send(ctx: Ctx, wanted: Wanted, link: Link | undefined, kind: 'create' | 'update'): Promise<Outcome> {
  const { config, message } = ctx;
  const context = templateContext(message);
  const changes = componentChanges(ctx, wanted);
  if ('problem' in changes) return failed(changes.problem);
  const update = { status: wanted.status, message: config.STATUS_PAGE_MESSAGES[wanted.status].render(context), components: changes.list, notify: config.STATUS_PAGE_NOTIFY };
  const prepared: Prepared<PublicEvent | void> =
    kind === 'create'
      ? wanted.provider.create({ ...update, title: config.STATUS_PAGE_TITLE.render(context), marker: incidentMarker(ctx) })
      : wanted.provider.update(link!.id, update, clickMarker(ctx));
  const verb = kind === 'create' ? 'open a public event' : wanted.status === 'resolved' ? `resolve public event ${link!.id}` : `update public event ${link!.id}`;
  if (ctx.dryRun) {
    return { status: 'dry-run', summary: `would ${verb} on ${config.STATUS_PAGE_PROVIDER} page ${wanted.page}: ${wanted.status}`, facts: [...facts(wanted, changes.list), ['request', prepared.describe]] };
  }
  await ctx.memory.remember(noteKey(ctx), { kind, before: link } satisfies Note);
  let event: PublicEvent | void;
  try {
    event = await prepared.send();
  } catch (error) {
    // Certainly not carried out (a refused connection, "too many requests", a refusal): the note
    // goes, so the retry sends without looking (for a FlashDuty update it could not look).
    if ((error instanceof FlashDutyError && !error.ambiguous) || error instanceof ProviderError) await ctx.memory.remember(noteKey(ctx), null);
    throw error;
  }
  if (kind === 'create' && !event) {
    await ctx.memory.remember(noteKey(ctx), { kind, unnamed: true } satisfies Note);
    return findUnnamed(ctx, wanted, changes.list);
  }
  const written = newLink(ctx, wanted, event ?? { id: link!.id }, link);
  const summary = `${did(kind, wanted.status)} public event ${written.id} on ${config.STATUS_PAGE_PROVIDER} page ${wanted.page}: ${wanted.status}`;
  return finish(ctx, wanted, { kind, before: link, link: written }, summary, changes.list);
}

/**
 * A create the provider accepted without naming its event (FlashDuty: a 200 without a change_id;
 * Statuspage: a 2xx without an incident id, or one whose body cannot be read).
 * The event may well exist: as for a lost answer (resume), onNone found no open event with the
 * incident's marker before creating, so one there now is this click's, and it is linked. None: it
 * is not sent again (subscribers would be notified twice), and the incident is told it is unknown.
 */
async function findUnnamed(ctx: Ctx, wanted: Wanted, changes: Array<ComponentChange & { name: string }>): Promise<Outcome> {
  const { config } = ctx;
  ctx.log.warn('the status page accepted the create but named no event; looking for it by the incident marker', { provider: config.STATUS_PAGE_PROVIDER });
  const open = await wanted.provider.findOpen(incidentMarker(ctx));
  if (open) {
    const summary = `opened public event ${open.id} on ${config.STATUS_PAGE_PROVIDER} page ${wanted.page}: ${wanted.status} (${config.STATUS_PAGE_PROVIDER}'s answer named no event; found it on the page by the incident's marker)`;
    return finish(ctx, wanted, { kind: 'create', unnamed: true, link: newLink(ctx, wanted, open) }, summary, changes);
  }
  return {
    status: 'failed',
    summary:
      `${config.STATUS_PAGE_PROVIDER} accepted the create but named no event, and no open event on page ${wanted.page} carries the incident's marker, ` +
      'so whether it was published cannot be known, and it was not sent again (subscribers would be notified twice): check the status page, and click again if the event is missing',
    facts: [['status', wanted.status]],
    ...(config.STATUS_PAGE_PUBLIC_URL && { links: [{ label: 'status page', url: config.STATUS_PAGE_PUBLIC_URL }] }),
  };
}

/** Completes the note first (the field write may fail and be retried), then records the link and reports. */
async function finish(ctx: Ctx, wanted: Wanted, note: Note & { link: Link }, summary: string, changes: Array<ComponentChange & { name: string }>): Promise<Outcome> {
  await ctx.memory.remember(noteKey(ctx), note);
  return outcome(ctx, wanted, note.link, summary, changes, await record(ctx, note.link));
}

function componentChanges(ctx: Ctx, wanted: Wanted): { list: Array<ComponentChange & { name: string }> } | { problem: string } {
  if (wanted.status === 'resolved') return { list: wanted.components.map((c) => ({ ...c, status: 'operational' })) };
  const severity = ctx.message.payload.incident.incident_severity as string | undefined;
  const status = severity ? ctx.config.STATUS_PAGE_SEVERITY_STATUS[severity as 'Critical' | 'Warning' | 'Info'] : undefined;
  if (!status) return { problem: `the incident has no usable incident_severity (got ${JSON.stringify(severity ?? null)}), so the component status is unknown` };
  return { list: wanted.components.map((c) => ({ ...c, status })) };
}

/** Writes the link to the incident's field. A refusal is reported, not retried: the event exists. */
async function record(ctx: Ctx, link: Link): Promise<string | undefined> {
  const field = ctx.config.STATUS_PAGE_FIELD;
  try {
    await ctx.flashduty.resetField(ctx.message.payload.incident.incident_id, field, formatLink(link), ctx.signal);
    return undefined;
  } catch (error) {
    // Retryable: the retried run finds the link in this click's note and records it then.
    if (!(error instanceof FlashDutyError) || error.retryable) throw error;
    return `could not record it in custom field ${field} (${error.message}); create a text field named ${field}, or the next click cannot find this event`;
  }
}

function facts(wanted: Wanted, changes: Array<ComponentChange & { name: string }>): Array<[string, string]> {
  return [
    ['status', wanted.status],
    ...(changes.length > 0 ? [['components', changes.map((c) => `${c.name || c.id}: ${c.status}`).join(', ')] as [string, string]] : []),
    ['chosen by', wanted.why],
    ...missingFact(wanted),
  ];
}

const missingFact = (wanted: Wanted): Array<[string, string]> => (wanted.missing.length > 0 ? [['left out, no longer on the page', wanted.missing.join(', ')]] : []);

function done(ctx: Ctx, wanted: Wanted, link: Link, summary: string): Outcome {
  return outcome(ctx, { ...wanted, status: link.status }, link, summary, [], undefined);
}

function outcome(ctx: Ctx, wanted: Wanted, link: Link, summary: string, changes: Array<ComponentChange & { name: string }>, problem: string | undefined): Outcome {
  const url = link.url ?? ctx.config.STATUS_PAGE_PUBLIC_URL;
  return {
    status: problem ? 'failed' : 'succeeded',
    summary: problem ? `${summary}, but ${problem}` : summary,
    facts: [['public event', `${link.id} (${link.provider} page ${link.page})`], ...(changes.length > 0 ? facts(wanted, changes) : [['status', link.status] as [string, string], ...missingFact(wanted)])],
    ...(url && { links: [{ label: 'status page', url }] }),
  };
}
