/**
 * `npm start`: the whole stack on this machine, no AWS account needed: receiver, SQS emulator,
 * DynamoDB emulator, workers (dry-run by default) and a stand-in FlashDuty API whose comments are
 * printed here. Configuration: deploy/local.env, then .env.local, then the environment (never .env,
 * which is the deploy configuration).
 */
import { join } from 'node:path';
import { loadEnvFiles } from '../local/env-files';
import { LOCAL_OVERRIDES, localEnv, ROOT } from './local-env';
import { checkNode } from './node-check';

async function main(): Promise<void> {
  checkNode();
  const env = localEnv();
  // The functions run in this process, and Lambda's settings (log level, metrics) live in its
  // environment: put the configuration there before any function code loads.
  Object.assign(process.env, env);
  const { startLocalStack } = await import('../deploy/local');
  for (const line of await unreadOverrides()) console.warn(`warning: ${line}`);
  const stack = await startLocalStack({
    env,
    port: Number(env.PORT ?? 3000),
    onError: (where, error) => console.error(`[${where}]`, error instanceof Error ? error.message : error),
  });
  if (stack.flashduty) {
    stack.flashduty.onCall = (call) => {
      if (PRINTED_WRITES.has(call.path)) return printWrite('FlashDuty', `POST ${call.path}`, call.status, call.body);
      if (call.path !== '/incident/comment') return;
      const ids = (call.body.incident_ids as string[] | undefined)?.join(',');
      console.log(`\n── FlashDuty stand-in: comment on incident ${ids} (HTTP ${call.status}) ──\n${String(call.body.comment)}\n`);
    };
  }
  if (stack.deploy) {
    stack.deploy.onCall = (call) => {
      if (call.method === 'GET') return;
      console.log(`\n── deploy stand-in: ${call.method} ${call.path} (HTTP ${call.status}) ──\n${call.body}\n`);
    };
  }
  stack.statuspage.onCall = (call) => {
    if (call.method !== 'GET') printWrite('Statuspage', `${call.method} ${call.path}`, call.status, call.body);
  };
  const dryRun = (env.DRY_RUN ?? 'true') !== 'false';
  // The workers run for real with DRY_RUN=true: those given DRY_RUN=false of their own.
  const liveActions = [...stack.workerEnv].filter(([, workerEnv]) => workerEnv.DRY_RUN === 'false').map(([name]) => name).join(',');
  const real = stack.ssm ? 'DRY_RUN=false: actions run for real, but against the local stand-ins below, not real machines' : 'DRY_RUN=false: actions run for real';
  console.log(`flashduty-actions running locally (${dryRun ? 'dry-run: actions say what they would do, except those under "Run for real", which touch only stand-ins' : real})
  receiver:      ${stack.receiverUrl}/actions/{action}   (actions: ${stack.settings.actions.map((a) => a.name).join(', ')})
                 ${stack.receiverUrl}/events             (Incident Webhook; rules: ${env.EVENT_RULES_FILE ?? (env.EVENT_RULES ? 'EVENT_RULES' : 'none')})
  SQS emulator:  ${stack.sqsEndpoint}
  DynamoDB:      ${stack.dynamodbEndpoint}
  FlashDuty API: ${stack.flashdutyUrl}${stack.flashduty ? ' (local stand-in)' : ''}
  SSM:           ${stack.ssmEndpoint}${stack.ssm ? ` (local stand-in, ${stack.ssm.instances.length} instances from deploy/local-fleet.json)` : ''}
  Sources:       ${stack.sourcesUrl} (local stand-in Tempo, Loki and CMDB for enrich)
  Deploy:        ${stack.deploy ? `${stack.deploy.origin} (local stand-in GitHub, GitLab and webhook for rollback)` : 'ROLLBACK_TARGETS as configured'}
  Statuspage:    ${env.STATUS_PAGE_API_URL ?? stack.workerEnv.get('status-page')?.STATUS_PAGE_API_URL ?? '(status-page not enabled)'}
${dryRun ? `  Run for real:  ${liveActions || 'none'} (LOCAL_LIVE_ACTIONS, and rollback while it dispatches to the stand-ins: they change only stand-ins here)\n` : ''}Try it:  npm run send -- echo     or     npm run send -- restart-host     or     npm run send -- enrich     or     npm run send -- rollback     or     npm run send -- status-page (twice)
         npm run send -- --event i_new   (the example event rules: enrich, status-page)`);
  const stop = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The settings .env.local names that nothing reads: a misspelt one would be ignored in silence. */
async function unreadOverrides(): Promise<string[]> {
  const { describeUnread, unreadSettings } = await import('../deploy/config-catalog');
  return describeUnread(LOCAL_OVERRIDES, unreadSettings(loadEnvFiles([join(ROOT, LOCAL_OVERRIDES)], {})));
}

/** FlashDuty writes other than comments: the status page's create and update, enrich's fields, rollback's change event. */
const PRINTED_WRITES = new Set(['/status-page/change/create', '/status-page/change/timeline/create', '/incident/field/reset', '/event/push/change/standard']);

/** A write as it reached a stand-in, so `npm run send` shows what each action did besides its comment. */
function printWrite(standIn: string, request: string, status: number, body: unknown): void {
  console.log(`\n── ${standIn} stand-in: ${request} (HTTP ${status}) ──\n${JSON.stringify(body)}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
