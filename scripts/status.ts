/**
 * `npm run status [-- --stage <stage>] [--region <region>]`: each action's queue depth, clicks in
 * flight and dead-lettered clicks. Local stack by default (npm start must be running).
 */
import { GetQueueAttributesCommand, type QueueAttributeName } from '@aws-sdk/client-sqs';
import { localEnv } from './local-env';
import { runScript, ScriptError, stageOptions, stageQueues } from './queues';

const options = stageOptions(process.argv.slice(2), localEnv(), { line: 'usage: npm run status [-- --stage <stage>] [--region <region>]', positional: 0 });

async function main(): Promise<void> {
  const { stage, sqs } = options;
  const queues = await stageQueues(sqs, stage);
  if (queues.length === 0) {
    throw new ScriptError(`no action queues found for stage "${stage}"${stage === 'local' ? ' (is `npm start` running?)' : '; check --stage and --region'}`);
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

runScript(main, options);
