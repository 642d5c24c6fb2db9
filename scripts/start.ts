/**
 * `npm start`: the whole stack on this machine, no AWS account needed. Configuration comes from
 * deploy/local.env, then .env, then the environment.
 */
import { localEnv } from './local-env';

async function main(): Promise<void> {
  const env = localEnv();
  // The functions run in this process, and Lambda's settings (log level, metrics) live in its
  // environment: put the configuration there before any function code loads.
  Object.assign(process.env, env);
  const { startLocalStack } = await import('../deploy/local');
  const { decodeQueueMessage } = await import('../lib/queue/envelope');
  const stack = await startLocalStack({
    env,
    port: Number(env.PORT ?? 3000),
    consumer: (action) => async (event) => {
      for (const record of event.Records) {
        const message = decodeQueueMessage(record.body);
        console.log(`[queue ${action}] event ${message.event_id} for incident ${message.payload.incident.incident_id} (${record.body.length} bytes)`);
      }
    },
    onError: (where, error) => console.error(`[${where}]`, error),
  });
  console.log(`flashduty-actions running locally
  receiver:      ${stack.receiverUrl}/actions/{action}   (actions: ${stack.settings.actions.map((a) => a.name).join(', ')})
  SQS emulator:  ${stack.sqsEndpoint}
Try it:  npm run send -- echo`);
  const stop = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
