/**
 * `npm run status [-- --stage <stage>] [--region <region>]`: each action's queue depth, clicks in
 * flight and dead-lettered clicks. Local stack by default (npm start must be running).
 */
import { GetQueueAttributesCommand, type QueueAttributeName } from '@aws-sdk/client-sqs';
import { localEnv } from './local-env';
import { stageOptions, stageQueues } from './queues';

async function main(): Promise<void> {
  const { stage, sqs } = stageOptions(process.argv.slice(2), localEnv());
  const queues = await stageQueues(sqs, stage);
  if (queues.length === 0) {
    console.error(`no action queues found for stage "${stage}"${stage === 'local' ? ' (is `npm start` running?)' : ''}`);
    process.exit(1);
  }
  const count = async (url: string, name: QueueAttributeName) => {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [name] }));
    return Number(Attributes[name] ?? 0);
  };
  console.log(`stage ${stage}`);
  console.log(`${'action'.padEnd(14)} ${'waiting'.padStart(8)} ${'in flight'.padStart(10)} ${'dead-lettered'.padStart(14)}`);
  for (const q of queues) {
    const [waiting, inFlight, dead] = await Promise.all([
      count(q.queueUrl, 'ApproximateNumberOfMessages'),
      count(q.queueUrl, 'ApproximateNumberOfMessagesNotVisible'),
      count(q.dlqUrl, 'ApproximateNumberOfMessages'),
    ]);
    console.log(`${q.action.padEnd(14)} ${String(waiting).padStart(8)} ${String(inFlight).padStart(10)} ${String(dead).padStart(14)}${dead > 0 ? `   -> npm run redrive -- ${q.action}${stage === 'local' ? '' : ` --stage ${stage}`}` : ''}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
