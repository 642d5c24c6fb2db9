import type { Action } from '../lib/actions/types';
import { actionConfig } from '../lib/config/worker';
import { queueUrlVariable } from '../lib/queue/names';
import {
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
 * queues, the idempotency table, alarms and outputs. Loaded by `deploy/serverless.cjs`.
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

/**
 * Where the webhook tokens live: WEBHOOK_TOKENS_PARAM, else (unless WEBHOOK_TOKENS is given in
 * plain text) the SSM SecureString `/flashduty-actions/<stage>/webhook-tokens`.
 */
export function tokensParameter(settings: StackSettings, env: NodeJS.ProcessEnv): string | undefined {
  if (env.WEBHOOK_TOKENS_PARAM) return env.WEBHOOK_TOKENS_PARAM;
  return env.WEBHOOK_TOKENS ? undefined : `/${settings.service}/${settings.stage}/webhook-tokens`;
}

/** Where the FlashDuty app key lives, on the same rule as the tokens. */
export function appKeyParameter(settings: StackSettings, env: NodeJS.ProcessEnv): string | undefined {
  if (env.FLASHDUTY_APP_KEY_PARAM) return env.FLASHDUTY_APP_KEY_PARAM;
  return env.FLASHDUTY_APP_KEY ? undefined : `/${settings.service}/${settings.stage}/flashduty-app-key`;
}

export function serverlessFunctions(settings: StackSettings, env: NodeJS.ProcessEnv): Json {
  const tokensParam = tokensParameter(settings, env);
  const functions: Json = {
    receiver: {
      handler: 'functions/receiver.handler',
      description: 'Verifies FlashDuty Custom Action pushes and queues them for the workers.',
      memorySize: 1024,
      timeout: 3,
      role: 'ReceiverRole',
      environment: {
        ENABLED_ACTIONS: settings.actions.map((a) => a.name).join(','),
        ...Object.fromEntries(settings.actions.map((a) => [queueUrlVariable(a.name), ref(queueLogicalId(a.name))])),
        ...(tokensParam ? { WEBHOOK_TOKENS_PARAM: tokensParam } : pick(env, ['WEBHOOK_TOKENS'])),
        ...pick(env, ['ALLOWED_IPS', 'MAX_EVENT_AGE_SECONDS', 'MAX_MESSAGE_BYTES', 'ENQUEUE_TIMEOUT_MS']),
      },
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
  actionConfig(action, env); // a bad action setting fails the deploy, not the first click
  const appKeyParam = appKeyParameter(settings, env);
  return {
    handler: 'functions/worker.handler',
    description: `Runs the "${action.name}" action for FlashDuty clicks and writes the result to the incident.`,
    timeout: workerTimeoutSeconds(action),
    memorySize: action.worker?.memorySize ?? 512,
    role: workerRoleId(action.name),
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      ACTION_NAME: action.name,
      QUEUE_URL: ref(queueLogicalId(action.name)),
      IDEMPOTENCY_TABLE: ref(IDEMPOTENCY_TABLE_ID),
      MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
      ...(appKeyParam ? { FLASHDUTY_APP_KEY_PARAM: appKeyParam } : pick(env, ['FLASHDUTY_APP_KEY'])),
      ...pick(env, ['DRY_RUN', 'RETRY_BASE_SECONDS', 'FLASHDUTY_API_URL', ...actionConfigKeys(action)]),
    },
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

/** The environment variables an action reads: the keys of its config schema. */
export function actionConfigKeys(action: Action<unknown>): string[] {
  return Object.keys((action.config as unknown as { shape?: object }).shape ?? {});
}

export function serverlessResources(settings: StackSettings, env: NodeJS.ProcessEnv): Json {
  const tokensParam = tokensParameter(settings, env);
  const receiverStatements: Json[] = [
    { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: settings.actions.map((a) => arn(queueLogicalId(a.name))) },
  ];
  if (tokensParam) receiverStatements.push(parameterReadStatement(tokensParam));

  const resources: Json = {
    ...queueResources(settings),
    [IDEMPOTENCY_TABLE_ID]: idempotencyTableResource(settings),
    ReceiverRole: role(functionName(settings, 'receiver'), receiverStatements),
  };
  for (const action of settings.actions) {
    resources[workerRoleId(action.name)] = role(functionName(settings, workerFunctionKey(action.name)), workerStatements(settings, env, action));
  }
  return {
    Resources: resources,
    Outputs: Object.fromEntries(
      settings.actions.map((a) => [
        `${logicalName(a.name)}ActionUrl`,
        { Description: `Endpoint URL for the FlashDuty Custom Action "${a.name}"`, Value: sub(`\${HttpApi.ApiEndpoint}/actions/${a.name}`) },
      ]),
    ),
  };
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
  const appKeyParam = appKeyParameter(settings, env);
  if (appKeyParam) statements.push(parameterReadStatement(appKeyParam));
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

function pick(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((key) => env[key] !== undefined && env[key] !== '').map((key) => [key, env[key]!]));
}
