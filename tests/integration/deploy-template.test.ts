import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BUDGETS, budgetOf, bundleSizes, WORKER_BUDGET } from '../../deploy/budgets';
import { restartHost } from '../../lib/actions/restart-host';
import { validateTemplate } from '../../deploy/validate-template';
import { startSqsEmulator } from '../../local/sqs-emulator';
import { sampleClick } from '../fixtures/clicks';
import { type Packaged, packageStack, readZipEntry } from '../../deploy/package-offline';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:oncall';
const FACTS_FILE = 'tests/fixtures/config/echo-facts.yaml';
const ROLLBACK_FILE = 'tests/fixtures/config/rollback-targets.yaml';
const deployEnv = {
  ENABLED_ACTIONS: 'echo,restart-host',
  ALARM_TOPIC_ARN: TOPIC,
  ECHO_FACTS_FILE: FACTS_FILE,
  ECHO_SECRET_PARAM: '/team/echo-secret',
  WORKER_MAX_CONCURRENCY: '7',
  RECEIVER_RESERVED_CONCURRENCY: '20',
  RECEIVER_PROVISIONED_CONCURRENCY: '2',
};

type Statement = { Effect: string; Action: string[]; Resource: unknown; Condition?: unknown };

/**
 * Runs `script` in a fresh Node process beside one file taken out of a function zip (as
 * ./bundle.js), with only the given environment, as Lambda would; resolves to what it printed.
 */
async function runBesideBundle(zip: string, entry: string, script: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'function-bundle-'));
  writeFileSync(join(dir, 'bundle.js'), await readZipEntry(zip, entry));
  // Structured settings given as files ship in the zip at the same path; put them where Lambda would.
  for (const [key, file] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || !file) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), await readZipEntry(zip, file));
  }
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: dir, env: { PATH: process.env.PATH, ...env } });
  return stdout;
}

describe('the CloudFormation template osls packages offline', () => {
  let test: Packaged;
  let prod: Packaged;
  beforeAll(async () => {
    // One after the other: serverless-esbuild builds in the service's .esbuild folder.
    test = await packageStack('test', deployEnv);
    prod = await packageStack('prod', { ENABLED_ACTIONS: 'echo,rollback', ROLLBACK_TARGETS_FILE: ROLLBACK_FILE, FLASHDUTY_CHANGE_INTEGRATION_KEY_PARAM: '/team/change-key' });
  }, 180_000);

  const resources = () => test.template.Resources;
  const ofTypeIn = (p: Packaged, type: string) => Object.entries(p.template.Resources).filter(([, r]) => r.Type === type);
  const ofType = (type: string) => ofTypeIn(test, type);
  const statements = (roleId: string): Statement[] => resources()[roleId]!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);

  it('is valid against the CloudFormation resource specification', () => {
    expect(validateTemplate(test.template)).toEqual([]);
  });

  it('catches a misspelt property, a wrong nested name and a reference to nothing', () => {
    const broken = structuredClone(test.template);
    broken.Resources.EchoQueue!.Properties.VisibilityTimout = 30;
    broken.Resources.EchoQueue!.Properties.RedrivePolicy = { deadLetterTargetArn: { 'Fn::GetAtt': ['NoSuchQueue', 'Arn'] }, maxReceiveCount: 3 };
    broken.Resources.IdempotencyTable!.Properties.TimeToLiveSpecification = { AttributeName: 'expiration', Enable: true };
    broken.Resources.HttpApiStage!.DependsOn = ['HttpApiRouteNoSuchRoute'];
    const problems = validateTemplate(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^EchoQueue\.Properties\.VisibilityTimout: not a property/),
        expect.stringMatching(/^IdempotencyTable\.Properties\.TimeToLiveSpecification\.Enable: not a property/),
        expect.stringMatching(/^IdempotencyTable\.Properties\.TimeToLiveSpecification\.Enabled: required property is missing/),
        expect.stringMatching(/Fn::GetAtt on unknown resource "NoSuchQueue"/),
        'HttpApiStage.DependsOn: unknown resource "HttpApiRouteNoSuchRoute"',
      ]),
    );
  });

  it('gives each action its own POST route, the Incident Webhook POST /events, and sends every other request to the receiver through a catch-all route', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(['ANY /actions/{action}', 'POST /actions/echo', 'POST /actions/restart-host', 'POST /events']);
  });

  it('throttles each action route in its own bucket sized for FlashDuty, and the catch-all route tightly', () => {
    const stage = resources().HttpApiStage!;
    expect(stage.Properties.RouteSettings).toEqual({
      'POST /actions/echo': { DetailedMetricsEnabled: true, ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
      'POST /actions/restart-host': { DetailedMetricsEnabled: true, ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
      // Every subscribed lifecycle event of every incident: a storm is far above a click rate.
      'POST /events': { DetailedMetricsEnabled: true, ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
    expect(stage.Properties.DefaultRouteSettings).toEqual({ DetailedMetricsEnabled: true, ThrottlingRateLimit: 1, ThrottlingBurstLimit: 5 });
    // The stage must wait for the routes its settings name, or CloudFormation cannot find them.
    const routeIds = ofType('AWS::ApiGatewayV2::Route').map(([id]) => id).sort();
    expect((stage.DependsOn as string[]).filter((id) => id.startsWith('HttpApiRoute')).sort()).toEqual(routeIds);
  });

  it('writes a JSON access log line per request, with request id, caller IP, route and status', () => {
    const { AccessLogSettings } = resources().HttpApiStage!.Properties;
    expect(AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    expect(JSON.parse(AccessLogSettings.Format)).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(resources().HttpApiLogGroup!.Properties.RetentionInDays).toBe(30);
  });

  it('runs every function on arm64 and Node 24, with log retention', () => {
    const platforms = (p: Packaged) =>
      Object.fromEntries(
        Object.entries(p.template.Resources)
          .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
          .map(([id, fn]) => [id, [fn.Properties.Runtime, ...fn.Properties.Architectures].join(' ')]),
      );
    expect(platforms(test)).toEqual({
      ReceiverLambdaFunction: 'nodejs24.x arm64',
      EchoWorkerLambdaFunction: 'nodejs24.x arm64',
      RestartHostWorkerLambdaFunction: 'nodejs24.x arm64',
    });
    expect(platforms(prod)).toEqual({ ReceiverLambdaFunction: 'nodejs24.x arm64', EchoWorkerLambdaFunction: 'nodejs24.x arm64', RollbackWorkerLambdaFunction: 'nodejs24.x arm64' });
    for (const [, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it.each(['echo', 'restart-host'])('gives %s a FIFO queue wired to a FIFO DLQ, consumed with partial batch failures', (action) => {
    const name = action === 'echo' ? 'Echo' : 'RestartHost';
    const queue = resources()[`${name}Queue`]!.Properties;
    const dlq = resources()[`${name}DeadLetterQueue`]!.Properties;
    expect(queue).toMatchObject({ FifoQueue: true, QueueName: `flashduty-actions-test-${action}.fifo` });
    expect(dlq).toMatchObject({ FifoQueue: true, QueueName: `flashduty-actions-test-${action}-dlq.fifo` });
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [`${name}DeadLetterQueue`, 'Arn'] }, maxReceiveCount: 3 });

    const [, mapping] = ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => m.Properties.EventSourceArn['Fn::GetAtt'][0] === `${name}Queue`)!;
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [`${name}WorkerLambdaFunction`, 'Arn'] });

    const worker = resources()[`${name}WorkerLambdaFunction`]!.Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Timeout);
    expect(worker.Environment.Variables).toMatchObject({ ACTION_NAME: action, QUEUE_URL: { Ref: `${name}Queue` }, IDEMPOTENCY_TABLE: { Ref: 'IdempotencyTable' } });
  });

  it('puts every queue and DLQ in high-throughput FIFO mode, so a storm is not capped at 300 sends per second', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues.map(([id]) => id).sort()).toEqual(['EchoDeadLetterQueue', 'EchoQueue', 'RestartHostDeadLetterQueue', 'RestartHostQueue']);
    for (const [, queue] of queues) expect(queue.Properties).toMatchObject({ FifoQueue: true, DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
  });

  it("caps each worker's concurrency at WORKER_MAX_CONCURRENCY and splits FlashDuty's rate over the sum of the caps", () => {
    const caps = (p: Packaged) => ofTypeIn(p, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties.ScalingConfig);
    expect(caps(test)).toEqual([{ MaximumConcurrency: 7 }, { MaximumConcurrency: 7 }]);
    expect(caps(prod)).toEqual([{ MaximumConcurrency: 5 }, { MaximumConcurrency: 5 }]); // the default, for echo and rollback
    const share = (p: Packaged, id: string) => p.template.Resources[id]!.Properties.Environment.Variables.FLASHDUTY_RATE_SHARE;
    expect([share(test, 'EchoWorkerLambdaFunction'), share(test, 'RestartHostWorkerLambdaFunction'), share(prod, 'EchoWorkerLambdaFunction')]).toEqual(['14', '14', '10']);
  });

  it('gives the receiver reserved and provisioned concurrency only when asked, provisioned behind the alias the API calls', () => {
    const receiver = resources().ReceiverLambdaFunction!.Properties;
    expect(receiver.ReservedConcurrentExecutions).toBe(20);
    const [, alias] = ofType('AWS::Lambda::Alias')[0]!;
    expect(alias.Properties.ProvisionedConcurrencyConfig).toEqual({ ProvisionedConcurrentExecutions: 2 });
    expect(JSON.stringify(ofType('AWS::ApiGatewayV2::Integration').map(([, i]) => i.Properties.IntegrationUri))).toContain(alias.Properties.Name);
    expect(prod.template.Resources.ReceiverLambdaFunction!.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(ofTypeIn(prod, 'AWS::Lambda::Alias')).toEqual([]);
  });

  it('hands the receiver its queues by reference, never hand-built URLs', () => {
    const env = resources().ReceiverLambdaFunction!.Properties.Environment.Variables;
    expect(env).toMatchObject({ ENABLED_ACTIONS: 'echo,restart-host', QUEUE_URL_ECHO: { Ref: 'EchoQueue' }, QUEUE_URL_RESTART_HOST: { Ref: 'RestartHostQueue' } });
    expect(env.WEBHOOK_TOKENS_PARAM).toBe('/flashduty-actions/test/webhook-tokens');
    expect(JSON.stringify(test.template)).not.toMatch(/https:\/\/sqs\.|arn:aws:sqs:/);
  });

  it('gives every function its own role and no shared execution role', () => {
    const roles = Object.fromEntries(ofType('AWS::Lambda::Function').map(([id, fn]) => [id, fn.Properties.Role['Fn::GetAtt'][0]]));
    expect(roles).toEqual({ ReceiverLambdaFunction: 'ReceiverRole', EchoWorkerLambdaFunction: 'EchoWorkerRole', RestartHostWorkerLambdaFunction: 'RestartHostWorkerRole' });
    expect(resources().IamRoleLambdaExecution).toBeUndefined();
  });

  it('lets the receiver send to its own queues (and read their attributes, to warm up) and read its own token parameter, nothing more', () => {
    expect(statements('ReceiverRole').slice(1)).toEqual([
      { Effect: 'Allow', Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], Resource: [{ 'Fn::GetAtt': ['EchoQueue', 'Arn'] }, { 'Fn::GetAtt': ['RestartHostQueue', 'Arn'] }] },
      {
        Effect: 'Allow',
        Action: ['ssm:GetParameter'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/flashduty-actions/test/webhook-tokens' },
      },
    ]);
  });

  it('uses a "*" resource only for the SSM reads IAM cannot scope, and only in the restart worker', () => {
    const unscopable = ['ssm:DescribeInstanceInformation', 'ssm:ListCommands', 'ssm:GetCommandInvocation'];
    for (const [roleId] of ofType('AWS::IAM::Role')) {
      for (const statement of statements(roleId)) {
        if (JSON.stringify(statement.Resource).includes('"*"') || statement.Resource === '*') {
          expect(roleId).toBe('RestartHostWorkerRole');
          expect(statement.Action).toEqual(unscopable);
        }
        expect(statement.Action.every((a) => !a.includes('*'))).toBe(true);
      }
    }
  });

  it('lets only the restart worker call ssm:SendCommand: on the configured document and on allow-tagged instances', () => {
    const send = statements('RestartHostWorkerRole').filter((s) => s.Action.includes('ssm:SendCommand'));
    expect(send).toEqual([
      { Effect: 'Allow', Action: ['ssm:SendCommand'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript' } },
      {
        Effect: 'Allow',
        Action: ['ssm:SendCommand'],
        Resource: [
          { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' },
          { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:managed-instance/*' },
        ],
        Condition: { StringEquals: { 'ssm:resourceTag/flashduty-actions:restart': 'allowed' } },
      },
    ]);
    expect(JSON.stringify(statements('EchoWorkerRole'))).not.toContain('ssm:SendCommand');
    expect(statements('EchoWorkerRole').find((s) => s.Action.includes('sqs:ReceiveMessage'))?.Resource).toEqual({ 'Fn::GetAtt': ['EchoQueue', 'Arn'] });
  });

  it('lets each worker read exactly its declared secret parameters, and nothing broader', () => {
    const readable = (roleId: string) =>
      statements(roleId)
        .filter((s) => s.Action.includes('ssm:GetParameter'))
        .map((s) => {
          expect(s.Action).toEqual(['ssm:GetParameter']);
          return (s.Resource as { 'Fn::Sub': string })['Fn::Sub'].replace('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter', '');
        });
    expect(readable('EchoWorkerRole')).toEqual(['/flashduty-actions/test/flashduty-app-key', '/team/echo-secret']);
    expect(readable('RestartHostWorkerRole')).toEqual(['/flashduty-actions/test/flashduty-app-key']);
    expect(readable('ReceiverRole')).toEqual(['/flashduty-actions/test/webhook-tokens']);
    const echoEnv = resources().EchoWorkerLambdaFunction!.Properties.Environment.Variables;
    expect(echoEnv).toMatchObject({ ECHO_SECRET_PARAM: '/team/echo-secret' });
    expect(resources().RestartHostWorkerLambdaFunction!.Properties.Environment.Variables).not.toHaveProperty('ECHO_FACTS_FILE');
  });

  it("lets the rollback worker read exactly its targets' tokens, the change key and the app key, and ships its targets file", async () => {
    const role = prod.template.Resources.RollbackWorkerRole!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement) as Statement[];
    const readable = role
      .filter((s) => s.Action.includes('ssm:GetParameter'))
      .map((s) => (s.Resource as { 'Fn::Sub': string })['Fn::Sub'].replace('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter', ''))
      .sort();
    expect(readable).toEqual(['/flashduty-actions/prod/flashduty-app-key', '/team/change-key', '/team/github-token', '/team/gitlab-read-token', '/team/gitlab-trigger-token', '/team/rollback-webhook-secret']);
    expect(JSON.stringify(role)).not.toMatch(/ssm:SendCommand|"Resource":"\*"/);
    // Shipped as validated JSON (function-env.ts), at the path the worker is told.
    const path = prod.template.Resources.RollbackWorkerLambdaFunction!.Properties.Environment.Variables.ROLLBACK_TARGETS_FILE;
    const shipped = JSON.parse((await readZipEntry(join(prod.dir, 'rollbackWorker.zip'), path)).toString('utf8'));
    expect(shipped).toEqual(parseYaml(readFileSync(ROLLBACK_FILE, 'utf8')));
  });

  it('ships a structured setting given as a YAML file in its worker as JSON, which the bundle validates at cold start', async () => {
    const shipped = '.build/config/test/echo/ECHO_FACTS.json';
    expect(resources().EchoWorkerLambdaFunction!.Properties.Environment.Variables.ECHO_FACTS_FILE).toBe(shipped);
    const dir = mkdtempSync(join(tmpdir(), 'worker-bundle-'));
    const zip = join(test.dir, 'echoWorker.zip');
    const code = await readZipEntry(zip, 'lib/actions/echo.js');
    expect(code.toString('utf8')).not.toContain('yaml.org'); // the YAML parser stays out of the bundle
    writeFileSync(join(dir, 'worker.js'), code);
    mkdirSync(join(dir, '.build/config/test/echo'), { recursive: true });
    const content = await readZipEntry(zip, shipped);
    expect(JSON.parse(content.toString('utf8'))).toEqual([
      { label: 'stage', value: 'test' },
      { label: 'owner', value: 'sre-oncall' },
    ]);
    await expect(readZipEntry(join(test.dir, 'restartHostWorker.zip'), shipped)).rejects.toThrow('not found');

    // What Lambda runs: the bundle, from the function's root, with the environment the template sets.
    const coldStart = () =>
      promisify(execFile)(process.execPath, ['-e', "require('./worker.js'); process.stdout.write('ready')"], {
        cwd: dir,
        env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', ACTION_NAME: 'echo', QUEUE_URL: 'https://sqs.example/q', IDEMPOTENCY_TABLE: 't', FLASHDUTY_APP_KEY_PARAM: '/p', ECHO_FACTS_FILE: shipped, POWERTOOLS_LOG_LEVEL: 'SILENT' },
      });
    writeFileSync(join(dir, shipped), content);
    expect((await coldStart()).stdout).toBe('ready');
    writeFileSync(join(dir, shipped), '[{"label":"stage","value":42}]');
    await expect(coldStart()).rejects.toThrow(`invalid echo configuration: ECHO_FACTS: ${shipped}: 0.value: expected string, got number`);
  }, 30_000);

  it('alarms on dead letters and worker errors, to the configured topic', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm'));
    expect(Object.keys(alarms).sort()).toEqual([
      'EchoDeadLetterAlarm',
      'EchoWorkerErrorsAlarm',
      'ReceiverErrorsAlarm',
      'ReceiverQueueUnavailableAlarm',
      'RestartHostDeadLetterAlarm',
      'RestartHostWorkerErrorsAlarm',
    ]);
    expect(alarms.RestartHostDeadLetterAlarm!.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['RestartHostDeadLetterQueue', 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [TOPIC],
    });
    expect(alarms.EchoWorkerErrorsAlarm!.Properties.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: 'EchoWorkerLambdaFunction' } }]);
  });

  it('outputs the endpoint URL of each enabled action, ready to paste into FlashDuty', () => {
    expect(test.template.Outputs.RestartHostActionUrl.Value).toEqual({ 'Fn::Sub': '${HttpApi.ApiEndpoint}/actions/restart-host' });
    expect(test.template.Outputs.EchoActionUrl).toBeDefined();
  });

  it('keeps stages apart: every name carries the stage, and only enabled actions get workers', () => {
    const names = (p: Packaged) =>
      Object.values(p.template.Resources)
        .map((r) => r.Properties?.QueueName ?? r.Properties?.TableName ?? r.Properties?.FunctionName)
        .filter((n): n is string => typeof n === 'string');
    expect(names(prod).every((n) => n.startsWith('flashduty-actions-prod-'))).toBe(true);
    expect(names(test).every((n) => n.startsWith('flashduty-actions-test-'))).toBe(true);
    expect(prod.template.Resources.RestartHostQueue).toBeUndefined();
  });

  it('packages the stage `npm run package -- --stage <stage>` names, and checks that one', () => {
    expect(prod.output).toContain('Packaging flashduty-actions for stage prod');
    expect(prod.output).toMatch(/stage prod: \d+ resources, valid against the CloudFormation resource specification/);
    expect(prod.template.Resources.EchoQueue!.Properties.QueueName).toBe('flashduty-actions-prod-echo.fifo');
  });

  it('warns that alarms notify no one when ALARM_TOPIC_ARN is unset', () => {
    expect(prod.output).toContain('WARNING: ALARM_TOPIC_ARN is not set');
    expect(test.output).not.toContain('ALARM_TOPIC_ARN');
  });

  it('refuses to package plaintext secrets or DRY_RUN=true, naming each key and where it came from', async () => {
    const secrets = { WEBHOOK_TOKENS: 'plain-token-0123456789abcdef', FLASHDUTY_APP_KEY: 'plain-app-key', DRY_RUN: 'true' };
    const refusal = await packageStack('prod', { ENABLED_ACTIONS: 'echo', ...secrets }).then(
      () => undefined,
      (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
    );
    expect(refusal).toContain('refusing to package stage "prod"');
    expect(refusal).toContain('the environment sets WEBHOOK_TOKENS in plain text, which would be written into the CloudFormation template');
    expect(refusal).toContain('the environment sets FLASHDUTY_APP_KEY in plain text');
    expect(refusal).toContain('the environment sets DRY_RUN=true, so the deployed workers would change nothing');
    expect(refusal).not.toContain('plain-token-0123456789abcdef');
  }, 60_000);

  it('holds only package and deploy to those checks: remove, info, logs and print still work on a stage deployed as a dry run', async () => {
    const osls = join(__dirname, '..', '..', 'node_modules', 'osls', 'bin', 'serverless.js');
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, SLS_TELEMETRY_DISABLED: '1', ENABLED_ACTIONS: 'echo', DRY_RUN: 'true' };
    const { stdout } = await promisify(execFile)(process.execPath, [osls, 'print', '--stage', 'staging'], { cwd: join(__dirname, '..', '..'), env, timeout: 60_000 });
    expect(stdout).toContain('flashduty-actions-staging-echo.fifo');
    // Settings that fail an action's checks (or a stage name too long) do not stop them either: the functions' names are enough.
    const broken = await promisify(execFile)(process.execPath, [osls, 'print', '--stage', 'staging'], { cwd: join(__dirname, '..', '..'), env: { ...env, ENABLED_ACTIONS: 'echo,rollback' }, timeout: 60_000 });
    expect(broken.stderr).toContain("WARNING: invalid rollback configuration: ROLLBACK_TARGETS: set ROLLBACK_TARGETS (JSON) or ROLLBACK_TARGETS_FILE (a JSON or YAML file); osls print goes on with the functions' names only");
    expect(broken.stdout).toMatch(/ {2}rollbackWorker:\n {4}handler: lib\/actions\/rollback\/index\.handler/);
  }, 60_000);

  it('packages a plaintext token only when DEPLOY_ALLOW=plaintext-secrets says so', async () => {
    const allowed = await packageStack('prod', { ENABLED_ACTIONS: 'echo', WEBHOOK_TOKENS: 'plain-token-0123456789abcdef', DEPLOY_ALLOW: 'plaintext-secrets' });
    expect(allowed.template.Resources.ReceiverLambdaFunction!.Properties.Environment.Variables.WEBHOOK_TOKENS).toBe('plain-token-0123456789abcdef');
  }, 120_000);

  describe('with EDGE_FIREWALL=true (CloudFront + WAF in front of the HTTP API)', () => {
    let edge: Packaged;
    beforeAll(async () => {
      edge = await packageStack('edge', { ENABLED_ACTIONS: 'echo', ALARM_TOPIC_ARN: TOPIC, EDGE_FIREWALL: 'true', ALLOWED_IPS: '47.94.95.118,123.56.8.0/24', EDGE_RATE_LIMIT: '5000' });
    }, 120_000);

    it('is valid against the CloudFormation resource specification', () => {
      expect(validateTemplate(edge.template)).toEqual([]);
    });

    it('lets only ALLOWED_IPS through the web ACL, rate-limited, and puts it on the distribution', () => {
      const r = edge.template.Resources;
      expect(r.EdgeAllowedIps!.Properties).toMatchObject({ Scope: 'CLOUDFRONT', IPAddressVersion: 'IPV4', Addresses: ['47.94.95.118/32', '123.56.8.0/24'] });
      expect(r.EdgeWebAcl!.Properties.DefaultAction).toEqual({ Block: {} });
      expect(r.EdgeWebAcl!.Properties.Rules.map((rule: any) => [rule.Name, Object.keys(rule.Action)[0]])).toEqual([['rate-limit', 'Block'], ['flashduty-ips', 'Allow']]);
      // The per-IP rate limit covers the action routes only: an Incident Webhook storm to /events must not be blocked.
      expect(r.EdgeWebAcl!.Properties.Rules[0].Statement.RateBasedStatement.ScopeDownStatement.ByteMatchStatement).toMatchObject({ SearchString: '/actions/', PositionalConstraint: 'STARTS_WITH' });
      expect(r.EdgeWebAcl!.Properties.Rules[0].Statement.RateBasedStatement).toMatchObject({ Limit: 5000, AggregateKeyType: 'IP' });
      expect(r.EdgeDistribution!.Properties.DistributionConfig.WebACLId).toEqual({ 'Fn::GetAtt': ['EdgeWebAcl', 'Arn'] });
    });

    it('has CloudFront send the edge secret from SSM, never a value in the template, and the receiver require it', () => {
      const [origin] = edge.template.Resources.EdgeDistribution!.Properties.DistributionConfig.Origins;
      expect(origin.OriginCustomHeaders).toEqual([{ HeaderName: 'x-flashduty-actions-edge', HeaderValue: '{{resolve:ssm:/flashduty-actions/edge/edge-secret}}' }]);
      expect(edge.template.Resources.ReceiverLambdaFunction!.Properties.Environment.Variables.EDGE_SECRET_PARAM).toBe('/flashduty-actions/edge/edge-secret');
      const reads = edge.template.Resources.ReceiverRole!.Properties.Policies[0].PolicyDocument.Statement.filter((st: Statement) => st.Action.includes('ssm:GetParameter'));
      expect(reads.map((st: Statement) => st.Resource)).toContainEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/flashduty-actions/edge/edge-secret' });
    });

    it('outputs the CloudFront URL for FlashDuty, and adds nothing when the switch is off', () => {
      expect(edge.template.Outputs.EchoActionUrl.Value).toEqual({ 'Fn::Sub': 'https://${EdgeDistribution.DomainName}/actions/echo' });
      expect(Object.keys(test.template.Resources).filter((id) => id.startsWith('Edge'))).toEqual([]);
      expect(test.template.Resources.ReceiverLambdaFunction!.Properties.Environment.Variables.EDGE_SECRET_PARAM).toBeUndefined();
    });
  });

  it('keeps every worker zip within its budget, the receiver within its own', () => {
    const sizes = bundleSizes(test.dir);
    expect(sizes.map((s) => s.name).sort()).toEqual(['echoWorker', 'receiver', 'restartHostWorker']);
    for (const size of sizes) expect(size).toMatchObject({ budget: budgetOf(size.name), ok: true });
    expect(budgetOf('receiver')).toBe(BUDGETS.receiver);
    expect(budgetOf('echoWorker')).toBe(200 * 1024);
    expect(budgetOf('rollbackWorker')).toBe(WORKER_BUDGET);
  });

  it("bundles each worker from its action's module, with only that action: no SSM command code in the echo worker", async () => {
    expect(resources().EchoWorkerLambdaFunction!.Properties.Handler).toBe('lib/actions/echo.handler');
    expect(resources().RestartHostWorkerLambdaFunction!.Properties.Handler).toBe('lib/actions/restart-host/index.handler');
    const echo = (await readZipEntry(join(test.dir, 'echoWorker.zip'), 'lib/actions/echo.js')).toString();
    const restart = (await readZipEntry(join(test.dir, 'restartHostWorker.zip'), 'lib/actions/restart-host/index.js')).toString();
    // Every worker reads its secrets (the app key at least) through the SSM client; only
    // restart-host sends commands.
    expect(restart).toContain('SendCommandCommand');
    expect(echo).not.toContain('SendCommandCommand');
    expect(echo).not.toContain(restartHost.description);
  });

  it('ships bundles that require node:http rather than import() it (the import loads undici on a cold first request)', async () => {
    const bundles = [
      ['receiver.zip', 'functions/receiver.js'],
      ['echoWorker.zip', 'lib/actions/echo.js'],
      ['restartHostWorker.zip', 'lib/actions/restart-host/index.js'],
    ];
    for (const [zip, entry] of bundles) {
      const code = (await readZipEntry(join(test.dir, zip!), entry!)).toString();
      expect(code).toContain('require("node:http")');
      expect(code).not.toMatch(/import\(\s*["']node:https?["']\s*\)/);
    }
  });

  it('ships handlers the Node 24 runtime accepts: none declares a callback parameter', async () => {
    // Lambda's Node 24 runtime tells a callback-style handler by its arity (three or more
    // parameters, async or not) and refuses it. Load each zip as the runtime does, with the
    // environment the template gives the function, and read the arity of what it exports.
    const arities: Record<string, number> = {};
    for (const [id, fn] of ofType('AWS::Lambda::Function')) {
      const { Handler, Code, Environment } = fn.Properties;
      const [file, name] = [Handler.slice(0, Handler.lastIndexOf('.')), Handler.slice(Handler.lastIndexOf('.') + 1)];
      // Settings shipped as files are left out: only bundle.js is unpacked, and this reads no config.
    const variables = Object.entries(Environment.Variables).filter(([key]) => !key.endsWith('_FILE'));
    const env = Object.fromEntries(variables.map(([key, value]) => [key, typeof value === 'string' ? value : `resolved-${key}`]));
      // Exit once printed: the receiver starts fetching its token parameter at cold start.
      const script = `process.stdout.write(String(require('./bundle.js').${name}.length), () => process.exit(0))`;
      const zip = join(test.dir, Code.S3Key.split('/').pop());
      arities[id] = Number(await runBesideBundle(zip, `${file}.js`, script, { ...env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' }));
    }
    expect(arities).toEqual({ ReceiverLambdaFunction: 1, EchoWorkerLambdaFunction: 2, RestartHostWorkerLambdaFunction: 2 });
  }, 30_000);

  it('ships an echo worker that starts for echo, knows no other action, and maps its stack traces to our code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'worker-bundle-'));
    mkdirSync(join(dir, 'lib', 'actions'), { recursive: true });
    for (const file of ['lib/actions/echo.js', 'lib/actions/echo.js.map']) writeFileSync(join(dir, file), await readZipEntry(join(test.dir, 'echoWorker.zip'), file));
    const start = (action: string) =>
      promisify(execFile)(process.execPath, ['--enable-source-maps', '-e', "process.stdout.write(typeof require('./lib/actions/echo.js').handler)"], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          ACTION_NAME: action,
          QUEUE_URL: 'http://127.0.0.1:1/000000000000/echo.fifo',
          IDEMPOTENCY_TABLE: 'idempotency',
          FLASHDUTY_APP_KEY: 'key',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
        },
      });
    await expect(start('echo')).resolves.toMatchObject({ stdout: 'function' });
    const refused = await start('restart-host').catch((error: { stderr: string }) => error);
    expect(refused).toMatchObject({ stderr: expect.stringContaining('ACTION_NAME: unknown action "restart-host"; known: echo') });
    expect(refused).toMatchObject({ stderr: expect.stringMatching(/lib\/config\/worker\.ts:\d+:\d+/) });
  }, 30_000);

  it('ships a receiver bundle that answers a real click and enqueues it', async () => {
    const emulator = await startSqsEmulator();
    const sqs = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bundle-echo.fifo', Attributes: { FifoQueue: 'true' } }));
      const token = 'bundle-test-token-0123456789';
      const event = {
        version: '2.0',
        pathParameters: { action: 'echo' },
        headers: { authorization: `Bearer ${token}` },
        requestContext: { http: { method: 'POST', sourceIp: '47.94.95.118' } },
        body: JSON.stringify(sampleClick()),
        isBase64Encoded: false,
      };
      const script = `require('./bundle.js').handler(${JSON.stringify(event)}).then((r) => process.stdout.write(JSON.stringify(r)))`;
      // What Lambda provides: credentials and region in the environment, nothing else.
      const stdout = await runBesideBundle(join(test.dir, 'receiver.zip'), 'functions/receiver.js', script, {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'x',
        AWS_SESSION_TOKEN: 'x',
        AWS_ENDPOINT_URL_SQS: emulator.endpoint,
        ENABLED_ACTIONS: 'echo',
        QUEUE_URL_ECHO: QueueUrl,
        WEBHOOK_TOKENS: token,
        // This checks the bundle works, not its speed: allow for a busy test machine.
        ENQUEUE_TIMEOUT_MS: '900',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      });
      expect(JSON.parse(stdout)).toMatchObject({ statusCode: 200, body: expect.stringContaining('queued') });
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
      expect(Messages).toHaveLength(1);
    } finally {
      sqs.destroy();
      await emulator.stop();
    }
  }, 30_000);
});
