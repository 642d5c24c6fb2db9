import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ACTIONS } from '../lib/actions/registry';
import { queueNames } from '../lib/queue/names';
import { SERVICE } from '../deploy/stack';

export interface StageQueues {
  action: string;
  queueUrl: string;
  dlqUrl: string;
}

/**
 * `--stage <name>` (default `local`) and `--region <region>` from argv. The local stage talks to
 * the emulator `npm start` runs on SQS_PORT (default 9324); any other stage talks to real SQS with
 * the usual AWS credentials.
 */
export function stageOptions(argv: string[], env: NodeJS.ProcessEnv): { stage: string; sqs: SQSClient; rest: string[] } {
  const rest: string[] = [];
  let stage = 'local';
  let region = env.AWS_REGION ?? 'us-east-1';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--stage') stage = argv[++i] ?? stage;
    else if (argv[i] === '--region') region = argv[++i] ?? region;
    else rest.push(argv[i]!);
  }
  const sqs =
    stage === 'local'
      ? new SQSClient({ endpoint: `http://127.0.0.1:${env.SQS_PORT ?? 9324}`, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
      : new SQSClient({ region });
  return { stage, sqs, rest };
}

/** The queue and DLQ of each named action in a stage; actions without queues there are skipped. */
export async function stageQueues(sqs: SQSClient, stage: string, actions = ACTIONS.map((a) => a.name)): Promise<StageQueues[]> {
  const found: StageQueues[] = [];
  for (const action of actions) {
    const names = queueNames(`${SERVICE}-${stage}`, action);
    try {
      const { QueueUrl: queueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: names.queue }));
      const { QueueUrl: dlqUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: names.dlq }));
      found.push({ action, queueUrl: queueUrl!, dlqUrl: dlqUrl! });
    } catch (error) {
      if ((error as Error).name !== 'QueueDoesNotExist' && !/NonExistentQueue|does not exist/i.test((error as Error).message)) throw error;
    }
  }
  return found;
}
