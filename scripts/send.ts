/**
 * `npm run send -- <action> [receiver-url]`: posts FlashDuty's sample Custom Action payload to the
 * local receiver, with a fresh event_time and event_id and the first configured token, the way
 * FlashDuty would. Prints the answer.
 */
import { randomUUID } from 'node:crypto';
import sample from '../tests/fixtures/custom-action.json';
import { ACTIONS } from '../lib/actions/registry';
import { localEnv } from './local-env';

async function main(): Promise<void> {
  const [action, url] = process.argv.slice(2);
  const env = localEnv();
  if (!action) {
    console.error(`usage: npm run send -- <action> [receiver-url]\n  actions enabled locally: ${env.ENABLED_ACTIONS || ACTIONS.map((a) => a.name).join(',')}`);
    process.exit(2);
  }
  const receiver = url ?? `http://127.0.0.1:${env.PORT ?? 3000}`;
  const token = (env.WEBHOOK_TOKENS ?? '').split(',')[0]?.trim();
  const body = { ...sample, event_time: Date.now(), event_id: randomUUID().replace(/-/g, '') };
  const response = await fetch(`${receiver}/actions/${encodeURIComponent(action)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  }).catch((error: Error) => {
    console.error(`could not reach the receiver at ${receiver} (${error.message}); is \`npm start\` running?`);
    process.exit(1);
  });
  console.log(`POST ${receiver}/actions/${action} -> ${response.status} ${await response.text()}`);
  process.exitCode = response.ok ? 0 : 1;
}

void main();
