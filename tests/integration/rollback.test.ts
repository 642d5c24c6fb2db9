import { createHmac } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { rollback } from '../../lib/actions/rollback';
import type { RollbackConfig } from '../../lib/actions/rollback/config';
import type { ActionContext, Memory, Outcome } from '../../lib/actions/types';
import { makeSecretReader } from '../../lib/aws/secrets';
import { actionConfig } from '../../lib/config/worker';
import { FlashDutyClient } from '../../lib/flashduty/client';
import { validatePayload } from '../../lib/flashduty/payload';
import { makeHttp } from '../../lib/http/outbound';
import { DeployStandIn } from '../../local/deploy-standin';
import { FlashDutyStandIn } from '../../local/flashduty-standin';
import { log } from '../../lib/observability';
import { clickKeyOf, type QueueMessage } from '../../lib/queue/envelope';
import { makeMemory } from '../../lib/worker/memory';
import { captureLogs } from '../fixtures/capture-logs';
import { clickWithIncident } from '../fixtures/clicks';
import { emulatedTable } from './helpers';

const APP_KEY = 'rollback-test-app-key';
const WEBHOOK_SECRET = 'whsec-test-0123456789';

/** A test where a retry looks for an unclear attempt's run: each look polls the list for about 3 s (its run may show late). */
const LOOKS_FOR_RUNS = 20_000;

describe('rollback against stand-in GitHub, GitLab, webhook and FlashDuty servers', () => {
  const platform = new DeployStandIn();
  const flashdutyStandIn = new FlashDutyStandIn(APP_KEY);
  let origin: string;
  let flashduty: FlashDutyClient;
  let dynamodb: DynamoDBClient;
  let stopDynamo: () => Promise<void>;

  beforeAll(async () => {
    origin = await platform.start();
    flashduty = new FlashDutyClient({ baseUrl: await flashdutyStandIn.start(), appKey: async () => APP_KEY, baseDelayMs: 10, attemptTimeoutMs: 1000 });
    ({ dynamodb, stop: stopDynamo } = await emulatedTable('memory'));
  });
  afterAll(async () => {
    await stopDynamo();
    await platform.stop();
    await flashdutyStandIn.stop();
  });
  beforeEach(() => {
    platform.reset();
    flashdutyStandIn.reset();
    platform.webhookSecret = WEBHOOK_SECRET;
  });

  const github = (extra: Record<string, unknown> = {}) => ({
    provider: 'github',
    name: 'shop rollback',
    match: { service: 'engine' },
    repo: 'acme/shop',
    workflow: 'rollback.yml',
    ref: 'main',
    // The stand-in workflow's run-name shows the click input, so a run can be told to be this click's.
    inputs: { service: '{{ labels.service }}', incident: '{{ incident.incident_id }}', click: '{{ click_key }}' },
    api_url: `${origin}/github`,
    token: platform.githubToken,
    timeout_seconds: 1,
    ...extra,
  });
  const gitlab = (extra: Record<string, unknown> = {}) => ({
    provider: 'gitlab',
    match: { service: 'engine' },
    project: 'acme/shop',
    ref: 'production',
    // The click variable lets a pipeline whose trigger answer was lost be told to be this click's.
    variables: { SERVICE: '{{ labels.service }}', INCIDENT: '{{ incident.incident_id }}', CLICK: '{{ click_key }}' },
    api_url: `${origin}/gitlab`,
    token: platform.gitlabTriggerToken,
    read_token: platform.gitlabReadToken,
    timeout_seconds: 1,
    ...extra,
  });
  const webhook = (extra: Record<string, unknown> = {}) => ({
    provider: 'webhook',
    match: { service: 'engine' },
    url: `${origin}/hook/deploys/rollback`,
    body: { service: '{{ labels.service }}', incident: '{{ incident.incident_id }}', by: '{{ person.email }}' },
    secret: WEBHOOK_SECRET,
    timeout_seconds: 1,
    ...extra,
  });

  let eventSeq = 0;
  interface Options {
    targets?: unknown[];
    env?: NodeJS.ProcessEnv;
    dryRun?: boolean;
    eventId?: string;
    incidentId?: string;
    labels?: Record<string, string>;
    alerts?: unknown[];
    person?: unknown;
    memory?: Memory;
  }
  function context(options: Options = {}): ActionContext<RollbackConfig> {
    const changes: Record<string, unknown> = { labels: options.labels ?? { service: 'engine', env: 'prod' } };
    if (options.alerts) changes.alerts = options.alerts;
    if (options.incidentId) changes.incident_id = options.incidentId;
    const click = clickWithIncident(changes, options.person === undefined ? {} : { person: options.person });
    const payload = validatePayload(click);
    const message: QueueMessage = { version: 1, action: 'rollback', event_id: options.eventId ?? `rb-${process.pid}-${++eventSeq}`, received_at: Date.now(), payload };
    const signal = AbortSignal.timeout(30_000);
    return {
      config: actionConfig(rollback, {
        ROLLBACK_TARGETS: JSON.stringify(options.targets ?? [github()]),
        FLASHDUTY_CHANGE_INTEGRATION_KEY: flashdutyStandIn.changeIntegrationKey,
        ...options.env,
      }),
      message,
      dryRun: options.dryRun ?? false,
      log,
      flashduty,
      signal,
      aws: { region: 'us-east-1', endpoints: {} },
      http: makeHttp({ signal, log, baseDelayMs: 10 }),
      secret: makeSecretReader({ region: 'us-east-1', maxAgeSeconds: 0 }),
      exclusive: async (_key, fn) => fn(),
      memory: options.memory ?? makeMemory(dynamodb, 'memory', 'rollback'),
    };
  }
  const fact = (outcome: Outcome, label: string) => outcome.facts?.find(([l]) => l === label)?.[1];
  const dispatches = () => platform.dispatches();

  /**
   * Click B's first dispatch gets no answer (and starts nothing); click A dispatches to the same
   * target, so on the same ref, meanwhile. B's dispatch sent again gets `resent` (undefined: an
   * answer as usual).
   */
  async function lostAnswerBesideAnotherClick(target: unknown, resent?: 'hang-after') {
    const targets = [target];
    const [a, b] = [context({ targets }), context({ targets })];
    let clickA: Promise<Outcome> | undefined;
    platform.intercept = ({ method, attempt }) => {
      if (method !== 'POST') return undefined;
      if (attempt === 1) {
        clickA = rollback.run(a);
        return 'hang';
      }
      return attempt === 3 ? resent : undefined;
    };
    const outcomeB = await rollback.run(b);
    return { a, b, outcomeA: await clickA!, outcomeB };
  }

  describe('GitHub Actions', () => {
    it('dispatches the configured workflow with Bearer auth, the API version and return_run_details, and links the run it answers with', async () => {
      const ctx = context();
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('succeeded');
      const [call] = dispatches();
      expect(call).toMatchObject({ method: 'POST', path: '/github/repos/acme/shop/actions/workflows/rollback.yml/dispatches', status: 200 });
      expect(call!.headers).toMatchObject({ authorization: `Bearer ${platform.githubToken}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });
      expect(JSON.parse(call!.body)).toEqual({
        ref: 'main',
        inputs: { service: 'engine', incident: ctx.message.payload.incident.incident_id, click: clickKeyOf(ctx.message) },
        return_run_details: true,
      });
      const [run] = platform.runs;
      expect(fact(outcome, 'run id')).toBe(String(run!.id));
      expect(outcome.links).toEqual([{ label: 'run', url: run!.html_url }]);
      expect(fact(outcome, 'provider')).toBe('github');
      expect(fact(outcome, 'target')).toBe('shop rollback');
      expect(fact(outcome, 'workflow')).toBe('acme/shop rollback.yml');
      expect(fact(outcome, 'ref')).toBe('main');
    });

    it('on a server without return_run_details (older GHE: 400 naming the field) dispatches without it and finds the run among workflow_dispatch runs since', async () => {
      platform.runDetails = false;
      const outcome = await rollback.run(context());
      expect(outcome.status).toBe('succeeded');
      const posts = dispatches();
      expect(posts.map((c) => c.status)).toEqual([400, 204]);
      expect(JSON.parse(posts[1]!.body)).not.toHaveProperty('return_run_details');
      const list = platform.calls.find((c) => c.method === 'GET');
      expect(list!.path).toBe('/github/repos/acme/shop/actions/workflows/rollback.yml/runs');
      expect(list!.query.get('event')).toBe('workflow_dispatch');
      expect(list!.query.get('created')).toMatch(/^>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(fact(outcome, 'run id')).toBe(String(platform.runs[0]!.id));
      expect(outcome.links?.[0]?.url).toBe(platform.runs[0]!.html_url);
    });

    it.each([
      [401, 'Bad credentials', /needs the "actions: write" permission on acme\/shop/],
      [403, 'Resource not accessible by personal access token', /needs the "actions: write" permission/],
      [404, 'Not Found', /repository acme\/shop or workflow rollback.yml not found/],
      [422, 'No ref found for: nope', /refused the ref or inputs with HTTP 422 \(No ref found for: nope\)/],
      [403, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', /HTTP 403 for its rate limit \(You have exceeded a secondary rate limit.*\): wait a few minutes, then click again/],
    ])('turns HTTP %i into a failed outcome that says what to fix, without retrying', async (status, message, expected) => {
      platform.intercept = ({ method }) => (method === 'POST' ? { status, body: { message } } : undefined);
      const outcome = await rollback.run(context());
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(expected);
      expect(outcome.summary).toContain(message);
      expect(outcome.summary).toContain('nothing was rolled back');
      expect(dispatches()).toHaveLength(1);
    });

    it('reports a refused input with GitHub\'s own message', async () => {
      const outcome = await rollback.run(context({ targets: [github({ inputs: { unknown_input: 'x' } })] }));
      expect(outcome.summary).toContain('Unexpected inputs provided: ["unknown_input"]');
    });

    it('retries 503 and 429 a bounded number of times, then dispatches once', async () => {
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt <= 2 ? { status: attempt === 1 ? 503 : 429, body: { message: 'busy' } } : undefined);
      const outcome = await rollback.run(context());
      expect(outcome.status).toBe('succeeded');
      expect(dispatches().map((c) => c.status)).toEqual([503, 429, 200]);
      expect(platform.runs).toHaveLength(1);
    }, LOOKS_FOR_RUNS);

    it('gives up after three failing attempts by throwing, so the worker retries later', async () => {
      platform.intercept = ({ method }) => (method === 'POST' ? { status: 502, body: { message: 'bad gateway' } } : undefined);
      await expect(rollback.run(context())).rejects.toThrow(/HTTP 502/);
      expect(dispatches()).toHaveLength(3);
    }, LOOKS_FOR_RUNS);

    it('on a server without return_run_details, names no run when no input carries the click key', async () => {
      platform.runDetails = false;
      const outcome = await rollback.run(context({ targets: [github({ inputs: { service: '{{ labels.service }}' } })] }));
      expect(outcome.status).toBe('succeeded');
      expect(platform.runs).toHaveLength(1);
      expect(fact(outcome, 'run id')).toBeUndefined();
      expect(fact(outcome, 'status')).toBe('dispatched (HTTP 204); GitHub did not name the run and no input carries the click key to find it by');
    });

    it("after a lost answer, never takes another click's run on the same ref for its own", async () => {
      const { b, outcomeA, outcomeB } = await lostAnswerBesideAnotherClick(github());
      expect(platform.runs).toHaveLength(2);
      const [runA, runB] = platform.runs;
      expect(fact(outcomeA, 'run id')).toBe(String(runA!.id));
      expect(outcomeB.status).toBe('succeeded');
      expect(fact(outcomeB, 'run id')).toBe(String(runB!.id));
      expect(runB!.display_title).toBe(`Rollback ${clickKeyOf(b.message)}`);
    }, LOOKS_FOR_RUNS);

    it('after a lost answer, when no input carries the click key, says the outcome is unknown and does not send again', async () => {
      const { outcomeA, outcomeB } = await lostAnswerBesideAnotherClick(github({ inputs: { service: '{{ labels.service }}' } }));
      expect(fact(outcomeA, 'run id')).toBe(String(platform.runs[0]!.id));
      expect(platform.runs).toHaveLength(1);
      expect(dispatches()).toHaveLength(2);
      expect(outcomeB.status).toBe('failed');
      expect(fact(outcomeB, 'run id')).toBeUndefined();
      expect(outcomeB.summary).toContain('whether the rollback started is unknown');
      expect(outcomeB.summary).not.toContain('nothing was rolled back');
    });

    it('after a lost answer, finds its run when GitHub lists it a few seconds late, instead of dispatching again', async () => {
      platform.listLagMs = 2500;
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt === 1 ? 'hang-after' : undefined);
      const outcome = await rollback.run(context());
      expect(outcome.status).toBe('succeeded');
      expect(platform.runs).toHaveLength(1);
      expect(fact(outcome, 'run id')).toBe(String(platform.runs[0]!.id));
    }, LOOKS_FOR_RUNS);

    it("after a lost answer, when the workflow's run-name does not show the click key, says the outcome is unknown and does not dispatch again", async () => {
      platform.runNames.clear(); // runs are titled with the workflow's name
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt === 1 ? 'hang-after' : undefined);
      const outcome = await rollback.run(context());
      expect(platform.runs).toHaveLength(1);
      expect(dispatches()).toHaveLength(1);
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('whether the rollback started is unknown');
      expect(outcome.summary).toContain("its title does not show a click key as a word of its own");
    }, LOOKS_FOR_RUNS);

    it("after a lost answer, when the run-name runs the click key into other text, says the outcome is unknown and does not dispatch again", async () => {
      platform.runNames.set('acme/shop/rollback.yml', 'Rollback ${{ inputs.click }}, by FlashDuty');
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt === 1 ? 'hang-after' : undefined);
      const outcome = await rollback.run(context());
      expect(platform.runs[0]!.display_title).toMatch(/^Rollback rollback\/\S+, by FlashDuty$/);
      expect(dispatches()).toHaveLength(1);
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('its title does not show a click key as a word of its own');
    }, LOOKS_FOR_RUNS);

    it('after a lost answer, beside a run started by hand, keeps looking until its own run is listed', async () => {
      const ctx = context();
      // A run started by hand on the ref, listed at once, its title showing no click key.
      await fetch(`${origin}/github/repos/acme/shop/actions/workflows/rollback.yml/dispatches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.githubToken}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
        body: JSON.stringify({ ref: 'main', inputs: { service: 'engine', incident: 'by hand', click: '' } }),
      });
      platform.listLagMs = 3500; // this click's run is listed only after the first looks
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt === 2 ? 'hang-after' : undefined);
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('succeeded');
      const ours = platform.runs.find((run) => run.inputs.click === clickKeyOf(ctx.message));
      expect(fact(outcome, 'run id')).toBe(String(ours!.id));
      expect(dispatches()).toHaveLength(2); // the one by hand, and this click's once
    }, LOOKS_FOR_RUNS);

    const crashedMidDispatch = async () => {
      const ctx = context();
      await ctx.memory.remember(`dispatch#${clickKeyOf(ctx.message)}`, { provider: 'github', since: Date.now() - 1000 });
      return ctx;
    };

    it('after a crash mid-dispatch, on a ref with a full page of other clicks\' runs, says it cannot tell instead of dispatching again', async () => {
      const ctx = await crashedMidDispatch();
      for (let i = 0; i < 30; i++) {
        const inputs = { service: 'engine', incident: ctx.message.payload.incident.incident_id, click: `rollback/${ctx.message.payload.incident.incident_id}/other-${i}` };
        await fetch(`${origin}/github/repos/acme/shop/actions/workflows/rollback.yml/dispatches`, {
          method: 'POST',
          headers: { authorization: `Bearer ${platform.githubToken}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
          body: JSON.stringify({ ref: 'main', inputs }),
        });
      }
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('whether the rollback started is unknown');
      expect(dispatches()).toHaveLength(30);
    });

    it('after a crash mid-dispatch, when the token may not list runs (401), says it cannot tell instead of failing until the dead-letter queue', async () => {
      const ctx = await crashedMidDispatch();
      platform.intercept = ({ method }) => (method === 'GET' ? { status: 401, body: { message: 'Bad credentials' } } : undefined);
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('the run list (GET …/runs: does the token have actions: read?) was refused with HTTP 401');
      expect(outcome.summary).not.toContain('run-name');
      expect(outcome.summary).toContain('whether the rollback started is unknown');
      expect(dispatches()).toHaveLength(0);
    });

    it('when the dispatch times out, finds the run it started instead of dispatching again', async () => {
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt === 1 ? 'hang-after' : undefined);
      const outcome = await rollback.run(context());
      expect(outcome.status).toBe('succeeded');
      expect(platform.runs).toHaveLength(1);
      expect(dispatches()).toHaveLength(1);
      expect(fact(outcome, 'run id')).toBe(String(platform.runs[0]!.id));
    });
    it.each([
      ['fails with 503s', { status: 503, body: { message: 'unavailable' } }],
      ['answers an HTML page', { status: 200, html: '<html>Sign in to the proxy</html>' }],
    ])('after a 204, when the run list %s, reports the dispatch and never sends it again', async (_, listAnswer) => {
      platform.runDetails = false;
      platform.intercept = ({ method }) => (method === 'GET' ? listAnswer : undefined);
      const outcome = await rollback.run(context());
      expect(dispatches().map((c) => c.status)).toEqual([400, 204]);
      expect(platform.runs).toHaveLength(1);
      expect(outcome.status).toBe('succeeded');
      expect(fact(outcome, 'status')).toMatch(/^dispatched; GitHub did not name the run, and looking for it in the run list failed \(OutboundError: /);
    });

    it('when a retry after a lost answer is refused, says the rollback may have started, not that nothing was rolled back', async () => {
      platform.listLagMs = 10_000; // the lost attempt's run is not listed yet when the retry looks
      const limited = { status: 403, body: { message: 'You have exceeded a secondary rate limit.' } };
      platform.intercept = ({ method, attempt }) => (method !== 'POST' ? undefined : attempt === 1 ? 'hang-after' : limited);
      const outcome = await rollback.run(context());
      expect(platform.runs).toHaveLength(1);
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(/^an earlier attempt got no answer and may have started it, and sending it again was refused: GitHub refused the dispatch with HTTP 403 for its rate limit/);
      expect(outcome.summary).toMatch(/whether the rollback started is unknown: look at the platform's runs before clicking again$/);
      expect(outcome.summary).not.toContain('nothing was rolled back');
    }, LOOKS_FOR_RUNS);
  });

  describe('GitLab CI', () => {
    it('triggers the pipeline with the token, the configured ref and variables[KEY]=value, and links its web_url', async () => {
      const ctx = context({ targets: [gitlab()] });
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('succeeded');
      const [call] = dispatches();
      expect(call).toMatchObject({ method: 'POST', path: '/gitlab/projects/acme%2Fshop/trigger/pipeline', status: 201 });
      expect(call!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect([...new URLSearchParams(call!.body)]).toEqual([
        ['token', platform.gitlabTriggerToken],
        ['ref', 'production'],
        ['variables[SERVICE]', 'engine'],
        ['variables[INCIDENT]', ctx.message.payload.incident.incident_id],
        ['variables[CLICK]', clickKeyOf(ctx.message)],
      ]);
      expect(outcome.links).toEqual([{ label: 'run', url: platform.pipelines[0]!.web_url }]);
      expect(fact(outcome, 'pipeline')).toBe('acme/shop (trigger)');
    });

    it.each([
      [{ token: 'wrong-trigger-token' }, /project acme\/shop not found, or the trigger token does not belong to it/],
      [{ project: 'acme/gone' }, /project acme\/gone not found/],
      [{ ref: 'no-such-branch' }, /refused the ref or variables with HTTP 400 \(\{"base":\["Reference not found"\]\}\)/],
    ])('turns a refusal (%o) into a failed outcome with GitLab\'s message', async (change, expected) => {
      const outcome = await rollback.run(context({ targets: [gitlab(change)] }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(expected);
    });

    it('when GitLab accepts the trigger (201) with an answer it cannot read, reports the pipeline triggered and does not trigger again', async () => {
      platform.intercept = ({ method }) => (method === 'POST' ? 'html-after' : undefined);
      const outcome = await rollback.run(context({ targets: [gitlab()] }));
      expect(outcome.status).toBe('succeeded');
      expect(platform.pipelines).toHaveLength(1);
      expect(dispatches()).toHaveLength(1);
      expect(fact(outcome, 'status')).toBe("triggered (HTTP 201); GitLab's answer could not be read");
    });

    it('names the trigger token when GitLab answers 401 or 403', async () => {
      platform.intercept = ({ method }) => (method === 'POST' ? { status: 403, body: { message: '403 Forbidden' } } : undefined);
      const outcome = await rollback.run(context({ targets: [gitlab()] }));
      expect(outcome.summary).toMatch(/GitLab refused the pipeline trigger token with HTTP 403 \(403 Forbidden\)/);
    });

    it('when the trigger times out, finds the pipeline by ref with the read token instead of triggering again', async () => {
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt === 1 ? 'hang-after' : undefined);
      const outcome = await rollback.run(context({ targets: [gitlab()] }));
      expect(outcome.status).toBe('succeeded');
      expect(platform.pipelines).toHaveLength(1);
      const [list, variables] = platform.calls.filter((c) => c.method === 'GET');
      expect(list!.query.get('ref')).toBe('production');
      expect(variables!.path).toBe(`/gitlab/projects/acme%2Fshop/pipelines/${platform.pipelines[0]!.id}/variables`);
      for (const call of [list!, variables!]) expect(call.headers['private-token']).toBe(platform.gitlabReadToken);
      expect(outcome.links?.[0]?.url).toBe(platform.pipelines[0]!.web_url);
    });

    it("after a lost answer, never takes another click's pipeline on the same ref for its own: sends again when its own never started", async () => {
      const { b, outcomeA, outcomeB } = await lostAnswerBesideAnotherClick(gitlab());
      expect(platform.pipelines).toHaveLength(2);
      const [pipelineA, pipelineB] = platform.pipelines;
      expect(fact(outcomeA, 'run id')).toBe(String(pipelineA!.id));
      expect(outcomeB.status).toBe('succeeded');
      expect(fact(outcomeB, 'run id')).toBe(String(pipelineB!.id));
      expect(pipelineB!.variables.CLICK).toBe(clickKeyOf(b.message));
    }, LOOKS_FOR_RUNS);

    it("after a lost answer, takes its own pipeline, not another click's older one on the same ref", async () => {
      const { outcomeA, outcomeB } = await lostAnswerBesideAnotherClick(gitlab(), 'hang-after');
      expect(platform.pipelines).toHaveLength(2);
      const [pipelineA, pipelineB] = platform.pipelines;
      expect(fact(outcomeA, 'run id')).toBe(String(pipelineA!.id));
      expect(dispatches()).toHaveLength(3);
      expect(outcomeB.status).toBe('succeeded');
      expect(fact(outcomeB, 'run id')).toBe(String(pipelineB!.id));
      expect(outcomeB.links).toEqual([{ label: 'run', url: pipelineB!.web_url }]);
    }, LOOKS_FOR_RUNS + 10_000); // two attempts time out (1 s each) with backoff (1 s, then 2 s) between them

    it('after a lost answer, when no variable carries the click key, says the outcome is unknown and does not send again', async () => {
      const { outcomeA, outcomeB } = await lostAnswerBesideAnotherClick(gitlab({ variables: { SERVICE: '{{ labels.service }}' } }));
      expect(fact(outcomeA, 'run id')).toBe(String(platform.pipelines[0]!.id));
      expect(platform.pipelines).toHaveLength(1);
      expect(dispatches()).toHaveLength(2);
      expect(outcomeB.status).toBe('failed');
      expect(fact(outcomeB, 'run id')).toBeUndefined();
      expect(outcomeB.summary).toContain('pass {{ click_key }} in a variable');
      expect(outcomeB.summary).toContain('whether the rollback started is unknown');
    });

    it('after a crash mid-trigger, looks at no more than 10 pipelines on a busy ref, then says it cannot tell instead of sending again', async () => {
      const ctx = context({ targets: [gitlab()] });
      await ctx.memory.remember(`dispatch#${clickKeyOf(ctx.message)}`, { provider: 'gitlab', since: Date.now() - 1000 });
      for (let i = 0; i < 11; i++) {
        const form = new URLSearchParams({ token: platform.gitlabTriggerToken, ref: 'production', 'variables[CLICK]': `rollback/other/${i}` });
        await fetch(`${origin}/gitlab/projects/acme%2Fshop/trigger/pipeline`, { method: 'POST', body: form });
      }
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('whether the rollback started is unknown');
      expect(platform.calls.filter((c) => c.path.endsWith('/variables'))).toHaveLength(10);
      expect(dispatches()).toHaveLength(11);
    });

    it('when the read token may not see pipeline variables (403), says it cannot tell instead of failing or sending again', async () => {
      platform.intercept = ({ method, path, attempt }) =>
        method === 'POST' && attempt === 1 ? 'hang-after' : path.endsWith('/variables') ? { status: 403, body: { message: '403 Forbidden' } } : undefined;
      const outcome = await rollback.run(context({ targets: [gitlab()] }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('whether the rollback started is unknown');
      expect(outcome.summary).toContain('a Maintainer');
      expect(dispatches()).toHaveLength(1);
    });

    it('without a read token, does not trigger again after a timeout and says it cannot tell', async () => {
      platform.intercept = ({ method, attempt }) => (method === 'POST' && attempt === 1 ? 'hang-after' : undefined);
      const outcome = await rollback.run(context({ targets: [gitlab({ read_token: undefined })] }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('set read_token');
      expect(dispatches()).toHaveLength(1);
    });
  });

  describe('a platform error that echoes a secret', () => {
    it.each([
      ['GitLab echoes the trigger token from the form', () => gitlab(), () => platform.gitlabTriggerToken, (call: { body: string }) => new URLSearchParams(call.body).get('token')],
      ['GitHub echoes the token without "Bearer"', () => github(), () => platform.githubToken, (call: { headers: Record<string, string> }) => call.headers.authorization!.slice(7)],
    ])('keeps the token out of a refusal when %s', async (_what, target, token, echoed) => {
      platform.intercept = (call) => (call.method === 'POST' ? { status: 401, body: { message: `token ${echoed(call)} is not valid` } } : undefined);
      const outcome = await rollback.run(context({ targets: [target()] }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('(token *** is not valid)');
      expect(JSON.stringify(outcome)).not.toContain(token());
    });

    it('keeps the trigger token out of the error and the logs when GitLab keeps failing with a 5xx that echoes it', async () => {
      platform.intercept = (call) => (call.method === 'POST' ? { status: 502, body: { message: `upstream got token=${new URLSearchParams(call.body).get('token')}` } } : undefined);
      let error: Error | undefined;
      const logged = await captureLogs(async () => {
        error = await rollback.run(context({ targets: [gitlab()] })).then(() => undefined, (e: unknown) => e as Error);
      });
      expect(error?.message).toContain('answered HTTP 502: upstream got token=***');
      expect(logged.filter((line) => line.includes('upstream got token=***'))).toHaveLength(2);
      expect([error?.message, ...logged].join('\n')).not.toContain(platform.gitlabTriggerToken);
      expect(dispatches()).toHaveLength(3);
    }, LOOKS_FOR_RUNS);
  });

  describe('generic webhook', () => {
    it('sends the rendered body with the delivery id and a signature the receiver verifies with the documented scheme', async () => {
      const ctx = context({ targets: [webhook()] });
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('succeeded');
      const [call] = dispatches();
      expect(call).toMatchObject({ method: 'POST', path: '/hook/deploys/rollback', status: 202 });
      expect(JSON.parse(call!.body)).toEqual({ service: 'engine', incident: ctx.message.payload.incident.incident_id, by: 'zhangsan@toutie.com' });
      expect(call!.headers['x-flashduty-actions-delivery']).toBe(clickKeyOf(ctx.message));
      // The README's verification, done here independently of the code under test.
      const timestamp = call!.headers['x-flashduty-actions-timestamp']!;
      const expected = `v1=${createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${call!.body}`).digest('hex')}`;
      expect(call!.headers['x-flashduty-actions-signature']).toBe(expected);
      expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
      expect(outcome.links?.[0]?.url).toContain(`/hook-web/deploys/${clickKeyOf(ctx.message)}`);
    });

    it('is refused by the receiver when signed with another secret, and says to check the secret', async () => {
      const outcome = await rollback.run(context({ targets: [webhook({ secret: 'some-other-secret' })] }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(/refused the request with HTTP 401 \(bad signature\): check the shared secret/);
    });

    it('after a timeout sends again with the same delivery id, for the receiver to dedupe', async () => {
      platform.intercept = ({ attempt }) => (attempt === 1 ? 'hang-after' : undefined);
      const ctx = context({ targets: [webhook()] });
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('succeeded');
      const ids = dispatches().map((c) => c.headers['x-flashduty-actions-delivery']);
      expect(ids).toEqual([clickKeyOf(ctx.message), clickKeyOf(ctx.message)]);
    });
  });

  describe('choosing the target', () => {
    const targets = () => [
      github({ name: 'payments', match: { service: ['payments', 'billing'] } }),
      gitlab({ name: 'engine in prod', match: { service: 'engine', env: 'prod' } }),
      webhook({ name: 'anything else', match: {} }),
    ];

    it('takes the first target whose match fits the incident labels (a value, or one of a list)', async () => {
      expect(fact(await rollback.run(context({ targets: targets(), labels: { service: 'billing' } })), 'target')).toBe('payments');
      expect(fact(await rollback.run(context({ targets: targets(), labels: { service: 'engine', env: 'prod' } })), 'target')).toBe('engine in prod');
      expect(fact(await rollback.run(context({ targets: targets(), labels: { service: 'engine', env: 'staging' } })), 'target')).toBe('anything else');
    });

    it("falls back to the alerts' labels for keys the incident lacks", async () => {
      const [alert] = clickWithIncident({}).incident.alerts!;
      const alerts = [{ ...alert, labels: { env: 'prod' } }];
      const outcome = await rollback.run(context({ targets: targets(), labels: { service: 'engine' }, alerts }));
      expect(fact(outcome, 'target')).toBe('engine in prod');
    });

    it('fetches the alerts from FlashDuty when the payload carries none', async () => {
      await rollback.run(context({ targets: targets(), labels: { service: 'engine' }, alerts: [] }));
      expect(flashdutyStandIn.calls.map((c) => c.path)).toContain('/incident/alert/list');
    });

    it('fails, listing the labels it looked at, when no target matches', async () => {
      const outcome = await rollback.run(context({ targets: [github()], labels: { service: 'search', cluster: 'nj' } }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toBe('no target in ROLLBACK_TARGETS matches this incident; nothing was rolled back');
      expect(fact(outcome, 'labels looked at')).toContain('service=search');
      expect(fact(outcome, 'labels looked at')).toContain('cluster=nj');
      expect(dispatches()).toHaveLength(0);
    });

    it('fails naming the missing label when an input needs one the incident lacks', async () => {
      const outcome = await rollback.run(context({ targets: [github({ match: {}, inputs: { service: '{{ labels.app }}' } })] }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('labels.app');
      expect(dispatches()).toHaveLength(0);
    });

    it('a hostile label value can neither choose another repository, project or ref nor add an input or variable', async () => {
      const hostile = fc.oneof(
        fc.constantFrom('../../evil/repo', 'main","inputs":{"x":"y"}', 'x&ref=evil&variables[PWN]=1', '%2e%2e/evil', 'a\r\nX-Evil: 1', 'x/../../../repos/evil/x'),
        fc.string({ maxLength: 40 }),
      );
      await fc.assert(
        fc.asyncProperty(hostile, async (value) => {
          platform.reset();
          platform.workflows.set('acme/shop/rollback.yml', ['service', 'incident', 'click']);
          const labels = { service: 'engine', env: 'prod', app: value };
          const inputs = { service: '{{ labels.app }}', incident: '{{ incident.incident_id }}' };
          const variables = { SERVICE: '{{ labels.app }}' };
          await rollback.run(context({ targets: [github({ inputs })], labels }));
          await rollback.run(context({ targets: [gitlab({ variables })], labels }));
          const [gh, gl] = dispatches();
          expect(gh!.path).toBe('/github/repos/acme/shop/actions/workflows/rollback.yml/dispatches');
          expect(JSON.parse(gh!.body)).toEqual({ ref: 'main', inputs: { service: value, incident: expect.any(String) }, return_run_details: true });
          expect(gl!.path).toBe('/gitlab/projects/acme%2Fshop/trigger/pipeline');
          const form = [...new URLSearchParams(gl!.body)];
          expect(form).toEqual([['token', platform.gitlabTriggerToken], ['ref', 'production'], ['variables[SERVICE]', value]]);
        }),
        { numRuns: 15 },
      );
    });
  });

  describe('never twice', () => {
    it('a redelivered click reports the recorded run and does not dispatch again', async () => {
      const eventId = `redelivered-${Date.now()}`;
      const first = await rollback.run(context({ eventId }));
      const second = await rollback.run(context({ eventId }));
      expect(dispatches()).toHaveLength(1);
      expect(second.status).toBe('succeeded');
      expect(second.summary).toContain('already started for this click (not started again)');
      expect(fact(second, 'run id')).toBe(fact(first, 'run id'));
      expect(second.links).toEqual(first.links);
    });

    it('a click on another incident that reuses the event id is another click: it rolls back and gets its own change record', async () => {
      const eventId = `reused-${Date.now()}`;
      const first = await rollback.run(context({ eventId, incidentId: 'aaaaaaaaaaaaaaaaaaaaaaa1' }));
      const second = await rollback.run(context({ eventId, incidentId: 'aaaaaaaaaaaaaaaaaaaaaaa2' }));
      expect(dispatches()).toHaveLength(2);
      expect(platform.runs).toHaveLength(2);
      expect(second.summary).toMatch(/^started the rollback/);
      expect(fact(second, 'run id')).not.toBe(fact(first, 'run id'));
      const changes = flashdutyStandIn.changes();
      expect(changes.map((c) => c.change_key)).toEqual([`rollback/aaaaaaaaaaaaaaaaaaaaaaa1/${eventId}`, `rollback/aaaaaaaaaaaaaaaaaaaaaaa2/${eventId}`]);
      expect(changes.map((c) => (c.labels as Record<string, string>).incident_id)).toEqual(['aaaaaaaaaaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaaaaaaaaaa2']);
    });

    it('a delivery after a dispatch whose record failed, with the targets changed since, says the rollback may be running and keeps its run of the budget', async () => {
      const memory = makeMemory(dynamodb, 'memory', 'rollback');
      let writes = 0;
      const recordFails: Memory = { recall: (key) => memory.recall(key), remember: async (key, value) => (++writes === 2 ? Promise.reject(new Error('ProvisionedThroughputExceededException')) : memory.remember(key, value)) };
      const eventId = `rb-record-${process.pid}`;
      await expect(rollback.run(context({ eventId, memory: recordFails }))).rejects.toThrow(/ProvisionedThroughput/);
      expect(platform.runs).toHaveLength(1);
      // Redeployed meanwhile: no target matches the incident any more.
      const retried = await rollback.run(context({ eventId, targets: [github({ match: { service: 'engine-v2' } })] }));
      expect(retried.status).toBe('failed');
      expect(retried.summary).toBe("no target in ROLLBACK_TARGETS matches this incident, but an earlier delivery of this click already sent the dispatch, and whether the rollback started is unknown: look at the platform's runs before clicking again");
      expect(retried.untouched).toBeUndefined();
      expect(platform.runs).toHaveLength(1);
    });

    it('a delivery after a crash between dispatch and record finds the run instead of dispatching again', async () => {
      const ctx = context();
      // The crashed delivery: it noted the attempt, the run started, and no answer was recorded.
      await ctx.memory.remember(`dispatch#${clickKeyOf(ctx.message)}`, { provider: 'github', since: Date.now() - 1000 });
      await fetch(`${origin}/github/repos/acme/shop/actions/workflows/rollback.yml/dispatches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.githubToken}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
        body: JSON.stringify({ ref: 'main', inputs: { click: clickKeyOf(ctx.message) } }),
      });
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe('succeeded');
      expect(platform.runs).toHaveLength(1);
      expect(fact(outcome, 'run id')).toBe(String(platform.runs[0]!.id));
    });
    it.each([
      ['webhook', () => webhook(), 1, 'succeeded'],
      ['gitlab without a read token', () => gitlab({ read_token: undefined }), 0, 'failed'],
    ])('after a crash mid-dispatch, %s: resends only where the receiver dedupes, never guesses', async (_what, target, sends, status) => {
      const ctx = context({ targets: [target()] });
      await ctx.memory.remember(`dispatch#${clickKeyOf(ctx.message)}`, { provider: 'x', since: Date.now() - 1000 });
      const outcome = await rollback.run(ctx);
      expect(outcome.status).toBe(status);
      expect(dispatches()).toHaveLength(sends);
      if (status === 'failed') expect(outcome.summary).toContain('was not sent again');
      else expect(dispatches()[0]!.headers['x-flashduty-actions-delivery']).toBe(clickKeyOf(ctx.message));
    });
  });

  describe('dry run', () => {
    it('in a dry run describes the exact request, secrets as ***, and dispatches nothing', async () => {
      const shown: string[] = [];
      for (const target of [github(), gitlab(), webhook()]) {
        const outcome = await rollback.run(context({ targets: [target], dryRun: true }));
        expect(outcome.status).toBe('dry-run');
        const request = fact(outcome, 'request')!;
        expect(request).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\//);
        expect(request).not.toContain(platform.githubToken);
        expect(request).not.toContain(platform.gitlabTriggerToken);
        expect(request).not.toContain(WEBHOOK_SECRET);
        expect(fact(outcome, 'change record')).toMatch(/^would push change rollback\//);
        shown.push(request);
      }
      expect(shown[0]).toContain('authorization: ***');
      expect(shown[0]).toContain('"return_run_details":true');
      expect(shown[1]).toContain('token=***&ref=production');
      expect(shown[2]).toContain('x-flashduty-actions-signature: v1=<signature>');
      expect(platform.calls).toHaveLength(0);
      expect(flashdutyStandIn.changes()).toHaveLength(0);
    });
  });

  describe('change record', () => {
    it('pushes one Processing change per click, keyed by the click key, linking the run, with service, environment and incident labels', async () => {
      const ctx = context();
      const outcome = await rollback.run(ctx);
      await rollback.run(context({ eventId: ctx.message.event_id }));
      const changes = flashdutyStandIn.changes();
      const key = clickKeyOf(ctx.message);
      expect(key).toBe(`rollback/${ctx.message.payload.incident.incident_id}/${ctx.message.event_id}`);
      expect(changes.map((c) => c.change_key)).toEqual([key, key]);
      expect(changes[0]).toMatchObject({
        change_key: key,
        change_status: 'Processing',
        link: platform.runs[0]!.html_url,
        labels: { service: 'engine', environment: 'prod', incident_id: ctx.message.payload.incident.incident_id },
      });
      expect(String(changes[0]!.title)).toContain('shop rollback');
      expect(fact(outcome, 'change record')).toBe(key);
      const push = flashdutyStandIn.calls.find((c) => c.path === '/event/push/change/standard');
      expect(push?.status).toBe(200);
    });

    it('still reports the started rollback when the change push is refused', async () => {
      const outcome = await rollback.run(context({ env: { FLASHDUTY_CHANGE_INTEGRATION_KEY: 'wrong-key' } }));
      expect(outcome.status).toBe('succeeded');
      expect(fact(outcome, 'change record')).toMatch(/^NOT recorded \(.*Unauthorized.*\); key rollback\//);
    });

    it('keeps the integration key out of the comment and the log when FlashDuty echoes it in a refusal', async () => {
      const key = flashdutyStandIn.changeIntegrationKey;
      flashdutyStandIn.intercept = ({ path, query }) =>
        path === '/event/push/change/standard'
          ? { status: 401, body: JSON.stringify({ request_id: 'r', error: { code: 'Unauthorized', message: `integration_key ${query.get('integration_key')} is not valid` } }) }
          : undefined;
      let outcome!: Outcome;
      const lines = await captureLogs(async () => {
        outcome = await rollback.run(context());
      });
      expect(outcome.status).toBe('succeeded');
      expect(fact(outcome, 'change record')).toMatch(/^NOT recorded \(.*Unauthorized: integration_key \*\*\* is not valid\); key rollback\//);
      expect(JSON.stringify(outcome)).not.toContain(key);
      expect(lines.some((line) => line.includes('could not record the rollback'))).toBe(true);
      expect(lines.join('\n')).not.toContain(key);
    });
  });
});
