/**
 * `npm start`: the whole stack on this machine, no AWS account needed: receiver, SQS emulator,
 * DynamoDB emulator, workers (dry-run by default) and a stand-in FlashDuty API whose comments are
 * printed here. Configuration: deploy/local.env, then .env.local, then the environment (never .env,
 * which is the deploy configuration).
 */
import { localEnv } from './local-env';

async function main(): Promise<void> {
  const env = localEnv();
  // The functions run in this process, and Lambda's settings (log level, metrics) live in its
  // environment: put the configuration there before any function code loads.
  Object.assign(process.env, env);
  const { startLocalStack } = await import('../deploy/local');
  const stack = await startLocalStack({
    env,
    port: Number(env.PORT ?? 3000),
    onError: (where, error) => console.error(`[${where}]`, error instanceof Error ? error.message : error),
  });
  if (stack.flashduty) {
    stack.flashduty.onCall = (call) => {
      if (call.path !== '/incident/comment') return;
      const ids = (call.body.incident_ids as string[] | undefined)?.join(',');
      console.log(`\n── FlashDuty stand-in: comment on incident ${ids} (HTTP ${call.status}) ──\n${String(call.body.comment)}\n`);
    };
  }
  const dryRun = (env.DRY_RUN ?? 'true') !== 'false';
  console.log(`flashduty-actions running locally (${dryRun ? 'dry-run: nothing outside FlashDuty is changed' : 'DRY_RUN=false: actions run for real'})
  receiver:      ${stack.receiverUrl}/actions/{action}   (actions: ${stack.settings.actions.map((a) => a.name).join(', ')})
                 ${stack.receiverUrl}/events             (Incident Webhook; rules: ${env.EVENT_RULES_FILE ?? (env.EVENT_RULES ? 'EVENT_RULES' : 'none')})
  SQS emulator:  ${stack.sqsEndpoint}
  DynamoDB:      ${stack.dynamodbEndpoint}
  FlashDuty API: ${stack.flashdutyUrl}${stack.flashduty ? ' (local stand-in)' : ''}
  SSM:           ${stack.ssmEndpoint}${stack.ssm ? ` (local stand-in, ${stack.ssm.instances.length} instances from deploy/local-fleet.json)` : ''}
Try it:  npm run send -- echo     or     npm run send -- restart-host     or     npm run send -- --event i_new`);
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
