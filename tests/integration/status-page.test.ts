import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { statusPage } from '../../lib/actions/status-page';
import type { StatusPageConfig } from '../../lib/actions/status-page/config';
import type { ActionContext, Outcome } from '../../lib/actions/types';
import { inlineSecret } from '../../lib/schema/secret';
import { actionConfig } from '../../lib/config/worker';
import { FlashDutyClient, withDeadline } from '../../lib/flashduty/client';
import { validatePayload } from '../../lib/flashduty/payload';
import { makeHttp } from '../../lib/http/outbound';
import { FlashDutyStandIn } from '../../local/flashduty-standin';
import { localStatusPage } from '../../local/status-page-standin';
import { StatuspageStandIn } from '../../local/statuspage-standin';
import { log } from '../../lib/observability';
import { formatComment } from '../../lib/actions/comment';
import { makeMemory } from '../../lib/worker/memory';
import { clickOnNewIncident } from '../fixtures/clicks';
import { closedPort, emulatedTable } from './helpers';

const APP_KEY = 'status-page-test-app-key';
const SP_KEY = 'statuspage-test-key';
const PAGE = localStatusPage();
const [WEBSITE, SEARCH, CHECKOUT] = PAGE.components.map((c) => c.component_id) as [string, string, string];
const COMPONENTS = JSON.stringify({ by_label: 'service', map: { engine: ['search'], checkout: [CHECKOUT] }, default: ['Website'] });

describe('status-page against the FlashDuty and Statuspage stand-ins', () => {
  const flashduty = new FlashDutyStandIn(APP_KEY);
  const statuspage = new StatuspageStandIn(SP_KEY);
  let flashdutyUrl: string;
  let statuspageUrl: string;
  let client: FlashDutyClient;
  let dynamodb: DynamoDBClient;
  let stopDynamo: () => Promise<void>;

  beforeAll(async () => {
    flashdutyUrl = await flashduty.start();
    statuspageUrl = await statuspage.start();
    ({ dynamodb, stop: stopDynamo } = await emulatedTable('idempotency'));
    flashduty.statusPages.pages = [PAGE];
    statuspage.pages.set('pg1', [
      { id: 'cmp0website1', name: 'Website', status: 'operational' },
      { id: 'cmp0search01', name: 'Search', status: 'operational' },
    ]);
    client = new FlashDutyClient({ baseUrl: flashdutyUrl, appKey: async () => APP_KEY, baseDelayMs: 1, attemptTimeoutMs: 2000, maxAttempts: 2 });
  });
  afterAll(async () => {
    await stopDynamo();
    await flashduty.stop();
    await statuspage.stop();
  });
  beforeEach(() => {
    flashduty.reset();
    statuspage.reset();
  });

  type Click = ReturnType<typeof clickOnNewIncident>;
  function context(click: Click, options: { env?: NodeJS.ProcessEnv; dryRun?: boolean } = {}): ActionContext<StatusPageConfig> {
    const signal = AbortSignal.timeout(20_000);
    return {
      config: actionConfig(statusPage, { STATUS_PAGE_ID: String(PAGE.page_id), STATUS_PAGE_COMPONENTS: COMPONENTS, ...options.env }),
      message: { version: 1, action: 'status-page', event_id: click.event_id!, received_at: Date.now(), payload: validatePayload(click) },
      dryRun: options.dryRun ?? false,
      log,
      flashduty: client,
      signal,
      aws: { region: 'us-east-1', endpoints: {} },
      http: makeHttp({ signal, log, baseDelayMs: 1 }),
      secret: async (ref) => inlineSecret(ref) ?? '',
      exclusive: async (_key, fn) => fn(),
      memory: makeMemory(dynamodb, 'idempotency', 'status-page'),
    };
  }
  /** A later click on the same incident, with the incident changed and a newer event_time. */
  const later = (click: Click, incident: Record<string, unknown>, overrides: Record<string, unknown> = {}): Click => ({
    ...click,
    event_id: `${click.event_id}-${Math.random().toString(36).slice(2, 8)}`,
    event_time: click.event_time + 60_000,
    ...overrides,
    incident: { ...click.incident, ...incident },
  });
  const paths = () => flashduty.calls.map((c) => c.path);
  /** The POSTs that change something (reads and lookups left out). */
  const writes = () => paths().filter((p) => ['/status-page/change/create', '/status-page/change/timeline/create', '/incident/field/reset'].includes(p));
  const changes = () => flashduty.statusPages.changes;
  const fieldOf = (click: Click) => JSON.parse(String(flashduty.fields.get(click.incident.incident_id)?.status_page_event)) as Record<string, unknown>;
  const fact = (outcome: Outcome, label: string) => outcome.facts?.find(([l]) => l === label)?.[1];
  /** An incident whose first click opened its event, and a later click on it whose payload carries the link (as FlashDuty sends it). */
  async function opened(env?: NodeJS.ProcessEnv) {
    const first = clickOnNewIncident();
    await statusPage.run(context(first, { env }));
    const fields = { ...first.incident.fields, ...flashduty.fields.get(first.incident.incident_id) };
    return (incident: Record<string, unknown>) => later(first, { ...incident, fields });
  }

  it('opens one event with its components on the first click, then records it in the incident field', async () => {
    const click = clickOnNewIncident();
    const outcome = await statusPage.run(context(click));
    expect(outcome).toMatchObject({ status: 'succeeded', summary: expect.stringContaining(`opened public event ${changes()[0]!.change_id}`) });
    expect(changes()).toHaveLength(1);
    expect(changes()[0]).toMatchObject({ status: 'investigating', title: 'Service disruption', type: 'incident' });
    expect(changes()[0]!.updates[0]!.component_changes).toEqual([{ component_id: SEARCH, status: 'full_outage' }]);
    expect(writes()).toEqual(['/status-page/change/create', '/incident/field/reset']);
    expect(fieldOf(click)).toMatchObject({ provider: 'flashduty', id: String(changes()[0]!.change_id), status: 'investigating', at: click.event_time, click: click.event_id, components: [SEARCH] });
    expect(fact(outcome, 'components')).toBe('Search: full_outage');
  });

  it('keeps internal details (host names, labels, the description) out of the public text by default', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click));
    const published = JSON.stringify(flashduty.calls.find((c) => c.path === '/status-page/change/create')!.body);
    for (const secretish of ['es.nj.01', 'cpu.idle', 'engine', 'Custom field test', click.incident.incident_id]) expect(published).not.toContain(secretish);
  });

  it('reads the link from the payload fields on the next click and adds a timeline update instead of a new event', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click));
    const fields = { ...click.incident.fields, ...flashduty.fields.get(click.incident.incident_id) };
    flashduty.calls.length = 0;
    const outcome = await statusPage.run(context(later(click, { progress: 'Processing', incident_severity: 'Warning', fields })));
    expect(outcome.summary).toContain(`updated public event ${changes()[0]!.change_id}`);
    expect(paths()).toEqual(['/status-page/change/timeline/create', '/incident/field/reset']);
    expect(changes()).toHaveLength(1);
    expect(changes()[0]!.updates.at(-1)).toMatchObject({ status: 'identified', component_changes: [{ component_id: SEARCH, status: 'partial_outage' }] });
  });

  it('asks /incident/info for the field when the payload does not carry it', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click));
    flashduty.calls.length = 0;
    await statusPage.run(context(later(click, {}), { env: { STATUS_PAGE_PROCESSING_STATUS: 'monitoring' } }));
    expect(paths()).toEqual(['/incident/info', '/status-page/change/timeline/create', '/incident/field/reset']);
    expect(changes()).toHaveLength(1);
  });

  it('resolves with every component the event touched back to operational', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click));
    await statusPage.run(context(later(click, { progress: 'Processing', labels: { service: 'checkout' } })));
    const outcome = await statusPage.run(context(later(click, { progress: 'Closed', incident_status: 'Ok' }, { event_time: click.event_time + 120_000 })));
    expect(outcome.summary).toContain('resolved public event');
    const resolve = changes()[0]!.updates.at(-1)!;
    expect(resolve.status).toBe('resolved');
    expect(resolve.component_changes).toEqual(expect.arrayContaining([{ component_id: SEARCH, status: 'operational' }, { component_id: CHECKOUT, status: 'operational' }]));
    expect(fieldOf(click)).toMatchObject({ status: 'resolved', components: expect.arrayContaining([SEARCH, CHECKOUT]) });
  });

  it('refuses to reopen a resolved event for a click older than the resolve', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click));
    await statusPage.run(context(later(click, { progress: 'Closed' })));
    flashduty.calls.length = 0;
    const stale = later(click, { progress: 'Triggered' }, { event_time: click.event_time + 1 });
    const outcome = await statusPage.run(context(stale));
    expect(outcome).toMatchObject({ status: 'failed', summary: expect.stringContaining('would reopen it') });
    expect(paths()).not.toContain('/status-page/change/timeline/create');
  });

  it('resolves component names to ids, whatever their case, and takes ids as they are', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click, { env: { STATUS_PAGE_COMPONENTS: JSON.stringify({ default: ['WEBSITE', CHECKOUT] }) } }));
    expect(changes()[0]!.updates[0]!.component_changes.map((c) => c.component_id)).toEqual([WEBSITE, CHECKOUT]);
  });

  it('fails naming the unknown component and listing the ones the page has, without publishing', async () => {
    const outcome = await statusPage.run(context(clickOnNewIncident(), { env: { STATUS_PAGE_COMPONENTS: JSON.stringify({ default: ['Payments'] }) } }));
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toContain('unknown component "Payments"');
    expect(outcome.summary).toContain(`Website (${WEBSITE}), Search (${SEARCH}), Checkout (${CHECKOUT})`);
    expect(changes()).toHaveLength(0);
  });

  it('never opens a second event when the first click is delivered again', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click));
    const again = await statusPage.run(context(click));
    expect(again.summary).toContain('this click already opened public event');
    expect(changes()).toHaveLength(1);
  });

  it('records the event on the retry when the field write was lost, without publishing again', async () => {
    const click = clickOnNewIncident();
    flashduty.intercept = ({ path }) => (path === '/incident/field/reset' ? { status: 503, body: '{"error":{"code":"ServiceUnavailable","message":"down"}}' } : undefined);
    await expect(statusPage.run(context(click))).rejects.toThrow(/ServiceUnavailable/);
    expect(changes()).toHaveLength(1);
    flashduty.intercept = undefined;
    const retried = await statusPage.run(context(click));
    expect(retried).toMatchObject({ status: 'succeeded', summary: expect.stringContaining(`this click already opened public event ${changes()[0]!.change_id}`) });
    expect(changes()).toHaveLength(1);
    expect(changes()[0]!.updates).toHaveLength(1); // the retry did not post the same update again
    expect(fieldOf(click)).toMatchObject({ id: String(changes()[0]!.change_id) });
  });

  it('records an update on the retry when its field write was lost, without posting it again (the payload link is stale)', async () => {
    const click = (await opened())({ progress: 'Processing' });
    flashduty.intercept = ({ path }) => (path === '/incident/field/reset' ? { status: 503, body: '{"error":{"code":"ServiceUnavailable","message":"down"}}' } : undefined);
    await expect(statusPage.run(context(click))).rejects.toThrow(/ServiceUnavailable/);
    flashduty.intercept = undefined;
    const retried = await statusPage.run(context(click));
    expect(changes()[0]!.updates.map((u) => u.status)).toEqual(['investigating', 'identified']);
    expect(retried).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('this click already updated public event') });
    expect(fieldOf(click)).toMatchObject({ status: 'identified', click: click.event_id });
  });

  it('does not post an update again when its answer was lost, and tells the incident it cannot know whether it was published', async () => {
    const click = (await opened())({ progress: 'Processing' });
    flashduty.intercept = ({ path }) => (path === '/status-page/change/timeline/create' ? { drop: true } : undefined);
    await expect(statusPage.run(context(click))).rejects.toThrow(/timeline\/create: network error/);
    expect(changes()[0]!.updates).toHaveLength(2); // FlashDuty applied it; only the answer was lost
    flashduty.intercept = undefined;
    const redelivered = context(click);
    const again = await statusPage.run(redelivered);
    expect(changes()[0]!.updates).toHaveLength(2);
    expect(again.status).toBe('failed');
    const comment = formatComment(redelivered.message, again);
    expect(comment).toContain(`an earlier delivery of this click sent the identified update to public event ${changes()[0]!.change_id} and got no answer`);
    expect(comment).toContain("flashduty gives no way to list an event's updates, so whether it was published cannot be known, and it was not sent again");
    expect(comment).toContain('click again if the update is missing');
  });

  it('takes a resolve whose answer was lost as done once the event is no longer open', async () => {
    const click = (await opened())({ progress: 'Closed', incident_status: 'Ok' });
    flashduty.intercept = ({ path }) => (path === '/status-page/change/timeline/create' ? { drop: true } : undefined);
    await expect(statusPage.run(context(click))).rejects.toThrow(/network error/);
    flashduty.intercept = undefined;
    const again = await statusPage.run(context(click));
    expect(changes()[0]!.updates.map((u) => u.status)).toEqual(['investigating', 'resolved']);
    expect(again).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('got no answer; the event is resolved, so nothing new was published') });
    expect(fieldOf(click)).toMatchObject({ status: 'resolved', click: click.event_id });
  });

  it('sends an update again when the first attempt never reached FlashDuty, and publishes it once', async () => {
    const click = (await opened())({ progress: 'Processing' });
    const unreachable = new FlashDutyClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, appKey: async () => APP_KEY, maxAttempts: 1 });
    const first = context(click);
    const refused = { ...withDeadline(client, first.signal), callOnce: unreachable.callOnce.bind(unreachable) };
    await expect(statusPage.run({ ...first, flashduty: refused })).rejects.toThrow(/ECONNREFUSED/);
    const retried = await statusPage.run(context(click));
    expect(retried).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('updated public event') });
    expect(changes()[0]!.updates.map((u) => u.status)).toEqual(['investigating', 'identified']);
  });

  it('links the event a first click opened when the answer to the create was lost, without opening another', async () => {
    const click = clickOnNewIncident();
    flashduty.intercept = ({ path }) => (path === '/status-page/change/create' ? { drop: true } : undefined);
    await expect(statusPage.run(context(click))).rejects.toThrow(/change\/create: network error/);
    flashduty.intercept = undefined;
    const again = await statusPage.run(context(click));
    expect(changes()).toHaveLength(1);
    expect(changes()[0]!.updates).toHaveLength(1);
    expect(again).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('was opened by an earlier delivery of this click, whose answer was lost; linked it') });
    expect(fieldOf(click)).toMatchObject({ id: String(changes()[0]!.change_id), click: click.event_id });
  });

  describe('when FlashDuty accepts the create (200) but its answer names no change_id', () => {
    const creates = () => paths().filter((p) => p === '/status-page/change/create');
    const unnamed = (handled: boolean) => (flashduty.intercept = ({ path }) => (path === '/status-page/change/create' ? { afterHandling: handled, status: 200, body: '{"request_id":"r-1","data":{}}' } : undefined));

    it('finds the event by the incident marker and links it, and a redelivery opens no other', async () => {
      const click = clickOnNewIncident();
      unnamed(true);
      const outcome = await statusPage.run(context(click));
      flashduty.intercept = undefined;
      expect(changes()).toHaveLength(1);
      const id = String(changes()[0]!.change_id);
      expect(outcome).toMatchObject({ status: 'succeeded', summary: expect.stringContaining(`opened public event ${id}`) });
      expect(outcome.summary).toContain("flashduty's answer named no event; found it on the page by the incident's marker");
      expect(fieldOf(click)).toMatchObject({ id, click: click.event_id, status: 'investigating' });
      const again = await statusPage.run(context(click));
      expect(again.summary).toContain(`this click already opened public event ${id}`);
      expect(creates()).toHaveLength(1);
    });

    it('does not say nothing was published when the page cannot be read after FlashDuty accepted the create', async () => {
      const click = clickOnNewIncident();
      let created = false;
      flashduty.intercept = ({ path }) => {
        if (path === '/status-page/change/create') {
          created = true;
          return { afterHandling: true, status: 200, body: '{"request_id":"r-1","data":{}}' };
        }
        return created && path === '/status-page/change/active/list' ? { status: 403, body: '{"request_id":"r-2","error":{"code":"AccessDenied","message":"no access"}}' } : undefined;
      };
      const outcome = await statusPage.run(context(click));
      flashduty.intercept = undefined;
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).not.toContain('nothing was published');
      expect(outcome.summary).toContain('an earlier write of this click may have been published: check the status page before clicking again');
      expect(creates()).toHaveLength(1);
    });

    it('says whether it exists is unknown when no open event carries the marker, and never sends the create again', async () => {
      const click = clickOnNewIncident();
      unnamed(false);
      const outcome = await statusPage.run(context(click));
      flashduty.intercept = undefined;
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('flashduty accepted the create but named no event');
      expect(outcome.summary).toContain('whether it was published cannot be known, and it was not sent again');
      expect(outcome.summary).not.toContain('nothing was published');
      // A delivery of the click again (a retry after a crash) looks again and still does not create.
      const again = await statusPage.run(context(click));
      expect(again).toMatchObject({ status: 'failed', summary: outcome.summary });
      expect(creates()).toHaveLength(1);
      expect(changes()).toHaveLength(0);
      expect(paths()).not.toContain('/incident/field/reset');
    });
  });

  it('moves an open but unrecorded event along when the incident has moved on', async () => {
    const click = clickOnNewIncident();
    flashduty.intercept = ({ path }) => (path === '/incident/field/reset' ? { status: 400, body: '{"error":{"code":"InvalidParameter","message":"no such field"}}' } : undefined);
    const first = await statusPage.run(context(click));
    expect(first).toMatchObject({ status: 'failed', summary: expect.stringContaining('create a text field named status_page_event') });
    flashduty.intercept = undefined;
    await statusPage.run(context(later(click, { progress: 'Processing' })));
    expect(changes()).toHaveLength(1);
    expect(changes()[0]!.updates.map((u) => u.status)).toEqual(['investigating', 'identified']);
    expect(fieldOf(click)).toMatchObject({ status: 'identified' });
  });

  it('publishes nothing new for a click on an incident whose event is already resolved', async () => {
    const click = clickOnNewIncident();
    await statusPage.run(context(click));
    await statusPage.run(context(later(click, { progress: 'Closed' })));
    const again = await statusPage.run(context(later(click, { progress: 'Closed' }, { event_time: click.event_time + 300_000 })));
    expect(again).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('is already resolved; nothing new was published') });
    expect(changes()[0]!.updates).toHaveLength(2);
  });

  it('fails clearly when FlashDuty refuses the create, and retries later when it is unavailable', async () => {
    flashduty.intercept = ({ path }) => (path === '/status-page/change/create' ? { status: 403, body: '{"error":{"code":"AccessDenied","message":"no permission"}}' } : undefined);
    const refused = await statusPage.run(context(clickOnNewIncident()));
    expect(refused).toMatchObject({ status: 'failed', summary: expect.stringContaining('AccessDenied') });
    flashduty.intercept = ({ path }) => (path === '/status-page/change/create' ? { status: 500, body: '{"error":{"code":"InternalError","message":"oops"}}' } : undefined);
    await expect(statusPage.run(context(clickOnNewIncident()))).rejects.toThrow(/InternalError/);
    expect(flashduty.calls.filter((c) => c.status === 500)).toHaveLength(1); // sent once, never blindly repeated
    expect(paths()).not.toContain('/incident/field/reset');
  });

  it('fails clearly when FlashDuty refuses to read the incident, before publishing anything', async () => {
    flashduty.intercept = ({ path }) => (path === '/incident/info' ? { status: 403, body: '{"error":{"code":"AccessDenied","message":"no permission"}}' } : undefined);
    const outcome = await statusPage.run(context(clickOnNewIncident()));
    expect(outcome).toMatchObject({ status: 'failed', summary: expect.stringContaining('FlashDuty refused a call: /incident/info: AccessDenied') });
    expect(changes()).toHaveLength(0);
  });

  it('fails naming the pages that exist when STATUS_PAGE_ID is not one of them', async () => {
    const outcome = await statusPage.run(context(clickOnNewIncident(), { env: { STATUS_PAGE_ID: '42' } }));
    expect(outcome).toMatchObject({ status: 'failed', summary: expect.stringContaining(`status page 42 is not on this FlashDuty account; pages: Local status page (${PAGE.page_id})`) });
  });

  it('describes the exact create on dry-run and publishes nothing', async () => {
    const outcome = await statusPage.run(context(clickOnNewIncident(), { dryRun: true }));
    expect(outcome.status).toBe('dry-run');
    expect(fact(outcome, 'request')).toContain('POST /status-page/change/create');
    expect(fact(outcome, 'request')).toContain(SEARCH);
    expect(changes()).toHaveLength(0);
    expect(paths()).not.toContain('/incident/field/reset');
  });

  it('fails naming the template value that is missing', async () => {
    const outcome = await statusPage.run(context(clickOnNewIncident(), { env: { STATUS_PAGE_TITLE: 'Trouble with {{ labels.region }}' } }));
    expect(outcome).toMatchObject({ status: 'failed', summary: expect.stringContaining('labels.region') });
  });

  describe('on Atlassian Statuspage', () => {
    const env = () => ({ STATUS_PAGE_PROVIDER: 'statuspage', STATUS_PAGE_ID: 'pg1', STATUS_PAGE_API_URL: statuspageUrl, STATUS_PAGE_API_KEY: SP_KEY, STATUS_PAGE_COMPONENTS: JSON.stringify({ by_label: 'service', map: { engine: ['Search'] }, default: ['Website'] }) });
    const sent = (method: string) => statuspage.calls.filter((c) => c.method === method);

    it('creates the incident, patches it on the next click and resolves it with components operational', async () => {
      const click = clickOnNewIncident();
      const created = await statusPage.run(context(click, { env: env() }));
      expect(created).toMatchObject({ status: 'succeeded', links: [{ url: 'https://stspg.io/sp0000000001' }] });
      const post = statuspage.calls.find((c) => c.method === 'POST')!;
      expect(post.body).toMatchObject({ incident: { name: 'Service disruption', status: 'investigating', component_ids: ['cmp0search01'], components: { cmp0search01: 'major_outage' } } });
      await statusPage.run(context(later(click, { progress: 'Processing' }), { env: env() }));
      await statusPage.run(context(later(click, { progress: 'Closed' }, { event_time: click.event_time + 120_000 }), { env: env() }));
      const patches = statuspage.calls.filter((c) => c.method === 'PATCH');
      expect(patches.map((p) => (p.body!.incident as { status: string }).status)).toEqual(['identified', 'resolved']);
      expect(statuspage.incidents).toHaveLength(1);
      expect(statuspage.incidents[0]).toMatchObject({ status: 'resolved', components: { cmp0search01: 'operational' } });
    });

    it('resolves the event when a component it touched was deleted from the page since, naming the one left out', async () => {
      statuspage.pages.set('pgdel', [
        { id: 'cmp0website1', name: 'Website', status: 'operational' },
        { id: 'cmp0search01', name: 'Search', status: 'operational' },
      ]);
      const page = { ...env(), STATUS_PAGE_ID: 'pgdel' };
      const click = clickOnNewIncident();
      expect((await statusPage.run(context(click, { env: page }))).status).toBe('succeeded');
      statuspage.pages.set('pgdel', [{ id: 'cmp0website1', name: 'Website', status: 'operational' }]);
      const resolved = await statusPage.run(context(later(click, { progress: 'Closed' }), { env: page }));
      expect(resolved.status).toBe('succeeded');
      expect(statuspage.incidents[0]).toMatchObject({ status: 'resolved' });
      expect(resolved.facts).toContainEqual(['left out, no longer on the page', 'cmp0search01, Search']);
      const patch = statuspage.calls.find((c) => c.method === 'PATCH')!;
      expect(patch.body).toMatchObject({ incident: { status: 'resolved' } });
      expect(JSON.stringify(patch.body)).not.toContain('cmp0search01');
    });

    it('retries later, without a second create, when Statuspage is down', async () => {
      statuspage.intercept = ({ method }) => (method === 'POST' ? { status: 503, body: '{"error":"maintenance"}' } : undefined);
      await expect(statusPage.run(context(clickOnNewIncident(), { env: env() }))).rejects.toThrow(/503/);
      expect(statuspage.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    });

    it('finds an update whose answer was lost by the click marker in its text, and does not post it again', async () => {
      const click = (await opened(env()))({ progress: 'Processing' });
      statuspage.intercept = ({ method }) => (method === 'PATCH' ? 'drop' : undefined);
      await expect(statusPage.run(context(click, { env: env() }))).rejects.toThrow(/PATCH/);
      statuspage.intercept = undefined;
      const again = await statusPage.run(context(click, { env: env() }));
      expect(statuspage.incidents[0]!.incident_updates.map((u) => u.status)).toEqual(['identified', 'investigating']);
      expect(again).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('got no answer; it is on the page, so it was not published again') });
      expect(fieldOf(click)).toMatchObject({ status: 'identified', click: click.event_id });
    });

    it('looks for an update that failed with a 503, finds none, and publishes it once', async () => {
      const click = (await opened(env()))({ progress: 'Processing' });
      statuspage.intercept = ({ method }) => (method === 'PATCH' ? { status: 503, body: '{"error":"maintenance"}' } : undefined);
      await expect(statusPage.run(context(click, { env: env() }))).rejects.toThrow(/503/);
      statuspage.intercept = undefined;
      const retried = await statusPage.run(context(click, { env: env() }));
      expect(retried).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('updated public event') });
      expect(statuspage.incidents[0]!.incident_updates.map((u) => u.status)).toEqual(['identified', 'investigating']);
    });

    describe('when the answer to an update was lost and the incident is no longer open', () => {
      it('takes a resolve as done, without sending it again', async () => {
        const click = (await opened(env()))({ progress: 'Closed', incident_status: 'Ok' });
        statuspage.intercept = ({ method }) => (method === 'PATCH' ? 'drop' : undefined);
        await expect(statusPage.run(context(click, { env: env() }))).rejects.toThrow(/PATCH/);
        statuspage.intercept = undefined;
        const again = await statusPage.run(context(click, { env: env() }));
        expect(statuspage.incidents[0]!.incident_updates.map((u) => u.status)).toEqual(['resolved', 'investigating']);
        expect(sent('PATCH')).toHaveLength(0); // the dropped PATCH is not among the answered calls
        expect(again).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('got no answer; the event is resolved, so nothing new was published') });
        expect(fieldOf(click)).toMatchObject({ status: 'resolved', click: click.event_id });
      });

      it('does not send an update that wants another status, and says whether it was published cannot be known', async () => {
        const click = (await opened(env()))({ progress: 'Processing' });
        statuspage.intercept = ({ method }) => (method === 'PATCH' ? 'drop' : undefined);
        await expect(statusPage.run(context(click, { env: env() }))).rejects.toThrow(/PATCH/);
        statuspage.intercept = undefined;
        const incident = statuspage.incidents[0]!;
        incident.status = 'resolved'; // resolved on Statuspage itself before the click is delivered again
        const redelivered = context(click, { env: env() });
        const again = await statusPage.run(redelivered);
        expect(incident.incident_updates.map((u) => u.status)).toEqual(['identified', 'investigating']);
        expect(sent('PATCH')).toHaveLength(0);
        expect(again.status).toBe('failed');
        const comment = formatComment(redelivered.message, again);
        expect(comment).toContain(`an earlier delivery of this click sent the identified update to public event ${incident.id} and got no answer`);
        expect(comment).toContain('the event is no longer open on the page, so whether it was published cannot be known, and it was not sent again');
        expect(comment).toContain('click again if the update is missing');
        expect(fieldOf(click)).toMatchObject({ id: incident.id, status: 'investigating' });
      });
    });

    describe('when Statuspage carries a write out (2xx) but its answer names no incident or cannot be read', () => {
      const answered = (method: string, status: number, body: string) => (statuspage.intercept = (call) => (call.method === method ? { afterHandling: true, status, body } : undefined));

      it.each([
        ['without an incident id', '{"name":"Service disruption"}'],
        ['with a body that is not JSON', '<html><body>Created</body></html>'],
      ])('links the incident a create answered %s opened, and a redelivery creates no other', async (_, body) => {
        const click = clickOnNewIncident();
        answered('POST', 201, body);
        const outcome = await statusPage.run(context(click, { env: env() }));
        statuspage.intercept = undefined;
        expect(statuspage.incidents).toHaveLength(1);
        const { id } = statuspage.incidents[0]!;
        expect(outcome).toMatchObject({ status: 'succeeded', summary: expect.stringContaining(`opened public event ${id} on statuspage page pg1: investigating`), links: [{ url: `https://stspg.io/${id}` }] });
        expect(outcome.summary).toContain("statuspage's answer named no event; found it on the page by the incident's marker");
        expect(fieldOf(click)).toMatchObject({ provider: 'statuspage', id, click: click.event_id, status: 'investigating' });
        const again = await statusPage.run(context(click, { env: env() }));
        expect(again.summary).toContain(`this click already opened public event ${id}`);
        expect(sent('POST')).toHaveLength(1);
        expect(statuspage.incidents).toHaveLength(1);
      });

      it('takes an update answered 200 with a body that is not JSON as published, and a redelivery does not send it again', async () => {
        const click = (await opened(env()))({ progress: 'Processing' });
        answered('PATCH', 200, 'OK');
        const outcome = await statusPage.run(context(click, { env: env() }));
        statuspage.intercept = undefined;
        const { id } = statuspage.incidents[0]!;
        expect(outcome).toMatchObject({ status: 'succeeded', summary: expect.stringContaining(`updated public event ${id} on statuspage page pg1: identified`) });
        expect(fieldOf(click)).toMatchObject({ id, status: 'identified', click: click.event_id });
        const again = await statusPage.run(context(click, { env: env() }));
        expect(again.summary).toContain(`this click already updated public event ${id}`);
        expect(sent('PATCH')).toHaveLength(1);
        expect(statuspage.incidents[0]!.incident_updates.map((u) => u.status)).toEqual(['identified', 'investigating']);
      });

      it('still fails a create Statuspage refuses (4xx), saying nothing was published', async () => {
        statuspage.intercept = ({ method }) => (method === 'POST' ? { status: 422, body: '{"error":["name can\'t be blank"]}' } : undefined);
        const outcome = await statusPage.run(context(clickOnNewIncident(), { env: env() }));
        expect(outcome).toMatchObject({ status: 'failed', summary: expect.stringContaining('Statuspage refused it') });
        expect(outcome.summary).toMatch(/nothing was published$/);
        expect(statuspage.incidents).toHaveLength(0);
      });
    });

    it('fails clearly on a wrong API key and publishes nothing', async () => {
      const outcome = await statusPage.run(context(clickOnNewIncident(), { env: { ...env(), STATUS_PAGE_API_KEY: 'wrong' } }));
      expect(outcome).toMatchObject({ status: 'failed', summary: expect.stringContaining('Statuspage refused it') });
      expect(statuspage.incidents).toHaveLength(0);
    });

    it('does not create a second incident when the first one is open but unrecorded', async () => {
      const click = clickOnNewIncident();
      flashduty.intercept = ({ path }) => (path === '/incident/field/reset' ? { status: 503, body: '{"error":{"code":"ServiceUnavailable","message":"down"}}' } : undefined);
      await expect(statusPage.run(context(click, { env: env() }))).rejects.toThrow();
      flashduty.intercept = undefined;
      await statusPage.run(context(click, { env: env() }));
      expect(statuspage.incidents).toHaveLength(1);
    });
  });
});
