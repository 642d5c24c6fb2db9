/**
 * `npm run smoke -- --stage <stage> --incident <id> [--region <r>] [--wait <seconds>]`: proves a
 * deployed stage end to end without being one of FlashDuty's addresses. Invokes the receiver
 * Lambda directly with the API Gateway event an `echo` click from an allowed address would make
 * (a real token from SSM), checks the 200, then reads the incident's timeline (FlashDuty Open API,
 * the app key from SSM) until the worker's comment is there; or says where the click stopped.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { EDGE_HEADER } from '../lib/auth/edge';
import { parseTokenList } from '../lib/auth/tokens';
import { FlashDutyClient } from '../lib/flashduty/client';
import { INCIDENT_ID_PATTERN } from '../lib/flashduty/facts';
import { queueNames } from '../lib/queue/names';
import { SERVICE } from '../deploy/stack';
import { edgeSecretParameter } from '../deploy/serverless-parts';
import { stamped, samplePayload } from './click-payload';
import { deploySettings, parseOptions, readParameter, receiverFunctionName, secretParameterNames } from './operator';
import { runScript, ScriptError } from './queues';

const USAGE = 'npm run smoke -- --stage <stage> --incident <incident id> [--region <region>] [--wait <seconds>]';
const ACTION = 'echo';
/** FlashDuty's first documented address: the receiver's default ALLOWED_IPS. */
const FLASHDUTY_ADDRESS = '47.94.95.118';

const options = parseOptions(process.argv.slice(2), { usage: USAGE, values: ['--incident', '--wait'], switches: [] }, process.env);

async function main(): Promise<void> {
  const { stage, region } = options;
  const incidentId = options.values.get('--incident') ?? '';
  if (!INCIDENT_ID_PATTERN.test(incidentId)) throw new ScriptError(`--incident must be a FlashDuty incident id (24 hex digits), got "${incidentId}"\nusage: ${USAGE}`, 2);
  const waitSeconds = Number(options.values.get('--wait') ?? 90);
  const env = deploySettings(stage);
  const ssm = new SSMClient({ region });
  const names = secretParameterNames(stage, env);
  const token = parseTokenList((await readParameter(ssm, names.tokens)) ?? '').at(-1);
  if (!token) throw new ScriptError(`${names.tokens} does not exist or is empty: run npm run setup -- --stage ${stage}`);
  const edge = ['true', '1'].includes(env.EDGE_FIREWALL ?? '') ? edgeSecretParameter({ service: SERVICE, stage, actions: [], maxReceiveCount: 0 }) : undefined;
  const edgeSecret = edge ? await readParameter(ssm, edge) : undefined;

  const payload = stamped({ ...samplePayload(), incident: { ...(samplePayload().incident as object), incident_id: incidentId } });
  const eventId = String(payload.event_id);
  const answer = await invokeReceiver(region, stage, apiGatewayEvent(payload, token, allowedAddress(env.ALLOWED_IPS), edgeSecret));
  if (answer.statusCode !== 200) {
    throw new ScriptError(`the receiver answered ${answer.statusCode} ${answer.body ?? ''}; see README "Troubleshooting" for that answer`);
  }
  console.log(`receiver ${receiverFunctionName(stage)}: 200 ${answer.body} (event ${eventId})`);

  const appKey = await readParameter(ssm, names.appKey);
  ssm.destroy();
  if (!appKey) throw new ScriptError(`${names.appKey} does not exist: run npm run setup -- --stage ${stage}; the click is queued and its worker will fail to write back until then`);
  const comment = await waitForComment(env.FLASHDUTY_API_URL || 'https://api.flashcat.cloud', appKey, incidentId, `flashduty-actions/${ACTION} event ${eventId}`, waitSeconds);
  if (comment) {
    console.log(`the ${ACTION} worker wrote to incident ${incidentId}:\n\n${comment}\n\nsmoke test passed`);
    return;
  }
  throw new ScriptError(await whereItStopped(region, stage, eventId, waitSeconds));
}

/** An address ALLOWED_IPS allows: its first entry (the network address of a CIDR), else FlashDuty's. */
function allowedAddress(allowedIps: string | undefined): string {
  const first = (allowedIps ?? '').split(',').map((entry) => entry.trim()).find(Boolean);
  return first ? first.replace(/\/\d+$/, '') : FLASHDUTY_ADDRESS;
}

/** The event API Gateway (HTTP API, payload 2.0) hands the receiver for this click. */
function apiGatewayEvent(payload: object, token: string, sourceIp: string, edgeSecret?: string): object {
  const path = `/actions/${ACTION}`;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'user-agent': 'flashduty-actions smoke', ...(edgeSecret && { [EDGE_HEADER]: edgeSecret }) },
    requestContext: {
      accountId: 'smoke',
      apiId: 'smoke',
      domainName: 'smoke.invalid',
      domainPrefix: 'smoke',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp, userAgent: 'flashduty-actions smoke' },
      requestId: `smoke-${now}`,
      routeKey: `POST ${path}`,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: JSON.stringify(payload),
    isBase64Encoded: false,
  };
}

/**
 * One synchronous Invoke. If its answer is lost, the SDK sends the same event again: same event id,
 * so the queue's deduplication keeps it to one click and one comment.
 */
async function invokeReceiver(region: string, stage: string, event: object): Promise<{ statusCode?: number; body?: string }> {
  const lambda = new LambdaClient({ region });
  try {
    const result = await lambda.send(new InvokeCommand({ FunctionName: receiverFunctionName(stage), Payload: JSON.stringify(event) }));
    const text = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
    if (result.FunctionError) throw new ScriptError(`the receiver failed (${result.FunctionError}): ${text}; see its log: npx osls logs -f receiver --stage ${stage}`);
    return JSON.parse(text) as { statusCode?: number; body?: string };
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') throw new ScriptError(`no function ${receiverFunctionName(stage)} in ${region}: deploy the stage first, or check --stage and --region`);
    throw error;
  } finally {
    lambda.destroy();
  }
}

/** Polls the incident's timeline for the comment ending with `marker`. */
async function waitForComment(baseUrl: string, appKey: string, incidentId: string, marker: string, seconds: number): Promise<string | undefined> {
  const flashduty = new FlashDutyClient({ baseUrl, appKey: async () => appKey, maxAttempts: 2 });
  const until = Date.now() + seconds * 1000;
  process.stdout.write(`waiting up to ${seconds} s for the worker's comment on incident ${incidentId}`);
  while (Date.now() < until) {
    const data = (await flashduty.call('/incident/feed', { incident_id: incidentId, p: 1, limit: 100, asc: false, types: ['i_comm'] })) as { items?: Array<{ detail?: { comment?: unknown } }> } | null;
    const found = (data?.items ?? []).map((item) => item?.detail?.comment).find((text) => typeof text === 'string' && text.trimEnd().endsWith(marker));
    if (found) {
      process.stdout.write('\n');
      return String(found);
    }
    process.stdout.write('.');
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  process.stdout.write('\n');
  return undefined;
}

/** No comment in time: what the echo queue and its DLQ hold, and where the logs are. */
async function whereItStopped(region: string, stage: string, eventId: string, seconds: number): Promise<string> {
  // The resolved endpoint, not the queue URL's host (the same in AWS; an emulator's URLs name a host that may not resolve).
  const sqs = new SQSClient({ region, useQueueUrlAsEndpoint: false });
  const names = queueNames(`${SERVICE}-${stage}`, ACTION);
  const count = async (queueName: string, attribute: 'ApproximateNumberOfMessages' | 'ApproximateNumberOfMessagesNotVisible') => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: [attribute] }));
    return Number(Attributes[attribute] ?? 0);
  };
  const [waiting, inFlight, dead] = await Promise.all([count(names.queue, 'ApproximateNumberOfMessages'), count(names.queue, 'ApproximateNumberOfMessagesNotVisible'), count(names.dlq, 'ApproximateNumberOfMessages')]);
  sqs.destroy();
  const verdict =
    dead > 0 ? `the click failed for good: ${dead} in the dead-letter queue (npm run redrive -- ${ACTION} --stage ${stage} after fixing the cause)`
    : waiting + inFlight > 0 ? `the click is still queued (${waiting} waiting, ${inFlight} in flight): the worker is retrying it, or not running`
    : 'the queue is empty: the worker took the click but no comment is on the incident (check the app key and its permissions)';
  return [
    `no comment on the incident after ${seconds} s; ${verdict}.`,
    `Worker log: npx osls logs -f echoWorker --stage ${stage} --startTime 10m`,
    `Or CloudWatch Logs Insights, saved query "${SERVICE}-${stage}/one click's path by event id", with event id ${eventId}.`,
  ].join('\n');
}

runScript(main, { stage: options.stage, sqsPort: '' });
