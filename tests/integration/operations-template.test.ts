import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Packaged, packageStack } from '../../deploy/package-offline';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { METRICS_NAMESPACE, OUTCOME_STATUSES, REFUSAL_REASONS } from '../../lib/telemetry-names';
import { captureLogs } from '../fixtures/capture-logs';
import { clickWithIncident, sampleClick } from '../fixtures/clicks';
import { click, eventually, testEnv, FREE_PORTS } from './helpers';

const ROOT = join(__dirname, '..', '..');

/** What CloudFormation calls to create, update and delete each resource type the stack uses. */
const DEPLOYER_ACTIONS: Record<string, string[]> = {
  'AWS::ApiGatewayV2::Api': ['apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE', 'apigateway:GET'],
  'AWS::ApiGatewayV2::Integration': ['apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGatewayV2::Route': ['apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE'],
  'AWS::ApiGatewayV2::Stage': ['apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE', 'logs:CreateLogDelivery'],
  'AWS::CloudFront::Distribution': ['cloudfront:CreateDistribution', 'cloudfront:UpdateDistribution', 'cloudfront:DeleteDistribution', 'cloudfront:GetDistribution'],
  'AWS::CloudWatch::Alarm': ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms'],
  'AWS::CloudWatch::Dashboard': ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'],
  'AWS::DynamoDB::Table': ['dynamodb:CreateTable', 'dynamodb:UpdateTable', 'dynamodb:DeleteTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTimeToLive', 'dynamodb:DescribeTimeToLive'],
  'AWS::IAM::Role': ['iam:CreateRole', 'iam:DeleteRole', 'iam:GetRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PassRole'],
  'AWS::Lambda::Alias': ['lambda:CreateAlias', 'lambda:UpdateAlias', 'lambda:DeleteAlias', 'lambda:GetAlias'],
  'AWS::Lambda::EventSourceMapping': ['lambda:CreateEventSourceMapping', 'lambda:UpdateEventSourceMapping', 'lambda:DeleteEventSourceMapping', 'lambda:GetEventSourceMapping'],
  'AWS::Lambda::Function': ['lambda:CreateFunction', 'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:DeleteFunction', 'lambda:GetFunction'],
  'AWS::Lambda::Permission': ['lambda:AddPermission', 'lambda:RemovePermission'],
  'AWS::Lambda::Version': ['lambda:PublishVersion', 'lambda:ListVersionsByFunction'],
  'AWS::Logs::LogGroup': ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:DescribeLogGroups'],
  'AWS::Logs::QueryDefinition': ['logs:PutQueryDefinition', 'logs:DeleteQueryDefinition', 'logs:DescribeQueryDefinitions'],
  'AWS::S3::Bucket': ['s3:CreateBucket', 's3:DeleteBucket', 's3:PutEncryptionConfiguration', 's3:PutBucketPublicAccessBlock'],
  'AWS::S3::BucketPolicy': ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:DeleteBucketPolicy'],
  'AWS::SQS::Queue': ['sqs:CreateQueue', 'sqs:SetQueueAttributes', 'sqs:GetQueueAttributes', 'sqs:DeleteQueue'],
  'AWS::WAFv2::IPSet': ['wafv2:CreateIPSet', 'wafv2:UpdateIPSet', 'wafv2:DeleteIPSet', 'wafv2:GetIPSet'],
  'AWS::WAFv2::WebACL': ['wafv2:CreateWebACL', 'wafv2:UpdateWebACL', 'wafv2:DeleteWebACL', 'wafv2:GetWebACL'],
};

/** What CloudFormation calls for a property some stages set (README, "Receiver concurrency"), besides its type's. */
const PROPERTY_ACTIONS: Record<string, string[]> = {
  ReservedConcurrentExecutions: ['lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency'],
  ProvisionedConcurrencyConfig: ['lambda:PutProvisionedConcurrencyConfig', 'lambda:GetProvisionedConcurrencyConfig', 'lambda:DeleteProvisionedConcurrencyConfig'],
};

/** What the operator runs besides CloudFormation: osls uploads, setup, smoke, status, redrive, osls logs. */
const OPERATOR_ACTIONS = [
  'cloudformation:ValidateTemplate',
  's3:PutObject',
  'ssm:GetParameter',
  'ssm:PutParameter',
  'ssm:DeleteParameters',
  'lambda:InvokeFunction',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
  'sqs:SendMessage',
  'sqs:DeleteMessage',
  'logs:FilterLogEvents',
  'logs:DescribeLogStreams',
];

/** Every `emitMetric('Name', { dims })` call in lib/: the metric and its dimension keys, as the code emits them. */
function emittedMetrics(dir = 'lib'): Array<{ name: string; dimensions: string[]; file: string }> {
  return readdirSync(join(ROOT, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(ROOT, path)).isDirectory()) return emittedMetrics(path);
    if (!path.endsWith('.ts')) return [];
    const source = readFileSync(join(ROOT, path), 'utf8');
    return [...source.matchAll(/emitMetric\('(\w+)', \{([^}]*)\}/g)].map(([, name, dims]) => ({
      name: name!,
      dimensions: dims!.split(',').map((d) => d.split(':')[0]!.trim()).filter(Boolean).sort(),
      file: path,
    }));
  });
}

/** The fields a Logs Insights query names (not @-fields, not its own aliases). */
function queryFields(query: string): string[] {
  const fields = new Set<string>();
  const aliases = new Set([...query.matchAll(/\bas (\w+)/g)].map(([, alias]) => alias!));
  for (const line of query.split('\n')) {
    const [, command, rest] = /^\|?\s*(\w+)\s+(.*)$/.exec(line.trim()) ?? [];
    if (!command || !rest) continue;
    const text = rest.replace(/"[^"]*"/g, '""').replace(/\b\w+\([^)]*\)/g, '');
    for (const [word] of text.matchAll(/(?<![@\w])[a-z_][a-z0-9_]*/g)) {
      if (!['and', 'or', 'not', 'as', 'by', 'desc', 'asc', 'like', 'in'].includes(word) && !aliases.has(word)) fields.add(word);
    }
  }
  return [...fields].sort();
}

describe('the operations dashboard and saved queries in the packaged template', () => {
  let packaged: Packaged;
  beforeAll(async () => {
    // With the edge firewall and receiver concurrency, so the template holds every resource type and property a stage can have.
    packaged = await packageStack('ops', { ENABLED_ACTIONS: 'echo,restart-host', EDGE_FIREWALL: 'true', RECEIVER_RESERVED_CONCURRENCY: '20', RECEIVER_PROVISIONED_CONCURRENCY: '2' });
  }, 180_000);

  const ofType = (type: string) => Object.values(packaged.template.Resources).filter((r) => r.Type === type);
  /** The dashboard body as CloudFormation will render it. */
  const dashboard = () => {
    const [resource] = ofType('AWS::CloudWatch::Dashboard');
    return JSON.parse((resource!.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'].replace(/\$\{AWS::Region\}/g, 'us-east-1')) as {
      widgets: Array<{ properties: { title: string; metrics: Array<Array<string | object>> } }>;
    };
  };
  const lines = () => dashboard().widgets.flatMap((w) => w.properties.metrics.map((m) => m.filter((part): part is string => typeof part === 'string')));
  const ours = () => lines().filter(([namespace]) => namespace === METRICS_NAMESPACE);

  it('has one dashboard per stage, named after it', () => {
    expect(ofType('AWS::CloudWatch::Dashboard').map((r) => r.Properties.DashboardName)).toEqual(['flashduty-actions-ops']);
  });

  it('draws only metrics the code emits, each with exactly the dimensions the code gives it', () => {
    const emitted = emittedMetrics();
    expect(emitted.length).toBeGreaterThan(0);
    for (const [, name, ...pairs] of ours()) {
      const keys = pairs.filter((_, i) => i % 2 === 0).sort();
      expect({ name, keys }).toEqual({ name, keys: ['service', ...(emitted.find((e) => e.name === name)?.dimensions ?? ['<not emitted>'])].sort() });
    }
  });

  it('draws every metric the code emits', () => {
    const drawn = new Set(ours().map(([, name]) => name));
    expect(emittedMetrics().filter((e) => !drawn.has(e.name))).toEqual([]);
  });

  it('shows clicks refused by every reason, outcomes by action and status, duration, queue age, DLQ depth and FlashDuty API errors', () => {
    const values = (name: string, key: string) => ours().filter(([, n]) => n === name).map((line) => line[line.indexOf(key) + 1]);
    expect(values('ClickRefused', 'reason')).toEqual([...REFUSAL_REASONS]);
    expect(ours().filter(([, n]) => n === 'ActionOutcome').map((line) => `${line[line.indexOf('action') + 1]} ${line[line.indexOf('status') + 1]}`)).toEqual(
      ['echo', 'restart-host'].flatMap((action) => OUTCOME_STATUSES.map((status) => `${action} ${status}`)),
    );
    expect(values('ActionDuration', 'action')).toEqual(['echo', 'restart-host']);
    expect(values('FlashDutyApiError', 'service')).toEqual(['flashduty-actions']);
    const queueNames = ofType('AWS::SQS::Queue').map((q) => q.Properties.QueueName);
    const sqs = lines().filter(([namespace]) => namespace === 'AWS/SQS');
    expect(sqs.filter(([, metric]) => metric === 'ApproximateAgeOfOldestMessage').map((l) => l[3])).toEqual(['flashduty-actions-ops-echo.fifo', 'flashduty-actions-ops-restart-host.fifo']);
    expect(sqs.filter(([, metric]) => metric === 'ApproximateNumberOfMessagesVisible').map((l) => l[3])).toEqual(['flashduty-actions-ops-echo-dlq.fifo', 'flashduty-actions-ops-restart-host-dlq.fifo']);
    expect(sqs.every((line) => queueNames.includes(line[3]))).toBe(true);
  });

  it("saves three Logs Insights queries over the stage's function log groups, created after them", () => {
    const queries = ofType('AWS::Logs::QueryDefinition');
    expect(queries.map((q) => q.Properties.Name)).toEqual([
      'flashduty-actions-ops/refusals by reason',
      'flashduty-actions-ops/failed runs with their incident',
      "flashduty-actions-ops/one click's path by event id",
    ]);
    const groups = Object.entries(packaged.template.Resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    for (const query of queries) {
      expect(query.Properties.LogGroupNames).toEqual(['receiver', 'echoWorker', 'restartHostWorker'].map((key) => `/aws/lambda/flashduty-actions-ops-${key}`));
      for (const name of query.Properties.LogGroupNames) expect(groups.find(([, g]) => g.Properties.LogGroupName === name)).toBeDefined();
      expect(query.DependsOn).toEqual(expect.arrayContaining(['ReceiverLogGroup', 'EchoWorkerLogGroup', 'RestartHostWorkerLogGroup']));
    }
  });

  it('lets the deployer policy (deploy/deployer-policy.json) create, update and delete every resource type in the template', () => {
    const policy = JSON.parse(readFileSync(join(ROOT, 'deploy', 'deployer-policy.json'), 'utf8')) as { Statement: Array<{ Effect: string; Action: string[] }> };
    const allowed = policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action);
    const types = [...new Set(Object.values(packaged.template.Resources).map((r) => r.Type))].sort();
    const missing = types.flatMap((type) => {
      const needed = DEPLOYER_ACTIONS[type];
      if (!needed) return [`${type}: not in the test's table; add what creating, updating and deleting it needs, and grant it in the policy`];
      return needed.filter((action) => !allowed.includes(action)).map((action) => `${type}: ${action}`);
    });
    const properties = new Set(Object.values(packaged.template.Resources).flatMap((r) => Object.keys(r.Properties ?? {})));
    const forProperties = Object.entries(PROPERTY_ACTIONS).flatMap(([property, needed]) => {
      if (!properties.has(property)) return [`${property}: not in the template; the test packages a stage that sets it`];
      return needed.filter((action) => !allowed.includes(action)).map((action) => `${property}: ${action}`);
    });
    expect([...missing, ...forProperties]).toEqual([]);
    // The operator scripts too: setup, smoke, status, redrive, and osls itself.
    expect(OPERATOR_ACTIONS.filter((action) => !allowed.includes(action))).toEqual([]);
  });

  describe('name only fields the receiver and workers really log', () => {
    let stack: LocalStack;
    let logged: Set<string>;
    beforeAll(async () => {
      stack = await startLocalStack({ env: testEnv({ ...FREE_PORTS, RETRY_BASE_SECONDS: '60' }), port: 0 });
      const lines = await captureLogs(async () => {
        await click(stack.receiverUrl, 'echo', sampleClick(), { token: 'wrong-token-0123456789' }); // refused
        await click(stack.receiverUrl, 'echo', { event_time: 'yesterday' }); // refused, with a detail
        const noTarget = clickWithIncident({ labels: {}, alerts: [] });
        await click(stack.receiverUrl, 'restart-host', noTarget); // a failed run
        await eventually(() => stack.flashduty!.comments().find((c) => c.includes(`event ${noTarget.event_id}`)), 15_000, 'the failed comment');
        // A write-back that fails: an ERROR line with the error, on a retried run.
        stack.flashduty!.intercept = ({ path }) => (path === '/incident/comment' ? { status: 400, body: '{"error":{"code":"InvalidParameter","message":"no"}}' } : undefined);
        await click(stack.receiverUrl, 'echo', sampleClick());
        await eventually(() => stack.flashduty!.calls.some((c) => c.path === '/incident/comment'), 15_000, 'the refused comment');
        await new Promise((resolve) => setTimeout(resolve, 500));
      });
      logged = new Set(lines.filter((l) => l.startsWith('{')).flatMap((l) => Object.keys(JSON.parse(l) as object)));
    }, 60_000);
    afterAll(() => stack.stop());

    it.each(['RefusalsQuery', 'FailedRunsQuery', 'ClickPathQuery'])('%s', (id) => {
      const query = packaged.template.Resources[id]!.Properties.QueryString as string;
      const fields = queryFields(query);
      expect(fields.length).toBeGreaterThan(3);
      expect(fields.filter((field) => !logged.has(field))).toEqual([]);
    });
  });
});
