import type { Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import { ACTIONS } from '../lib/actions/registry';
import { ConfigError } from '../lib/errors';
import { intVar, listVar, readConfig, setBy, stringVar } from '../lib/config/env';
import { readStructuredFile, structuredFilePath } from '../lib/config/structured';
import type { Action } from '../lib/actions/types';
import { receiverConfig } from '../lib/config/receiver';
import { workerConfig } from '../lib/config/worker';
import { startDynamoDbEmulator } from '../lib/local/dynamodb-emulator';
import { DeployStandIn, localRollbackTargets } from '../lib/local/deploy-standin';
import { FlashDutyStandIn } from '../lib/local/flashduty-standin';
import { serveHttpApi } from '../lib/local/http-api';
import { SourcesStandIn } from '../lib/local/sources-standin';
import { type FakeInstance, SsmStandIn } from '../lib/local/ssm-standin';
import { localStatusPage } from '../lib/local/status-page-standin';
import { StatuspageStandIn } from '../lib/local/statuspage-standin';
import { startSqsEmulator } from '../lib/local/sqs-emulator';
import { pollQueue } from '../lib/local/sqs-poller';
import { queueUrlVariable } from '../lib/queue/names';
import { makeReceiver } from '../lib/receiver/handler';
import { receiverDeps } from '../lib/receiver/wiring';
import { makeWorker } from '../lib/worker/handler';
import { workerDeps } from '../lib/worker/wiring';
import {
  dlqLogicalId,
  idempotencyTableResource,
  queueLogicalId,
  queueResources,
  stackSettings,
  type StackSettings,
  workerTimeoutSeconds,
} from './stack';

import fleet from './local-fleet.json';

/** Keys only the local stack and scripts read (deploy/local.env sets the ports). */
export const LocalEnv = v.object({
  PORT: setBy('local', intVar(3000, 0, 65_535, 'Local receiver port.')),
  SQS_PORT: setBy('local', intVar(0, 0, 65_535, 'Local SQS emulator port (also where `npm run status`/`redrive` look); 0 picks a free one.'), '`9324` (local.env)'),
  DYNAMODB_PORT: setBy('local', intVar(0, 0, 65_535, 'Local DynamoDB emulator port; 0 picks a free one.'), '`9325` (local.env)'),
  FLASHDUTY_PORT: setBy('local', intVar(0, 0, 65_535, 'Local stand-in FlashDuty API port; 0 picks a free one.'), '`9326` (local.env)'),
  SSM_PORT: setBy('local', intVar(0, 0, 65_535, 'Local stand-in Systems Manager port; 0 picks a free one.'), '`9327` (local.env)'),
  OBSERVABILITY_PORT: setBy(
    'local',
    intVar(0, 0, 65_535, 'Local stand-in Tempo, Loki and CMDB that the example enrich sources ask (deploy/enrich-sources.local.yaml); 0 picks a free one.'),
    '`9328` (local.env)',
  ),
  LOCAL_LIVE_ACTIONS: setBy('local', listVar([], 'Actions the local stack runs for real even with DRY_RUN=true, because all they touch is local (stand-ins).'), '`enrich,status-page` (local.env)'),
  DEPLOY_PORT: setBy('local', intVar(0, 0, 65_535, 'Local stand-in deploy platform (GitHub, GitLab, webhook) port for rollback; 0 picks a free one.'), '`9329` (local.env)'),
  STATUSPAGE_PORT: setBy('local', intVar(0, 0, 65_535, 'Local stand-in Atlassian Statuspage port; 0 picks a free one.'), '`9330` (local.env)'),
  AWS_ACCESS_KEY_ID: setBy('lambda', stringVar(undefined, 'Locally, a dummy value is filled in when absent (the emulators accept any).'), 'set by Lambda'),
  AWS_SECRET_ACCESS_KEY: setBy('lambda', stringVar(undefined, 'Locally, a dummy value is filled in when absent.'), 'set by Lambda'),
});

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';
/** The app key the FlashDuty stand-in accepts (local only). */
export const LOCAL_APP_KEY = 'local-flashduty-app-key';
/** The API key and page the Statuspage stand-in knows (local only). */
export const LOCAL_STATUSPAGE = { apiKey: 'local-statuspage-api-key', pageId: 'localpage01' };

export interface LocalQueue {
  name: string;
  url: string;
  arn: string;
  dlqName: string;
  dlqUrl: string;
  dlqArn: string;
}

export interface LocalStack {
  receiverUrl: string;
  sqsEndpoint: string;
  dynamodbEndpoint: string;
  sqs: SQSClient;
  settings: StackSettings;
  queues: Map<string, LocalQueue>;
  /** The stand-in FlashDuty API, unless FLASHDUTY_API_URL pointed the workers elsewhere. */
  flashduty?: FlashDutyStandIn;
  flashdutyUrl: string;
  /** The stand-in Systems Manager (fleet from deploy/local-fleet.json), unless AWS_ENDPOINT_URL_SSM is set. */
  ssm?: SsmStandIn;
  ssmEndpoint: string;
  /** The stand-in Tempo, Loki and CMDB for the example enrich sources. */
  sources: SourcesStandIn;
  sourcesUrl: string;
  /** The stand-in deploy platforms rollback dispatches to, unless ROLLBACK_TARGETS(_FILE) is set. */
  deploy?: DeployStandIn;
  /** The stand-in Atlassian Statuspage (page LOCAL_STATUSPAGE.pageId), for STATUS_PAGE_PROVIDER=statuspage. */
  statuspage: StatuspageStandIn;
  /** The environment each worker was started with, by action. */
  workerEnv: Map<string, NodeJS.ProcessEnv>;
  stop: () => Promise<void>;
}

export interface LocalStackOptions {
  env: NodeJS.ProcessEnv;
  /** Receiver port; 0 picks a free one. Other ports: SQS_PORT, DYNAMODB_PORT, FLASHDUTY_PORT in env (default: free). */
  port?: number;
  /** Run the workers (default true); without them the queues just fill up. */
  workers?: boolean;
  /** The actions ENABLED_ACTIONS may name; the registry unless a test brings its own. */
  actions?: ReadonlyArray<Action<any>>;
  onError?: (where: string, error: unknown) => void;
}

/**
 * Runs the whole stack on this machine: an SQS emulator speaking the real wire protocol with the
 * queues `serverless.yml` declares, a DynamoDB emulator with the idempotency table, a stand-in
 * FlashDuty Open API, the receiver behind a local HTTP API, and one worker per enabled action fed
 * by a poller that does what Lambda's SQS event source mapping does. Workers default to dry-run.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  // Locally every registered action is on unless ENABLED_ACTIONS narrows it, so a new action shows
  // up in npm start without touching any other file.
  const enabled = options.env.ENABLED_ACTIONS?.trim() || (options.actions ?? ACTIONS).map((a) => a.name).join(',');
  const settings = stackSettings({ ...options.env, ENABLED_ACTIONS: enabled }, 'local', options.actions);
  // Lambda always has credentials and a region in its environment; locally any value will do (the
  // emulators accept every key), and the SDK must not go looking for real ones.
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.AWS_REGION ??= LOCAL_REGION;

  const cleanup: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    const ports = readConfig(LocalEnv, options.env, 'local configuration');
    const sqsEmulator = await onPort('SQS_PORT', ports.SQS_PORT, startSqsEmulator);
    cleanup.push(sqsEmulator.stop);
    const dynamodbEmulator = await onPort('DYNAMODB_PORT', ports.DYNAMODB_PORT, startDynamoDbEmulator);
    cleanup.push(dynamodbEmulator.stop);

    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const sqs = new SQSClient({ endpoint: sqsEmulator.endpoint, region: LOCAL_REGION, credentials });
    cleanup.push(async () => sqs.destroy());
    const queues = await createQueues(sqs, settings);
    const table = idempotencyTableResource(settings).Properties;
    const dynamodb = new DynamoDBClient({ endpoint: dynamodbEmulator.endpoint, region: LOCAL_REGION, credentials });
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table.TableName as string,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: table.AttributeDefinitions as never,
        KeySchema: table.KeySchema as never,
      }),
    );
    dynamodb.destroy();

    let flashduty: FlashDutyStandIn | undefined;
    let flashdutyUrl = options.env.FLASHDUTY_API_URL;
    if (!flashdutyUrl) {
      flashduty = new FlashDutyStandIn(LOCAL_APP_KEY);
      flashduty.statusPages.pages = [localStatusPage()];
      flashdutyUrl = await onPort('FLASHDUTY_PORT', ports.FLASHDUTY_PORT, (port) => flashduty!.start(port));
      cleanup.push(() => flashduty!.stop());
    }

    let ssm: SsmStandIn | undefined;
    let ssmEndpoint = options.env.AWS_ENDPOINT_URL_SSM;
    if (!ssmEndpoint) {
      ssm = new SsmStandIn();
      ssm.instances = structuredClone(fleet.instances) as FakeInstance[];
      ssmEndpoint = await onPort('SSM_PORT', ports.SSM_PORT, (port) => ssm!.start(port));
      cleanup.push(() => ssm!.stop());
    }

    const sources = new SourcesStandIn();
    const sourcesUrl = await onPort('OBSERVABILITY_PORT', ports.OBSERVABILITY_PORT, (port) => sources.start(port));
    cleanup.push(() => sources.stop());
    const deploy = await startDeployStandIn(options.env, ports.DEPLOY_PORT);
    if (deploy) cleanup.push(() => deploy.stand.stop());
    // rollback dispatches for real only to the local stand-in platforms, never to configured targets.
    const live = new Set([...ports.LOCAL_LIVE_ACTIONS, ...(deploy ? ['rollback'] : [])]);
    const statuspage = await startStatuspage(ports.STATUSPAGE_PORT);
    cleanup.push(() => statuspage.standIn.stop());

    const env: NodeJS.ProcessEnv = {
      ...statuspage.env,
      ...options.env,
      ENABLED_ACTIONS: enabled,
      ...exampleSourcesAt(options.env, sourcesUrl),
      ...deploy?.env,
      ...(flashduty && !options.env.FLASHDUTY_CHANGE_INTEGRATION_KEY_PARAM && { FLASHDUTY_CHANGE_INTEGRATION_KEY: options.env.FLASHDUTY_CHANGE_INTEGRATION_KEY ?? flashduty.changeIntegrationKey }),
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint,
      AWS_ENDPOINT_URL_SSM: ssmEndpoint,
      ...Object.fromEntries([...queues].map(([action, queue]) => [queueUrlVariable(action), queue.url])),
    };
    const receiver = makeReceiver(receiverDeps(receiverConfig(env)));
    const http = await onPort('PORT', options.port ?? 3000, (port) => serveHttpApi(receiver, { port }));
    cleanup.push(() => closeServer(http.server));

    const workerEnv = new Map<string, NodeJS.ProcessEnv>();
    for (const action of settings.actions) {
      const queue = queues.get(action.name)!;
      const envForWorker: NodeJS.ProcessEnv = {
        DRY_RUN: 'true',
        ...env,
        ACTION_NAME: action.name,
        QUEUE_URL: queue.url,
        IDEMPOTENCY_TABLE: table.TableName as string,
        MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbEmulator.endpoint,
        FLASHDUTY_API_URL: flashdutyUrl,
        ...(flashduty && { FLASHDUTY_APP_KEY: LOCAL_APP_KEY, FLASHDUTY_APP_KEY_PARAM: '' }),
        ...(live.has(action.name) && { DRY_RUN: 'false' }),
      };
      workerEnv.set(action.name, envForWorker);
      if (options.workers === false) continue;
      const handler = makeWorker(workerDeps(workerConfig(envForWorker, options.actions ?? ACTIONS)));
      const poller = pollQueue({
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        handler,
        functionName: `${settings.service}-local-${action.name}-worker`,
        timeoutSeconds: workerTimeoutSeconds(action),
        onError: (error) => options.onError?.(action.name, error),
      });
      cleanup.push(poller.stop);
    }

    return {
      receiverUrl: http.url,
      sqsEndpoint: sqsEmulator.endpoint,
      dynamodbEndpoint: dynamodbEmulator.endpoint,
      sqs,
      settings,
      queues,
      flashduty,
      flashdutyUrl,
      ssm,
      ssmEndpoint,
      sources,
      sourcesUrl,
      deploy: deploy?.stand,
      statuspage: statuspage.standIn,
      workerEnv,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Starts a local server on `port`; when the port is taken, says which variable moves it, instead
 * of a bare EADDRINUSE.
 */
async function onPort<T>(variable: string, port: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new ConfigError(
      `port ${port} (${variable}) on 127.0.0.1 is already in use, perhaps by another \`npm start\`; stop that, or set ${variable} to a free port in .env.local or the environment`,
    );
  }
}

/** The example enrich sources npm start uses, and the stand-in address (deploy/local.env's OBSERVABILITY_PORT) their URLs name. */
const EXAMPLE_SOURCES = { file: 'deploy/enrich-sources.local.yaml', host: '127.0.0.1:9328' };

/**
 * The example enrich sources name the stand-in's usual port in their URLs. When OBSERVABILITY_PORT
 * moved it (another `npm start` holds 9328), enrich would ask that port and fail, or ask someone
 * else's stand-in; so the example is handed to the worker inline, pointing at the port the
 * stand-in really got. Any other sources are the operator's and stay as given.
 */
function exampleSourcesAt(env: NodeJS.ProcessEnv, sourcesUrl: string): NodeJS.ProcessEnv {
  const file = env.ENRICH_SOURCES_FILE?.trim();
  if (!file || env.ENRICH_SOURCES?.trim() || structuredFilePath(file) !== EXAMPLE_SOURCES.file) return {};
  const loaded = readStructuredFile(process.cwd(), 'ENRICH_SOURCES', file);
  if ('problem' in loaded) return {}; // the worker's config check reports it, naming the file
  const inline = JSON.stringify(loaded.data).replaceAll(EXAMPLE_SOURCES.host, new URL(sourcesUrl).host);
  return { ENRICH_SOURCES_FILE: '', ENRICH_SOURCES: inline };
}

/** The deploy stand-in and the example ROLLBACK_TARGETS pointing at it, unless targets are configured. */
async function startDeployStandIn(env: NodeJS.ProcessEnv, port: number): Promise<{ stand: DeployStandIn; env: NodeJS.ProcessEnv } | undefined> {
  if (env.ROLLBACK_TARGETS || env.ROLLBACK_TARGETS_FILE) return undefined;
  const stand = new DeployStandIn();
  await onPort('DEPLOY_PORT', port, (p) => stand.start(p));
  return { stand, env: { ROLLBACK_TARGETS: JSON.stringify(localRollbackTargets(stand)) } };
}

/** The Statuspage stand-in with a local page, and the settings that point status-page at it. */
async function startStatuspage(port: number): Promise<{ standIn: StatuspageStandIn; env: NodeJS.ProcessEnv }> {
  const standIn = new StatuspageStandIn(LOCAL_STATUSPAGE.apiKey);
  standIn.pages.set(
    LOCAL_STATUSPAGE.pageId,
    localStatusPage().components.map((c, i) => ({ id: `localcmp${i}`, name: c.name, status: 'operational' })),
  );
  const url = await onPort('STATUSPAGE_PORT', port, (p) => standIn.start(p));
  return { standIn, env: { STATUS_PAGE_API_URL: url, STATUS_PAGE_API_KEY: LOCAL_STATUSPAGE.apiKey } };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Creates the queues through the SQS API from the same CloudFormation resources the deploy uses. */
async function createQueues(sqs: SQSClient, settings: StackSettings): Promise<Map<string, LocalQueue>> {
  const resources = queueResources(settings);
  const create = async (properties: Record<string, unknown>) => {
    const attributes: Record<string, string> = {};
    for (const key of ['FifoQueue', 'ContentBasedDeduplication', 'VisibilityTimeout', 'MessageRetentionPeriod']) {
      if (properties[key] !== undefined) attributes[key] = String(properties[key]);
    }
    const redrive = properties.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] }; maxReceiveCount: number } | undefined;
    if (redrive) {
      const dlqName = resources[redrive.deadLetterTargetArn['Fn::GetAtt'][0]]!.Properties.QueueName as string;
      const dlqArn = `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${dlqName}`;
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: String(redrive.maxReceiveCount) });
    }
    const name = properties.QueueName as string;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { name, url: QueueUrl!, arn: Attributes!.QueueArn! };
  };
  const queues = new Map<string, LocalQueue>();
  for (const action of settings.actions) {
    const dlq = await create(resources[dlqLogicalId(action.name)]!.Properties);
    const queue = await create(resources[queueLogicalId(action.name)]!.Properties);
    queues.set(action.name, { ...queue, dlqName: dlq.name, dlqUrl: dlq.url, dlqArn: dlq.arn });
  }
  return queues;
}
