import { queueUrlVariable } from '../lib/queue/names';
import { logicalName, queueLogicalId, queueResources, type StackSettings } from './stack';

/**
 * The parts of `serverless.yml` that depend on which actions are enabled: functions, IAM roles,
 * queues, alarms and outputs. Loaded by `deploy/serverless.cjs`.
 */

type Json = Record<string, unknown>;

const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const ref = (logicalId: string) => ({ Ref: logicalId });

/** Lets a function write its own log group and nothing else. */
function logsStatement(functionName: string): Json {
  return {
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}:*` },
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

export function serverlessFunctions(settings: StackSettings, env: NodeJS.ProcessEnv): Json {
  const tokensParam = tokensParameter(settings, env);
  return {
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
}

export function serverlessResources(settings: StackSettings, env: NodeJS.ProcessEnv): Json {
  const tokensParam = tokensParameter(settings, env);
  const receiverStatements: Json[] = [
    { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: settings.actions.map((a) => arn(queueLogicalId(a.name))) },
  ];
  if (tokensParam) receiverStatements.push(parameterReadStatement(tokensParam));
  return {
    Resources: {
      ...queueResources(settings),
      ReceiverRole: role(functionName(settings, 'receiver'), receiverStatements),
    },
    Outputs: Object.fromEntries(
      settings.actions.map((a) => [
        `${logicalName(a.name)}ActionUrl`,
        {
          Description: `Endpoint URL for the FlashDuty Custom Action "${a.name}"`,
          Value: { 'Fn::Sub': `\${HttpApi.ApiEndpoint}/actions/${a.name}` },
        },
      ]),
    ),
  };
}

/** Read (and decrypt with the AWS managed key) one SSM parameter, named with or without a leading slash. */
function parameterReadStatement(name: string): Json {
  const path = name.startsWith('/') ? name : `/${name}`;
  return {
    Effect: 'Allow',
    Action: ['ssm:GetParameter'],
    Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${path}` },
  };
}

function pick(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((key) => env[key] !== undefined && env[key] !== '').map((key) => [key, env[key]!]));
}
