import type { Server } from 'node:http';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { receiverConfig } from '../lib/config/receiver';
import { serveHttpApi } from '../lib/local/http-api';
import { startSqsEmulator } from '../lib/local/sqs-emulator';
import { pollQueue, type SqsHandler } from '../lib/local/sqs-poller';
import { queueUrlVariable } from '../lib/queue/names';
import { makeReceiver } from '../lib/receiver/handler';
import { receiverDeps } from '../lib/receiver/wiring';
import { queueLogicalId, dlqLogicalId, queueResources, stackSettings, type StackSettings, workerTimeoutSeconds } from './stack';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

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
  sqs: SQSClient;
  settings: StackSettings;
  queues: Map<string, LocalQueue>;
  /** The environment the functions were started with (config plus local queue URLs and endpoints). */
  env: NodeJS.ProcessEnv;
  stop: () => Promise<void>;
}

export interface LocalStackOptions {
  env: NodeJS.ProcessEnv;
  /** Receiver port; 0 picks a free one. */
  port?: number;
  /** SQS emulator port; 0 picks a free one. */
  sqsPort?: number;
  /** Consumer for an action's queue; without one the queue just fills up. */
  consumer?: (action: string, stack: Omit<LocalStack, 'stop'>) => SqsHandler | undefined;
  onError?: (where: string, error: unknown) => void;
}

/**
 * Runs the whole stack on this machine: an SQS emulator speaking the real wire protocol, the
 * queues `serverless.yml` declares (same names, FIFO, DLQ redrive, visibility timeouts), the
 * receiver behind a local HTTP API, and pollers that hand queue batches to consumers as Lambda does.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const settings = stackSettings(options.env, 'local');
  // Lambda always has credentials in its environment; locally any value will do (the emulators
  // accept every key), and the SDK must not go looking for real ones.
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const emulator = await startSqsEmulator(options.sqsPort ?? 0);
  const sqsEndpoint = emulator.endpoint;
  const sqs = new SQSClient({ endpoint: sqsEndpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  let server: Server | undefined;
  const pollers: Array<{ stop: () => Promise<void> }> = [];
  try {
    const queues = await createQueues(sqs, settings);
    const env: NodeJS.ProcessEnv = {
      ...options.env,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL_SQS: sqsEndpoint,
      ...Object.fromEntries([...queues].map(([action, queue]) => [queueUrlVariable(action), queue.url])),
    };
    const receiver = makeReceiver(receiverDeps(receiverConfig(env)));
    const http = await serveHttpApi(receiver, { port: options.port ?? 3000 });
    server = http.server;
    const stack = { receiverUrl: http.url, sqsEndpoint, sqs, settings, queues, env };
    for (const action of settings.actions) {
      const handler = options.consumer?.(action.name, stack);
      const queue = queues.get(action.name)!;
      if (!handler) continue;
      pollers.push(
        pollQueue({
          sqs,
          queueUrl: queue.url,
          queueArn: queue.arn,
          handler,
          functionName: `${settings.service}-local-${action.name}-worker`,
          timeoutSeconds: workerTimeoutSeconds(action),
          onError: (error) => options.onError?.(action.name, error),
        }),
      );
    }
    return {
      ...stack,
      stop: async () => {
        await Promise.all(pollers.map((poller) => poller.stop()));
        await new Promise<void>((resolve) => server?.close(() => resolve()));
        server?.closeAllConnections();
        sqs.destroy();
        await emulator.stop();
      },
    };
  } catch (error) {
    await Promise.all(pollers.map((poller) => poller.stop()));
    server?.close();
    await emulator.stop();
    throw error;
  }
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
