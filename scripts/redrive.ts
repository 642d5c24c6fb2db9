/**
 * `npm run redrive -- <action> [--stage <stage>] [--region <region>]`: moves the action's
 * dead-lettered clicks back to its queue, where the worker runs them again. Local stack by default.
 */
import { redrive } from '../lib/queue/redrive';
import { localEnv } from './local-env';
import { stageOptions, stageQueues } from './queues';

async function main(): Promise<void> {
  const { stage, sqs, rest } = stageOptions(process.argv.slice(2), localEnv());
  const [action] = rest;
  if (!action) {
    console.error('usage: npm run redrive -- <action> [--stage <stage>] [--region <region>]');
    process.exit(2);
  }
  const [queues] = await stageQueues(sqs, stage, [action]);
  if (!queues) {
    console.error(`no queues for action "${action}" in stage "${stage}"${stage === 'local' ? ' (is `npm start` running?)' : ''}`);
    process.exit(1);
  }
  const moved = await redrive(sqs, queues);
  console.log(`moved ${moved} message(s) from ${queues.dlqUrl} back to ${queues.queueUrl}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
