import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { startLocalStack, type LocalStack, LOCAL_APP_KEY } from '../../deploy/local';
import { CloudFormationStandIn, LambdaStandIn } from '../../local/aws-standins';
import { SsmStandIn } from '../../local/ssm-standin';
import { receiverConfig } from '../../lib/config/receiver';
import { makeReceiver } from '../../lib/receiver/handler';
import { receiverDeps } from '../../lib/receiver/wiring';
import { FREE_PORTS } from './helpers';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const INCIDENT = '6551f3888713372ad1054d57';
const APP_KEY_TYPED = 'app-key-typed-by-the-operator-0001';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The AWS APIs the scripts call, each a stand-in speaking its real wire protocol, reached by the
 * real SDK clients through AWS_ENDPOINT_URL_<SERVICE>; SQS is the emulator of the local stack.
 */
describe('npm run setup and npm run smoke against stand-ins for SSM, CloudFormation, Lambda, SQS and FlashDuty', () => {
  const ssm = new SsmStandIn();
  const cloudformation = new CloudFormationStandIn();
  const lambda = new LambdaStandIn();
  let stack: LocalStack;
  let endpoints: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stack = await startLocalStack({
      env: { ENABLED_ACTIONS: 'echo', WEBHOOK_TOKENS: 'unused-local-token-0123456789', ALLOWED_IPS: '127.0.0.1', ...FREE_PORTS },
      port: 0,
    });
    endpoints = {
      AWS_ENDPOINT_URL_SSM: await ssm.start(),
      AWS_ENDPOINT_URL_CLOUDFORMATION: await cloudformation.start(),
      AWS_ENDPOINT_URL_LAMBDA: await lambda.start(),
      AWS_ENDPOINT_URL_SQS: stack.sqsEndpoint,
      FLASHDUTY_API_URL: stack.flashdutyUrl,
    };
    const outputs = { EchoActionUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/actions/echo', RestartHostActionUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/actions/restart-host', OtherEndpointUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/other', ApiId: 'abc123' };
    cloudformation.stacks.set('flashduty-actions-prod', { StackName: 'flashduty-actions-prod', Outputs: outputs });
    // Stage "prod": its receiver feeds the local stack's echo queue, whose worker writes to the FlashDuty stand-in.
    lambda.functions.set('flashduty-actions-prod-receiver', receiverFor('prod', stack.queues.get('echo')!.url));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([ssm.stop(), cloudformation.stop(), lambda.stop()]);
    await stack.stop();
  });

  /** The deployed receiver's code, reading its tokens from the SSM stand-in as in Lambda. */
  function receiverFor(stage: string, queueUrl: string, extra: NodeJS.ProcessEnv = {}) {
    const env = { ENABLED_ACTIONS: 'echo', ALLOWED_IPS: '127.0.0.0/8', WEBHOOK_TOKENS_PARAM: `/flashduty-actions/${stage}/webhook-tokens`, QUEUE_URL_ECHO: queueUrl, AWS_ENDPOINT_URL_SSM: endpoints.AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_SQS: stack.sqsEndpoint, ...extra };
    const receive = makeReceiver(receiverDeps(receiverConfig(env)));
    return (event: unknown) => receive(event as never);
  }

  /** `npm run <script> -- args`, as npm runs it, with `stdin` piped in. */
  function run(script: string, args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Run> {
    const child = spawn(process.execPath, [TSX, join(ROOT, 'scripts', `${script}.ts`), ...args], { cwd: ROOT, env: { ...process.env, ...endpoints, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.stdin.end(options.stdin ?? '');
    return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  }

  const tokens = () => ssm.parameters.get('/flashduty-actions/prod/webhook-tokens')!.split(',');
  const puts = () => ssm.calls.filter((c) => c.operation === 'PutParameter');

  describe('setup', () => {
    let first: Run;
    beforeAll(async () => {
      first = await run('setup', ['--stage', 'prod'], { stdin: `${APP_KEY_TYPED}\n` });
    }, 40_000);

    it('creates a generated token and the app key read from stdin, as SecureStrings, and never prints the key', () => {
      expect(first.code).toBe(0);
      expect(tokens()).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
      expect(ssm.parameters.get('/flashduty-actions/prod/flashduty-app-key')).toBe(APP_KEY_TYPED);
      expect(puts().map((c) => [c.input.Name, c.input.Type, c.input.Overwrite])).toEqual([
        ['/flashduty-actions/prod/webhook-tokens', 'SecureString', false],
        ['/flashduty-actions/prod/flashduty-app-key', 'SecureString', false],
      ]);
      expect(`${first.stdout}${first.stderr}`).not.toContain(APP_KEY_TYPED);
    });

    it("prints each action's Custom Action form: name, endpoint from the stack outputs, the Authorization header", () => {
      expect(first.stdout).toContain(
        `  Action name     Restart host\n  Endpoint        https://abc123.execute-api.us-east-1.amazonaws.com/actions/restart-host\n  Headers         Authorization = Bearer ${tokens()[0]}\n`,
      );
      expect(first.stdout).toContain('  Action name     Echo\n  Endpoint        https://abc123.execute-api.us-east-1.amazonaws.com/actions/echo\n');
      expect(first.stdout).toContain('Also in the stack\'s outputs: OtherEndpointUrl https://abc123.execute-api.us-east-1.amazonaws.com/other\n');
      expect(first.stdout).not.toContain('ApiId');
      expect(cloudformation.calls).toContainEqual({ operation: 'DescribeStacks', input: expect.objectContaining({ StackName: 'flashduty-actions-prod', Version: '2010-05-15' }) });
    });

    it("says which other secrets the stage's actions read are missing, and how to create each, without reading any value", async () => {
      const target = { provider: 'github', match: {}, repo: 'acme/shop', workflow: 'rollback.yml', ref: 'main', inputs: {}, token_param: '/flashduty-actions/prod/github-token' };
      const env = { ENABLED_ACTIONS: 'echo,rollback', ROLLBACK_TARGETS: JSON.stringify([target]) };
      const missing = await run('setup', ['--stage', 'prod'], { env });
      expect(missing.code).toBe(0);
      expect(missing.stdout).toContain(
        '/flashduty-actions/prod/github-token is missing: the action that reads it fails until it exists; create it with\n  read -rs VALUE && aws ssm put-parameter --type SecureString --name /flashduty-actions/prod/github-token --value "$VALUE"\n',
      );
      ssm.parameters.set('/flashduty-actions/prod/github-token', 'ghp-typed-by-the-operator');
      const found = await run('setup', ['--stage', 'prod'], { env });
      expect(found.stdout).toContain('/flashduty-actions/prod/github-token exists\n');
      expect(`${found.stdout}${found.stderr}`).not.toContain('ghp-typed-by-the-operator');
      const reads = ssm.calls.filter((c) => c.operation === 'GetParameter' && c.input.Name === '/flashduty-actions/prod/github-token');
      expect(reads.map((c) => c.input.WithDecryption)).toEqual([false, false]);
    }, 60_000);

    it("still prints the forms when this shell's settings cannot be read (they live in CI, or are not written yet)", async () => {
      const run1 = await run('setup', ['--stage', 'prod'], { env: { ENABLED_ACTIONS: 'echo,rollback' } });
      expect(run1.code).toBe(0);
      expect(run1.stdout).toContain("could not list the other secrets the stage's actions read, from this shell's settings: invalid rollback configuration: ROLLBACK_TARGETS: set ROLLBACK_TARGETS");
      expect(run1.stdout).toContain(`Authorization = Bearer ${tokens()[0]}`);
    }, 40_000);

    it('changes nothing when run again, and prints the same token', async () => {
      const before = puts().length;
      const again = await run('setup', ['--stage', 'prod']);
      expect(again.code).toBe(0);
      expect(puts()).toHaveLength(before);
      expect(again.stdout).toContain(`Authorization = Bearer ${tokens()[0]}`);
      expect(again.stdout).toContain('/flashduty-actions/prod/webhook-tokens exists (1 token); left as it is');
    }, 40_000);

    it('rotates: adds a second token and says when to remove the old one; finishing keeps only the new one', async () => {
      const [old] = tokens();
      const rotated = await run('setup', ['--stage', 'prod', '--rotate-token']);
      expect(rotated.code).toBe(0);
      expect(tokens()).toEqual([old, expect.stringMatching(/^[0-9a-f]{64}$/)]);
      const fresh = tokens()[1]!;
      expect(rotated.stdout).toContain(`Authorization = Bearer ${fresh}`);
      expect(rotated.stdout).toContain('the receiver accepts both within 5 minutes');
      expect(rotated.stdout).toContain('then remove the old token: npm run setup -- --stage prod --finish-rotation');
      expect((await run('setup', ['--stage', 'prod', '--rotate-token'])).stderr).toContain('a rotation is already under way (2 tokens)');
      expect((await run('setup', ['--stage', 'prod', '--finish-rotation'])).code).toBe(0);
      expect(tokens()).toEqual([fresh]);
    }, 60_000);

    it('replaces the app key only when asked, from the environment, without printing it', async () => {
      const rotated = await run('setup', ['--stage', 'prod', '--rotate-app-key'], { env: { FLASHDUTY_APP_KEY: 'the-new-app-key-0002' } });
      expect(rotated.code).toBe(0);
      expect(ssm.parameters.get('/flashduty-actions/prod/flashduty-app-key')).toBe('the-new-app-key-0002');
      expect(puts().at(-1)!.input).toMatchObject({ Name: '/flashduty-actions/prod/flashduty-app-key', Type: 'SecureString', Overwrite: true });
      expect(rotated.stdout).toContain('workers use it within 5 minutes (SECRET_MAX_AGE_SECONDS): delete the old key in FlashDuty after that');
      expect(`${rotated.stdout}${rotated.stderr}`).not.toContain('the-new-app-key-0002');
    }, 40_000);

    it('keeps the token its lost-answer create did store, instead of failing or writing another', async () => {
      ssm.loseAnswers.set('PutParameter', 1);
      const lost = await run('setup', ['--stage', 'lossy'], { env: { FLASHDUTY_APP_KEY: 'lossy-app-key-0001' } });
      const stored = ssm.parameters.get('/flashduty-actions/lossy/webhook-tokens')!;
      expect(lost.stdout).toContain('/flashduty-actions/lossy/webhook-tokens was just created elsewhere; using it');
      expect(ssm.calls.filter((c) => c.operation === 'PutParameter' && c.input.Name === '/flashduty-actions/lossy/webhook-tokens')).toHaveLength(2);
      expect(stored).toMatch(/^[0-9a-f]{64}$/);
    }, 40_000);

    it('says what to deploy first when the stage has no stack', async () => {
      const missing = await run('setup', ['--stage', 'nostack'], { env: { FLASHDUTY_APP_KEY: 'from-the-environment-0001' } });
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim()).toBe('no stack flashduty-actions-nostack in us-east-1: deploy it first (`npx osls deploy --stage nostack`), or check --stage and --region');
      expect(ssm.parameters.get('/flashduty-actions/nostack/flashduty-app-key')).toBe('from-the-environment-0001');
    }, 40_000);

    it('refuses a missing --stage or an unknown option with its usage', async () => {
      expect((await run('setup', [])).stderr).toContain('--stage is required\nusage: npm run setup -- --stage <stage>');
      const typo = await run('setup', ['--stage', 'prod', '--rotate']);
      expect([typo.code, typo.stderr.split('\n')[0]]).toEqual([2, 'unknown or incomplete option --rotate']);
    }, 40_000);
  });

  describe('smoke', () => {
    beforeAll(() => {
      ssm.parameters.set('/flashduty-actions/prod/webhook-tokens', 'old-token-0123456789abcdef,new-token-0123456789abcdef');
      ssm.parameters.set('/flashduty-actions/prod/flashduty-app-key', LOCAL_APP_KEY);
    });

    it('invokes the receiver with an API Gateway event from an allowed address and the newest token, and reports the comment', async () => {
      const smoke = await run('smoke', ['--stage', 'prod', '--incident', INCIDENT, '--wait', '30'], { env: { ALLOWED_IPS: '127.0.0.0/8' } });
      expect(smoke.stderr).toBe('');
      expect(smoke.code).toBe(0);
      const invoke = lambda.calls.at(-1)!;
      const event = JSON.parse(invoke.input.Payload!);
      expect(event).toMatchObject({ version: '2.0', rawPath: '/actions/echo', requestContext: { http: { method: 'POST', sourceIp: '127.0.0.0' } } });
      expect(event.headers.authorization).toBe('Bearer new-token-0123456789abcdef');
      expect(smoke.stdout).toMatch(/receiver flashduty-actions-prod-receiver: 200 \{"status":"queued","action":"echo","event_id":"[0-9a-f]{32}"\}/);
      const comment = stack.flashduty!.comments(INCIDENT).at(-1)!;
      expect(smoke.stdout).toContain(`the echo worker wrote to incident ${INCIDENT}:\n\n${comment}\n\nsmoke test passed`);
    }, 60_000);

    it("says what the receiver answered when it refuses the click (here: the caller's address)", async () => {
      const smoke = await run('smoke', ['--stage', 'prod', '--incident', INCIDENT], { env: { ALLOWED_IPS: '192.0.2.1' } });
      expect(smoke.code).toBe(1);
      expect(smoke.stderr.trim()).toBe('the receiver answered 403 {"error":"forbidden"}; see README "Troubleshooting" for that answer');
    }, 40_000);

    it('says where the click stopped when no comment arrives: the queue, the DLQ and the logs', async () => {
      const queue = await stack.sqs.send(new CreateQueueCommand({ QueueName: 'flashduty-actions-stuck-echo.fifo', Attributes: { FifoQueue: 'true' } }));
      await stack.sqs.send(new CreateQueueCommand({ QueueName: 'flashduty-actions-stuck-echo-dlq.fifo', Attributes: { FifoQueue: 'true' } }));
      lambda.functions.set('flashduty-actions-stuck-receiver', receiverFor('stuck', queue.QueueUrl!));
      ssm.parameters.set('/flashduty-actions/stuck/webhook-tokens', 'stuck-token-0123456789abcdef');
      ssm.parameters.set('/flashduty-actions/stuck/flashduty-app-key', LOCAL_APP_KEY);
      const smoke = await run('smoke', ['--stage', 'stuck', '--incident', INCIDENT, '--wait', '2'], { env: { ALLOWED_IPS: '127.0.0.1' } });
      expect(smoke.code).toBe(1);
      const eventId = /event ([0-9a-f]{32})\)/.exec(smoke.stdout)![1];
      expect(smoke.stderr.trim()).toBe(
        [
          'no comment on the incident after 2 s; the click is still queued (1 waiting, 0 in flight): the worker is retrying it, or not running.',
          'Worker log: npx osls logs -f echoWorker --stage stuck --startTime 10m',
          `Or CloudWatch Logs Insights, saved query "flashduty-actions-stuck/one click's path by event id", with event id ${eventId}.`,
        ].join('\n'),
      );
    }, 40_000);

    it('behind the edge firewall, sends the edge secret from its parameter instead of relying on the address', async () => {
      lambda.functions.set('flashduty-actions-edgy-receiver', receiverFor('edgy', stack.queues.get('echo')!.url, { EDGE_SECRET_PARAM: '/flashduty-actions/edgy/edge-secret' }));
      ssm.parameters.set('/flashduty-actions/edgy/webhook-tokens', 'edgy-token-0123456789abcdef');
      ssm.parameters.set('/flashduty-actions/edgy/flashduty-app-key', LOCAL_APP_KEY);
      ssm.parameters.set('/flashduty-actions/edgy/edge-secret', 'edge-secret-0123456789abcdef');
      const smoke = await run('smoke', ['--stage', 'edgy', '--incident', INCIDENT, '--wait', '30'], { env: { EDGE_FIREWALL: 'true', ALLOWED_IPS: '192.0.2.1' } });
      expect([smoke.code, smoke.stderr]).toEqual([0, '']);
      expect(JSON.parse(lambda.calls.at(-1)!.input.Payload!).headers['x-flashduty-actions-edge']).toBe('edge-secret-0123456789abcdef');
    }, 60_000);

    it('refuses an incident id that is not 24 hex digits, before calling anything', async () => {
      const calls = lambda.calls.length;
      const smoke = await run('smoke', ['--stage', 'prod', '--incident', 'INC-42']);
      expect([smoke.code, smoke.stderr.split('\n')[0]]).toEqual([2, '--incident must be a FlashDuty incident id (24 hex digits), got "INC-42"']);
      expect(lambda.calls).toHaveLength(calls);
    }, 40_000);
  });
});
