import { ACTIONS } from '../lib/actions/registry';
import type { Action } from '../lib/actions/types';
import { actionConfig } from '../lib/config/worker';
import * as v from 'valibot';
import { boolVar, intVar, readConfig, stringVar } from '../lib/schema/env';
import { ConfigError } from '../lib/errors';
import { cloudWatchMetric, type Refusal, SERVICE_NAME as SERVICE } from '../lib/telemetry-names';
import { EDGE_HEADER } from '../lib/auth/edge';
import { EventRulesEnv, ReceiverEnv } from '../lib/config/receiver';
import { actionSchemas, guardrailConfig } from '../lib/config/guardrails';
import { EVENTS_PATH } from '../lib/receiver/events';
import { checkRules, raisedByOurWrites } from '../lib/triggers/rules';
import { secretParameters } from '../lib/schema/secret';
import { flashdutyAccountLimits, WorkerEnv } from '../lib/config/worker';
import { instanceWindows } from '../lib/flashduty/rate-limit';
import { checkEnvSize, functionEnv } from './function-env';
import { queueNames, queueUrlVariable } from '../lib/queue/names';
import { operationsResources } from './operations';
import {
  dlqLogicalId,
  IDEMPOTENCY_TABLE_ID,
  idempotencyTableResource,
  logicalName,
  queueLogicalId,
  queueResources,
  type StackSettings,
  flashdutyRateShare,
  workerTimeoutSeconds,
} from './stack';

// Shared with the esbuild plugin that builds each worker from its action's module.
const { actionModule } = require('./worker-bundle.cjs') as { actionModule: (action: string) => string };

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
  functionEnv(settings, env, [['worker', WorkerEnv], ...actionSchemas(action)]);

/** The SSM String parameter holding the secret CloudFront adds (EDGE_FIREWALL only). */
export function edgeSecretParameter(settings: StackSettings): string {
  return `/${settings.service}/${settings.stage}/edge-secret`;
}

/**
 * AWS's name limits for what the stage's name goes into: a long stage would package cleanly and
 * then fail in CloudFormation, half deployed. Lambda function names take 64 characters, SQS queue
 * names 80.
 */
function checkNameLengths(settings: StackSettings): void {
  const names = [
    ...['receiver', ...settings.actions.map((a) => workerFunctionKey(a.name))].map((key) => ({ name: functionName(settings, key), max: 64, what: "Lambda's function name limit" })),
    ...settings.actions.map((a) => ({ name: queueNames(`${settings.service}-${settings.stage}`, a.name).dlq, max: 80, what: "SQS's queue name limit" })),
  ];
  // The name furthest over its limit, so the length suggested fits every name.
  const over = names.filter(({ name, max }) => name.length > max).sort((a, b) => b.name.length - b.max - (a.name.length - a.max))[0];
  if (over) {
    throw new ConfigError(`stage "${settings.stage}" makes the name ${over.name} ${over.name.length} characters long, over ${over.what} of ${over.max}; use a stage name at most ${settings.stage.length - (over.name.length - over.max)} characters long`);
  }
}

/**
 * The functions by name only (the receiver and a worker per action ENABLED_ACTIONS names that the
 * registry knows), for osls commands that build nothing when the configuration fails its checks.
 */
export function functionNamesOnly(env: NodeJS.ProcessEnv): Json {
  const known = new Set(ACTIONS.map((a) => a.name));
  const actions = (env.ENABLED_ACTIONS ?? 'echo').split(',').map((name) => name.trim()).filter((name) => known.has(name));
  return {
    receiver: { handler: 'functions/receiver.handler' },
    ...Object.fromEntries(actions.map((action) => [workerFunctionKey(action), { handler: `${actionModule(action)}.handler` }])),
  };
}

export function serverlessFunctions(settings: StackSettings, env: NodeJS.ProcessEnv): Json {
  checkNameLengths(settings);
  instanceWindows(flashdutyAccountLimits(env), flashdutyRateShare(settings)); // too many instances for FlashDuty's rate fails the package
  const { EDGE_FIREWALL } = readConfig(ServerlessEnv, env, 'deploy configuration');
  // A bad rule (or one running an action this stack does not deploy) fails the package, not the cold start.
  const { EVENT_RULES, EVENT_SELF_PERSON_IDS } = readConfig(EventRulesEnv, env, 'receiver configuration');
  checkRules(EVENT_RULES, settings.actions.map((a) => a.name), EVENT_SELF_PERSON_IDS);
  const derived = receiverEnv(settings, env);
  const environment = {
    ...derived.environment,
    ENABLED_ACTIONS: settings.actions.map((a) => a.name).join(','),
    ...Object.fromEntries(settings.actions.map((a) => [queueUrlVariable(a.name), ref(queueLogicalId(a.name))])),
    ...(EDGE_FIREWALL && { EDGE_SECRET_PARAM: edgeSecretParameter(settings) }),
  };
  checkEnvSize('receiver', { ...environment, ...PROVIDER_ENVIRONMENT });
  const functions: Json = {
    receiver: {
      handler: 'functions/receiver.handler',
      description: 'Verifies FlashDuty Custom Action pushes and queues them for the workers.',
      memorySize: RECEIVER_MEMORY_MB,
      timeout: 3,
      ...receiverConcurrency(env),
      role: 'ReceiverRole',
      environment,
      // EVENT_RULES_FILE ships in the receiver's zip, as JSON (function-env.ts).
      ...(derived.files.length > 0 && { package: { patterns: derived.files } }),
      events: [
        // One route per action, so each gets its own throttle bucket (see API_THROTTLE_RATE).
        ...settings.actions.map((a) => ({ httpApi: { method: 'POST', path: actionPath(a.name) } })),
        // FlashDuty's Incident Webhook, with a bucket of its own (EVENT_THROTTLE_RATE).
        { httpApi: { method: 'POST', path: EVENTS_PATH } },
        // Anything else (another method, an unknown action) still reaches the receiver, which answers
        // 403/405/404 instead of a bare 404, through a small bucket of its own.
        { httpApi: { method: '*', path: CATCH_ALL_PATH } },
      ],
    },
  };
  for (const action of settings.actions) functions[workerFunctionKey(action.name)] = workerFunction(settings, env, action);
  return functions;
}

function workerFunction(settings: StackSettings, env: NodeJS.ProcessEnv, action: Action<unknown>): Json {
  // A bad action setting (or _FILE, or guardrail) fails the package, naming the key, not the first click.
  actionConfig(action, env);
  guardrailConfig(action.name, env);
  const derived = workerEnv(settings, env, action);
  const environment = {
    ...derived.environment,
    NODE_OPTIONS: '--enable-source-maps',
    ACTION_NAME: action.name,
    QUEUE_URL: ref(queueLogicalId(action.name)),
    IDEMPOTENCY_TABLE: ref(IDEMPOTENCY_TABLE_ID),
    MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
    FLASHDUTY_RATE_SHARE: String(flashdutyRateShare(settings)),
  };
  checkEnvSize(`${action.name} worker`, { ...environment, ...PROVIDER_ENVIRONMENT });
  return {
    // functions/worker.ts, bundled with only this action (deploy/worker-bundle.cjs): a handler per
    // action module, because serverless-esbuild builds one bundle per distinct handler file.
    handler: `${(settings.moduleOf ?? actionModule)(action.name)}.handler`,
    description: `Runs the "${action.name}" action for FlashDuty clicks and writes the result to the incident.`,
    timeout: workerTimeoutSeconds(action),
    memorySize: action.worker?.memorySize ?? 512,
    role: workerRoleId(action.name),
    environment,
    // Structured settings given as files ship in this worker's zip, as JSON (function-env.ts).
    ...(derived.files.length > 0 && { package: { patterns: derived.files } }),
    events: [
      {
        sqs: {
          arn: arn(queueLogicalId(action.name)),
          batchSize: 10,
          functionResponseType: 'ReportBatchItemFailures',
          // A storm may not take the account's Lambda concurrency from everything else, and the
          // workers' FlashDuty rate is split over exactly these instances (flashdutyRateShare).
          maximumConcurrency: settings.workerMaxConcurrency,
        },
      },
    ],
  };
}

export const RECEIVER_MEMORY_MB = 1024;

/**
 * Optional receiver concurrency (README "Performance"): reserved concurrency keeps that many
 * instances of the account's pool for the receiver (free); provisioned concurrency keeps that many
 * initialised, so a storm's first clicks skip the cold start (billed by the hour). 0 leaves either unset.
 */
function receiverConcurrency(env: NodeJS.ProcessEnv): Json {
  const { RECEIVER_RESERVED_CONCURRENCY: reserved, RECEIVER_PROVISIONED_CONCURRENCY: provisioned } = readConfig(ServerlessEnv, env, 'deploy configuration');
  if (reserved > 0 && provisioned > reserved) {
    throw new ConfigError(`RECEIVER_PROVISIONED_CONCURRENCY (${provisioned}) exceeds RECEIVER_RESERVED_CONCURRENCY (${reserved}); Lambda refuses more provisioned than reserved instances`);
  }
  return { ...(reserved > 0 && { reservedConcurrency: reserved }), ...(provisioned > 0 && { provisionedConcurrency: provisioned }) };
}

/** What serverless.yml's provider.environment adds to every function, counted against the size limit. */
const PROVIDER_ENVIRONMENT = { POWERTOOLS_SERVICE_NAME: SERVICE, POWERTOOLS_LOG_LEVEL: 'INFO' };

/** Every SSM parameter a worker may read: its declared secrets, and those its structured config refers to. */
export function workerParameters(settings: StackSettings, env: NodeJS.ProcessEnv, action: Action<unknown>): string[] {
  return [...new Set([...workerEnv(settings, env, action).parameters, ...secretParameters(actionConfig(action, env))])];
}

export const actionPath = (action: string) => `/actions/${action}`;
export const CATCH_ALL_PATH = '/actions/{action}';
export const actionRouteKey = (action: string) => `POST ${actionPath(action)}`;
export const CATCH_ALL_ROUTE_KEY = `ANY ${CATCH_ALL_PATH}`;
export const EVENTS_ROUTE_KEY = `POST ${EVENTS_PATH}`;

/**
 * The logical id osls gives a route (its naming.getHttpApiRouteLogicalId): the stage must depend on
 * the routes its RouteSettings name, or CloudFormation may create it first and fail with "Unable
 * to find Route by key". The template test checks these ids against what osls generates.
 */
export function routeLogicalId(routeKey: string): string {
  const part = (text: string) => {
    const normalized = text.toLowerCase().replace(/-/g, 'Dash').replace(/\{(.*)\}/g, '$1Var').replace(/[^0-9A-Za-z]/g, '');
    return normalized.charAt(0).toUpperCase() + normalized.slice(1);
  };
  return `HttpApiRoute${routeKey.split('/').map(part).join('')}`;
}

/**
 * Requests per second no caller may exceed on the catch-all route: enough to answer a
 * misconfigured button, too little for a flood of junk to matter.
 */
export const CATCH_ALL_THROTTLE = { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 5 };

export const ServerlessEnv = v.object({
  // Per action route. FlashDuty sends one push per click (plus at most one retry), but in an outage
  // many responders click the same button on many incidents, and a 429 is a click lost (FlashDuty
  // never retries). The IP and token checks still refuse anyone else, inside the Lambda.
  API_THROTTLE_RATE: intVar(25, 1, 10_000, 'Requests per second each action route accepts (other requests: 1/s, burst 5).'),
  API_THROTTLE_BURST: intVar(50, 1, 5_000, 'Burst each action route accepts.'),
  // Every subscribed lifecycle event of every incident comes here: a storm is hundreds a second.
  EVENT_THROTTLE_RATE: intVar(200, 1, 10_000, 'Requests per second the `POST /events` route (Incident Webhook) accepts.'),
  EVENT_THROTTLE_BURST: intVar(400, 1, 5_000, 'Burst the `POST /events` route accepts.'),
  ALARM_TOPIC_ARN: stringVar(undefined, 'SNS topic for the alarms (dead letters, worker and receiver errors, queue unavailable, rule loops held back); packaging warns when unset.'),
  RECEIVER_RESERVED_CONCURRENCY: intVar(0, 0, 10_000, 'Instances kept for the receiver out of the account\'s Lambda concurrency (free; also its ceiling: a click beyond it is refused); 0: none.'),
  RECEIVER_PROVISIONED_CONCURRENCY: intVar(0, 0, 10_000, 'Receiver instances kept initialised, so no click waits for a cold start (billed hourly, see Performance); 0: none.'),
  EDGE_FIREWALL: boolVar(false, 'Put the API behind CloudFront with a WAF allowing only `ALLOWED_IPS` (us-east-1 only; see Security notes).'),
  // FlashDuty sends every click of every account from a few addresses: the limit is per address, not per responder.
  EDGE_RATE_LIMIT: intVar(3000, 100, 2_000_000_000, 'With `EDGE_FIREWALL`: requests to `/actions/…` one address may send in 5 minutes before the WAF blocks it for a while.'),
  // The WAF allows the receiver's own list: one declaration, read here too.
  ALLOWED_IPS: ReceiverEnv.entries.ALLOWED_IPS,
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
    // GetQueueAttributes: the read a cold receiver makes to warm its SQS client (lib/receiver/wiring.ts).
    { Effect: 'Allow', Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], Resource: settings.actions.map((a) => arn(queueLogicalId(a.name))) },
    ...receiverEnv(settings, env).parameters.map(parameterReadStatement),
  ];
  if (deploy.EDGE_FIREWALL) receiverStatements.push(parameterReadStatement(edgeSecretParameter(settings)));

  const resources: Json = {
    ...queueResources(settings),
    [IDEMPOTENCY_TABLE_ID]: idempotencyTableResource(settings),
    ReceiverRole: role(functionName(settings, 'receiver'), receiverStatements),
  };
  for (const action of settings.actions) {
    resources[workerRoleId(action.name)] = role(functionName(settings, workerFunctionKey(action.name)), workerStatements(settings, env, action));
  }
  const { EVENT_RULES } = readConfig(EventRulesEnv, env, 'receiver configuration');
  const loopWatched = EVENT_RULES.filter((rule) => rule.on.some(raisedByOurWrites)).map((rule) => rule.run);
  Object.assign(resources, alarms(settings, deploy.ALARM_TOPIC_ARN, new Set(loopWatched)));
  // The dashboard and saved queries (deploy/operations.ts); osls names a function's log group <Key>LogGroup.
  const functionKeys = ['receiver', ...settings.actions.map((a) => workerFunctionKey(a.name))];
  Object.assign(resources, operationsResources(settings, functionKeys, functionKeys.map((key) => `${logicalName(key)}LogGroup`)));
  if (deploy.EDGE_FIREWALL) Object.assign(resources, edgeResources(settings, deploy.ALLOWED_IPS, deploy.EDGE_RATE_LIMIT));
  const endpoint = deploy.EDGE_FIREWALL ? 'https://${EdgeDistribution.DomainName}' : '${HttpApi.ApiEndpoint}';
  return {
    Resources: resources,
    extensions: { HttpApiStage: stageThrottles(settings, deploy) },
    Outputs: {
      ...Object.fromEntries(
        settings.actions.map((a) => [
          `${logicalName(a.name)}ActionUrl`,
          { Description: `Endpoint URL for the FlashDuty Custom Action "${a.name}"`, Value: sub(`${endpoint}${actionPath(a.name)}`) },
        ]),
      ),
      EventsUrl: { Description: 'Endpoint URL for the FlashDuty Incident Webhook (event rules)', Value: sub(`${endpoint}${EVENTS_PATH}`) },
    },
  };
}

/**
 * Route-level throttles: each action's POST route has its own bucket, so junk on one URL (or on the
 * catch-all route) cannot use up the budget real clicks on another action need. Route settings do
 * not inherit the stage defaults, so each repeats DetailedMetricsEnabled.
 */
function stageThrottles(settings: StackSettings, deploy: v.InferOutput<typeof ServerlessEnv>): Json {
  const perAction = { DetailedMetricsEnabled: true, ThrottlingRateLimit: deploy.API_THROTTLE_RATE, ThrottlingBurstLimit: deploy.API_THROTTLE_BURST };
  const events = { DetailedMetricsEnabled: true, ThrottlingRateLimit: deploy.EVENT_THROTTLE_RATE, ThrottlingBurstLimit: deploy.EVENT_THROTTLE_BURST };
  const routeKeys = settings.actions.map((a) => actionRouteKey(a.name));
  return {
    DependsOn: [...routeKeys, EVENTS_ROUTE_KEY, CATCH_ALL_ROUTE_KEY].map(routeLogicalId),
    Properties: {
      DefaultRouteSettings: { DetailedMetricsEnabled: true, ...CATCH_ALL_THROTTLE },
      RouteSettings: { ...Object.fromEntries(routeKeys.map((key) => [key, perAction])), [EVENTS_ROUTE_KEY]: events },
    },
  };
}

/** WAF: requests to an action route (`/actions/...`), the only ones the edge rate-limits per IP. */
const ACTION_PATHS = {
  ByteMatchStatement: { SearchString: '/actions/', FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: 'NONE' }], PositionalConstraint: 'STARTS_WITH' },
};

/** CloudFront's managed policies: no caching; forward every viewer header (Authorization too) but Host. */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

/**
 * The optional edge (EDGE_FIREWALL=true). HTTP APIs take neither a WAF nor a resource policy, so
 * the only way to refuse foreign callers before API Gateway and Lambda is to put CloudFront in
 * front with a WAF web ACL allowing only ALLOWED_IPS (IPv4), and a per-IP rate limit. CloudFront
 * adds a secret header (from an SSM String parameter, resolved at deploy time) that the receiver
 * requires instead of checking the source IP, which behind CloudFront is CloudFront's. The
 * execute-api URL stays reachable, but without the secret every request to it gets 403. A
 * CLOUDFRONT-scoped web ACL exists only in us-east-1, so the stack must be deployed there.
 */
function edgeResources(settings: StackSettings, allowedIps: string[], rateLimit: number): Record<string, Json> {
  const addresses = allowedIps.map((entry) => {
    if (!/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(entry)) throw new ConfigError(`EDGE_FIREWALL: ALLOWED_IPS entry "${entry}" is not IPv4; the edge's IP set takes IPv4 only`);
    return entry.includes('/') ? entry : `${entry}/32`;
  });
  return {
    EdgeAllowedIps: {
      Type: 'AWS::WAFv2::IPSet',
      Properties: { Name: `${settings.service}-${settings.stage}-flashduty`, Scope: 'CLOUDFRONT', IPAddressVersion: 'IPV4', Addresses: addresses },
    },
    EdgeWebAcl: edgeWebAcl(settings, rateLimit),
    EdgeDistribution: {
      Type: 'AWS::CloudFront::Distribution',
      Properties: {
        DistributionConfig: {
          Enabled: true,
          Comment: `${settings.service}-${settings.stage}: FlashDuty Custom Actions behind a WAF`,
          WebACLId: arn('EdgeWebAcl'),
          PriceClass: 'PriceClass_100',
          Origins: [
            {
              Id: 'http-api',
              DomainName: sub('${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}'),
              CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
              OriginCustomHeaders: [{ HeaderName: EDGE_HEADER, HeaderValue: `{{resolve:ssm:${edgeSecretParameter(settings)}}}` }],
            },
          ],
          DefaultCacheBehavior: {
            TargetOriginId: 'http-api',
            ViewerProtocolPolicy: 'https-only',
            AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
            CachedMethods: ['GET', 'HEAD'],
            CachePolicyId: CACHING_DISABLED,
            OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          },
        },
      },
    },
  };
}

/** The web ACL: block by default, allow ALLOWED_IPS, and rate-limit each address on the action routes. */
function edgeWebAcl(settings: StackSettings, rateLimit: number): Json {
  const visibility = (name: string) => ({ SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: `${settings.service}-${settings.stage}-${name}` });
  return {
    Type: 'AWS::WAFv2::WebACL',
    Properties: {
      Name: `${settings.service}-${settings.stage}-edge`,
      Scope: 'CLOUDFRONT',
      DefaultAction: { Block: {} },
      VisibilityConfig: visibility('edge'),
      Rules: [
        // Even an allowed address may not flood the action routes (EDGE_RATE_LIMIT per 5 minutes).
        // It is one of FlashDuty's few addresses, carrying every responder's clicks in a storm, and a
        // blocked click is lost, so the default (3,000: 10 a second for 5 minutes) is well above
        // that. Not /events: every subscribed event of every incident comes from those addresses,
        // and a blocked event is lost too (its route has its own throttle, EVENT_THROTTLE_RATE).
        {
          Name: 'rate-limit',
          Priority: 0,
          Action: { Block: {} },
          Statement: { RateBasedStatement: { Limit: rateLimit, AggregateKeyType: 'IP', ScopeDownStatement: ACTION_PATHS } },
          VisibilityConfig: visibility('rate-limit'),
        },
        { Name: 'flashduty-ips', Priority: 1, Action: { Allow: {} }, Statement: { IPSetReferenceStatement: { Arn: arn('EdgeAllowedIps') } }, VisibilityConfig: visibility('flashduty-ips') },
      ],
    },
  };
  }


  /**
   * Alarms that need a human: a click in a DLQ (it failed for good), a worker or the receiver
   * erroring, the receiver unable to reach its queues, and (for an action a rule on `i_comm` or
   * `i_r_field` runs) rule runs held back as a loop. Sent to ALARM_TOPIC_ARN when given.
   */
  function alarms(settings: StackSettings, topicArn: string | undefined, loopWatched: ReadonlySet<string>): Json {
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
      ReceiverQueueUnavailableAlarm: alarm(
        'The receiver could not put clicks on their queue (answered 503).',
        cloudWatchMetric('ClickRefused', { reason: 'queue_unavailable' satisfies Refusal }),
      ),
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
      if (loopWatched.has(action.name)) {
        result[`${name}RuleLoopAlarm`] = alarm(
          `Runs of "${action.name}" that a rule on i_comm or i_r_field started were held back as a loop: EVENT_SELF_PERSON_IDS may not name the app key's owner (README "Event rules").`,
          cloudWatchMetric('RuleLoopStopped', { action: action.name }),
        );
      }
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
