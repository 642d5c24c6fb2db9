/**
 * `npm run redrive -- <action> [--stage <stage>] [--region <region>]`: moves the action's
 * dead-lettered clicks back to its queue, where the worker runs them again. Local stack by default.
 */
import { redrive } from '../lib/queue/redrive';
import { localEnv } from './local-env';
import { knownAction, runScript, ScriptError, stageOptions, stageQueues } from './queues';

const USAGE = 'usage: npm run redrive -- <action> [--stage <stage>] [--region <region>]';
const options = stageOptions(process.argv.slice(2), localEnv(), { line: USAGE, positional: 1 });

async function main(): Promise<void> {
  const { stage, sqs, rest } = options;
  if (!rest[0]) throw new ScriptError(USAGE, 2);
  const action = knownAction(rest[0]);
  const [queues] = await stageQueues(sqs, stage, [action]);
  if (!queues) {
    throw new ScriptError(`action "${action}" has no queues in stage "${stage}": it is not in that stage's ENABLED_ACTIONS${stage === 'local' ? '' : ' (check --stage and --region)'}`);
  }
  const moved = await redrive(sqs, queues);
  console.log(`moved ${moved} message(s) from ${queues.dlqUrl} back to ${queues.queueUrl}`);
}

runScript(main, options);
