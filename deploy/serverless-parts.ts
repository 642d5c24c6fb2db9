import type { Action } from '../lib/actions/types';
import { actionConfig } from '../lib/config/worker';
import * as v from 'valibot';
import { intVar, readConfig, stringVar } from '../lib/config/env';
import { ReceiverEnv } from '../lib/config/receiver';
import { secretParameters } from '../lib/config/secret';
import { WorkerEnv } from '../lib/config/worker';
import { checkEnvSize, functionEnv } from './function-env';
import { queueUrlVariable } from '../lib/queue/names';
import {
  dlqLogicalId,
  IDEMPOTENCY_TABLE_ID,
  idempotencyTableResource,
  logicalName,
  queueLogicalId,
  queueResources,
  type StackSettings,
  workerTimeoutSeconds,
} from './stack';

/**
 * The parts of `serverless.yml` that depend on which actions are enabled: functions, IAM roles,
 * queues, the idempotency table, alarms and outputs. Loaded by `deploy/serverless.js`.
 */

type Json = Record<string, unknown>;

const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const ref = (logicalId: string) => ({ Ref: logicalId });
const sub = (text: string) => ({ 'Fn::Sub': text });

export const workerFunctionKey = (action: string) => `${logicalName(action).replace(/^./, (c) => c.toLowerCase())}Worker`;
export const workerRoleId = (action: string) => `${logicalName(action)}WorkerRole`;

export function functionName(settings: StackSettings, name: string): string {
  return `${settings.service}-${settings.stage}-${name}`;
}

/** The receiver's environment, files and secret parameters, from the schema it reads. */
export const receiverEnv = (settings: StackSettings, env: NodeJS.ProcessEnv) => functionEnv(settings, env, [['receiver', ReceiverEnv]]);

/** A worker's: the worker schema and its action's. */
export const workerEnv = (settings: StackSettings, env: NodeJS.ProcessEnv, action: Action<unknown>) =>
  functionEnv(settings, env, [
    ['worker', WorkerEnv],
    [action.name, action.config],
  ]);

export function serverlessFunctions(settings: StackSettings, env: NodeJS.ProcessEnv): Json {
  const environment = {
    ...receiverEnv(settings, env).environment,
    ENABLED_ACTIONS: settings.actions.map((a) => a.name).join(','),
    ...Object.fromEntries(settings.actions.map((a) => [queueUrlVariable(a.name), ref(queueLogicalId(a.name))])),
  };
  checkEnvSize('receiver', environment);
  const functions: Json = {
    receiver: {
      handler: 'functions/receiver.handler',
      description: 'Verifies FlashDuty Custom Action pushes and queues them for the workers.',
      memorySize: 1024,
      timeout: 3,
      role: 'ReceiverRole',
      environment,
      events: [
        { httpApi: { method: 'POST', path: '/actions/{action}' } },
        // Any other method reaches the receiver too, so it can answer 405 instead of a bare 404.
        { httpApi: { method: '*', path: '/actions/{action}' } },
      ],
    },
  };
  for (const action of settings.actions) functions[workerFunctionKey(action.name)] = workerFunction(settings, env, action);
  return functions;
}

function workerFunction(settings: StackSettings, env: NodeJS.ProcessEnv, action: Action<unknown>): Json {
  actionConfig(action, env); // a bad action setting (or _FILE) fails the package, naming the key, not the first click
  const derived = workerEnv(settings, env, action);
  const environment = {
    ...derived.environment,
    NODE_OPTIONS: '--enable-source-maps',
    ACTION_NAME: action.name,
    QUEUE_URL: ref(queueLogicalId(action.name)),
    IDEMPOTENCY_TABLE: ref(IDEMPOTENCY_TABLE_ID),
    MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
  };
  checkEnvSize(`${action.name} worker`, { ...environment, ...PROVIDER_ENVIRONMENT });
  return {
    handler: 'functions/worker.handler',
    description: `Runs the "${action.name}" action for FlashDuty clicks and writes the result to the incident.`,
    timeout: workerTimeoutSeconds(action),
    memorySize: action.worker?.memorySize ?? 512,
    role: workerRoleId(action.name),
    environment,
    // Structured config given as a file ships in this worker's zip at the same relative path.
    ...(derived.files.length > 0 && { package: { patterns: derived.files } }),
    events: [
      {
        sqs: {
          arn: arn(queueLogicalId(action.name)),
          batchSize: 10,
          functionResponseType: 'ReportBatchItemFailures',
        },
      },
    ],
  };
}

/** What serverless.yml's provider.environment adds to every function, counted against the size limit. */
const PROVIDER_ENVIRONMENT = { POWERTOOLS_SERVICE_NAME: 'flashduty-actions', POWERTOOLS_LOG_LEVEL: 'INFO' };

/** Every SSM parameter a worker may read: its declared secrets, and those its structured config refers to. */
export function workerParameters(settings: StackSettings, env: NodeJS.ProcessEnv, action: Action<unknown>): string[] {
  return [...new Set([...workerEnv(settings, env, action).parameters, ...secretParameters(actionConfig(action, env))])];
}

export const ServerlessEnv = v.object({
  API_THROTTLE_RATE: intVar(10, 1, 10_000, 'Requests per second the HTTP API accepts (all routes).'),
  API_THROTTLE_BURST: intVar(20, 1, 5_000, 'Burst the HTTP API accepts.'),
  ALARM_TOPIC_ARN: stringVar(undefined, 'SNS topic for the alarms (dead letters, worker and receiver errors, queue unavailable).'),
  // Read by serverless.yml itself (${env:...}).
  LOG_RETENTION_DAYS: intVar(30, 1, 3653, 'CloudWatch Logs retention, in days.'),
  LOG_LEVEL: stringVar('INFO', 'Becomes `POWERTOOLS_LOG_LEVEL` in every function.'),
});

/** The receiver's Lambda logical id as serverless names it, and each worker's. */
export const RECEIVER_FUNCTION_ID = 'ReceiverLambdaFunction';
export const workerFunctionId = (action: string) => `${logicalName(action)}WorkerLambdaFunction`;

export function serverlessResources(settings: StackSettings, env: NodeJS.ProcessEnv): Json {
  const deploy = readConfig(ServerlessEnv, env, 'deploy configuration');
  const receiverStatements: Json[] = [
    { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: settings.actions.map((a) => arn(queueLogicalId(a.name))) },
    ...receiverEnv(settings, env).parameters.map(parameterReadStatement),
  ];

  const resources: Json = {
    ...queueResources(settings),
    [IDEMPOTENCY_TABLE_ID]: idempotencyTableResource(settings),
    ReceiverRole: role(functionName(settings, 'receiver'), receiverStatements),
  };
  for (const action of settings.actions) {
    resources[workerRoleId(action.name)] = role(functionName(settings, workerFunctionKey(action.name)), workerStatements(settings, env, action));
  }
  Object.assign(resources, alarms(settings, deploy.ALARM_TOPIC_ARN));
  return {
    Resources: resources,
    // A flood (or a leaked URL) cannot run up cost or starve real clicks: every route is throttled.
    extensions: {
      HttpApiStage: {
        Properties: {
          DefaultRouteSettings: {
            DetailedMetricsEnabled: true,
            ThrottlingRateLimit: deploy.API_THROTTLE_RATE,
            ThrottlingBurstLimit: deploy.API_THROTTLE_BURST,
          },
        },
      },
    },
    Outputs: Object.fromEntries(
      settings.actions.map((a) => [
        `${logicalName(a.name)}ActionUrl`,
        { Description: `Endpoint URL for the FlashDuty Custom Action "${a.name}"`, Value: sub(`\${HttpApi.ApiEndpoint}/actions/${a.name}`) },
      ]),
    ),
  };
}

/**
 * Alarms that need a human: a click in a DLQ (it failed for good), a worker or the receiver
 * erroring, and the receiver unable to reach its queues. Sent to ALARM_TOPIC_ARN when given.
 */
function alarms(settings: StackSettings, topicArn: string | undefined): Json {
  const actions = topicArn ? { AlarmActions: [topicArn], OKActions: [topicArn] } : {};
  const alarm = (description: string, metric: Json, threshold = 1): Json => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: threshold,
      EvaluationPeriods: 1,
      Period: 60,
      Statistic: 'Sum',
      TreatMissingData: 'notBreaching',
      ...metric,
      ...actions,
    },
  });
  const lambdaErrors = (id: string) => ({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: ref(id) }] });
  const result: Json = {
    ReceiverErrorsAlarm: alarm('The receiver Lambda is failing: FlashDuty clicks may be lost.', lambdaErrors(RECEIVER_FUNCTION_ID)),
    ReceiverQueueUnavailableAlarm: alarm('The receiver could not put clicks on their queue (answered 503).', {
      Namespace: 'FlashdutyActions',
      MetricName: 'ClickRefused',
      Dimensions: [
        { Name: 'service', Value: settings.service },
        { Name: 'reason', Value: 'queue_unavailable' },
      ],
    }),
  };
  for (const action of settings.actions) {
    const name = logicalName(action.name);
    result[`${name}DeadLetterAlarm`] = alarm(`A "${action.name}" click failed for good and is in the dead-letter queue; see README "Operations" to redrive it.`, {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqLogicalId(action.name), 'QueueName'] } }],
    });
    result[`${name}WorkerErrorsAlarm`] = alarm(`The "${action.name}" worker crashed or timed out.`, lambdaErrors(workerFunctionId(action.name)));
  }
  return result;
}

/** A worker may consume its own queue, use the idempotency table, read the app key, and whatever its action declares. */
function workerStatements(settings: StackSettings, env: NodeJS.ProcessEnv, action: Action<unknown>): Json[] {
  const statements: Json[] = [
    {
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
      Resource: arn(queueLogicalId(action.name)),
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: arn(IDEMPOTENCY_TABLE_ID),
    },
  ];
  statements.push(...workerParameters(settings, env, action).map(parameterReadStatement));
  const declared = action.worker?.iam?.(actionConfig(action, env)) ?? [];
  return [...statements, ...declared.map((statement) => ({ ...statement, Resource: substituted(statement.Resource) }))];
}

/** Wraps resource strings that use `${AWS::...}` in Fn::Sub. */
function substituted(resource: unknown): unknown {
  if (Array.isArray(resource)) return resource.map(substituted);
  return typeof resource === 'string' && resource.includes('${') ? sub(resource) : resource;
}

/** Lets a function write its own log group and nothing else. */
function logsStatement(functionName: string): Json {
  return {
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}:*`),
  };
}

function role(functionName: string, statements: Json[]): Json {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: 'least-privilege', PolicyDocument: { Version: '2012-10-17', Statement: [logsStatement(functionName), ...statements] } }],
    },
  };
}

/** Read (and decrypt with the AWS managed key) one SSM parameter, named with or without a leading slash. */
function parameterReadStatement(name: string): Json {
  const path = name.startsWith('/') ? name : `/${name}`;
  return {
    Effect: 'Allow',
    Action: ['ssm:GetParameter'],
    Resource: sub(`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${path}`),
  };
}
