import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BUDGETS, budgetOf, bundleSizes, WORKER_BUDGET } from '../../deploy/budgets';
import { restartHost } from '../../lib/actions/restart-host';
import { validateTemplate } from '../../deploy/validate-template';
import { startSqsEmulator } from '../../lib/local/sqs-emulator';
import { sampleClick } from '../fixtures/clicks';
import { type Packaged, packageStack, readZipEntry } from '../../deploy/package-offline';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:oncall';
const deployEnv = { ENABLED_ACTIONS: 'echo,restart-host', ALARM_TOPIC_ARN: TOPIC };

type Statement = { Effect: string; Action: string[]; Resource: unknown; Condition?: unknown };

describe('the CloudFormation template osls packages offline', () => {
  let test: Packaged;
  let prod: Packaged;
  beforeAll(async () => {
    // One after the other: serverless-esbuild builds in the service's .esbuild folder.
    test = await packageStack('test', deployEnv);
    prod = await packageStack('prod', { ENABLED_ACTIONS: 'echo' });
  }, 180_000);

  const resources = () => test.template.Resources;
  const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);
  const statements = (roleId: string): Statement[] => resources()[roleId]!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);

  it('is valid against the CloudFormation resource specification', () => {
    expect(validateTemplate(test.template)).toEqual([]);
  });

  it('catches a misspelt property, a wrong nested name and a reference to nothing', () => {
    const broken = structuredClone(test.template);
    broken.Resources.EchoQueue!.Properties.VisibilityTimout = 30;
    broken.Resources.EchoQueue!.Properties.RedrivePolicy = { deadLetterTargetArn: { 'Fn::GetAtt': ['NoSuchQueue', 'Arn'] }, maxReceiveCount: 3 };
    broken.Resources.IdempotencyTable!.Properties.TimeToLiveSpecification = { AttributeName: 'expiration', Enable: true };
    const problems = validateTemplate(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^EchoQueue\.Properties\.VisibilityTimout: not a property/),
        expect.stringMatching(/^IdempotencyTable\.Properties\.TimeToLiveSpecification\.Enable: not a property/),
        expect.stringMatching(/^IdempotencyTable\.Properties\.TimeToLiveSpecification\.Enabled: required property is missing/),
        expect.stringMatching(/Fn::GetAtt on unknown resource "NoSuchQueue"/),
      ]),
    );
  });

  it('routes POST /actions/{action} (and every other method, to answer 405) to the receiver', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(['ANY /actions/{action}', 'POST /actions/{action}']);
  });

  it('throttles every route, so a flood cannot run up cost or starve real clicks', () => {
    expect(resources().HttpApiStage!.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
  });

  it('runs every function on arm64 and Node 22, with log retention', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    }
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

  it('lets the receiver send to its own queues and read its own token parameter, nothing more', () => {
    expect(statements('ReceiverRole').slice(1)).toEqual([
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [{ 'Fn::GetAtt': ['EchoQueue', 'Arn'] }, { 'Fn::GetAtt': ['RestartHostQueue', 'Arn'] }] },
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

  it('keeps every worker zip within its budget, the receiver within its own', () => {
    const sizes = bundleSizes(test.dir);
    expect(sizes.map((s) => s.name).sort()).toEqual(['echoWorker', 'receiver', 'restartHostWorker']);
    for (const size of sizes) expect(size).toMatchObject({ budget: budgetOf(size.name), ok: true });
    expect(budgetOf('receiver')).toBe(BUDGETS.receiver);
    expect(budgetOf('echoWorker')).toBe(WORKER_BUDGET);
  });

  it("bundles each worker from its action's module, with only that action: no SSM client in the echo worker", async () => {
    expect(resources().EchoWorkerLambdaFunction!.Properties.Handler).toBe('lib/actions/echo.handler');
    expect(resources().RestartHostWorkerLambdaFunction!.Properties.Handler).toBe('lib/actions/restart-host/index.handler');
    const echo = (await readZipEntry(join(test.dir, 'echoWorker.zip'), 'lib/actions/echo.js')).toString();
    const restart = (await readZipEntry(join(test.dir, 'restartHostWorker.zip'), 'lib/actions/restart-host/index.js')).toString();
    expect(restart).toContain('"SSMClient"');
    expect(echo).not.toContain('"SSMClient"');
    expect(echo).not.toContain(restartHost.description);
  });

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
    const code = await readZipEntry(join(test.dir, 'receiver.zip'), 'functions/receiver.js');
    const dir = mkdtempSync(join(tmpdir(), 'receiver-bundle-'));
    writeFileSync(join(dir, 'receiver.js'), code);
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
      const script = `require('./receiver.js').handler(${JSON.stringify(event)}).then((r) => process.stdout.write(JSON.stringify(r)))`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
        cwd: dir,
        // What Lambda provides: credentials and region in the environment, nothing else.
        env: {
          PATH: process.env.PATH,
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
        },
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
