/**
 * `npm run send -- <action> [receiver-url]`: posts FlashDuty's sample Custom Action payload to the
 * local receiver, with a fresh event_time and event_id and the first configured token, the way
 * FlashDuty would. `npm run send -- --event <type> [receiver-url]` posts FlashDuty's sample
 * Incident Webhook event of that type to `/events` instead, its incident labelled like the sample
 * click's (resource=es.nj.01, service=engine), which the local stand-ins know. Prints the answer.
 */
import { randomUUID } from 'node:crypto';
import { INCIDENT_EVENT_TYPES } from '../lib/flashduty/facts';
import sampleClick from '../tests/fixtures/custom-action.json';
import sampleEvent from '../tests/fixtures/incident-webhook.json';
import { localEnv } from './local-env';

const USAGE = `usage: npm run send -- <action> [receiver-url]
       npm run send -- --event <event type> [receiver-url]   (e.g. i_new, i_rslv)`;

/** What to post where: a click on an action's route, or an incident event on /events. */
function request(args: string[], enabled: string): { path: string; body: object; rest: string[] } {
  const fresh = { event_time: Date.now(), event_id: randomUUID().replace(/-/g, '') };
  if (args[0] === '--event') {
    const type = args[1];
    if (!type) fail(`${USAGE}\n  event types: ${INCIDENT_EVENT_TYPES.join(', ')}`);
    if (!(INCIDENT_EVENT_TYPES as readonly string[]).includes(type)) console.error(`note: ${type} is not one of FlashDuty's documented event types; sending it anyway`);
    const incident = { ...sampleEvent.incident, labels: { ...sampleEvent.incident.labels, ...sampleClick.incident.labels } };
    return { path: '/events', body: { ...sampleEvent, ...fresh, event_type: type, incident }, rest: args.slice(2) };
  }
  const action = args[0];
  if (!action) fail(`${USAGE}\n  actions enabled locally: ${enabled}`);
  return { path: `/actions/${encodeURIComponent(action)}`, body: { ...sampleClick, ...fresh }, rest: args.slice(1) };
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function main(): Promise<void> {
  const env = localEnv();
  const { path, body, rest } = request(process.argv.slice(2), env.ENABLED_ACTIONS ?? '');
  const receiver = rest[0] ?? `http://127.0.0.1:${env.PORT ?? 3000}`;
  const token = (env.WEBHOOK_TOKENS ?? '').split(',')[0]?.trim();
  const response = await fetch(`${receiver}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  }).catch((error: Error) => {
    console.error(`could not reach the receiver at ${receiver} (${error.message}); is \`npm start\` running?`);
    process.exit(1);
  });
  console.log(`POST ${receiver}${path} -> ${response.status} ${await response.text()}`);
  process.exitCode = response.ok ? 0 : 1;
}

void main();
