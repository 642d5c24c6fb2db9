/**
 * `npm run send -- <action> [--label k=v] [--file payload.json] [--url <url>] [--token <token>]`:
 * posts a Custom Action push (FlashDuty's sample unless --file) to the local receiver (or --url),
 * with a fresh event_time and event_id and the first configured token (or --token), the way
 * FlashDuty would. Prints the answer.
 */
import { stamped } from './click-payload';
import { localEnv } from './local-env';
import { checkNode } from './node-check';
import { answerHint, SEND_USAGE, sendRequest, SendUsageError } from './send-options';

async function main(): Promise<void> {
  checkNode();
  let request: ReturnType<typeof sendRequest>;
  try {
    request = sendRequest(process.argv.slice(2), localEnv());
  } catch (error) {
    if (!(error instanceof SendUsageError)) throw error;
    console.error(`${error.message}\n${SEND_USAGE}`);
    process.exit(2);
  }
  const { url, token, body } = request;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(stamped(body)),
  }).catch((error: Error) => {
    console.error(`could not reach the receiver at ${url} (${error.message}); is \`npm start\` running?`);
    process.exit(1);
  });
  console.log(`POST ${url} -> ${response.status} ${await response.text()}`);
  const hint = answerHint(url, response.status, localEnv());
  if (hint) console.log(`hint: ${hint}`);
  process.exitCode = response.ok ? 0 : 1;
}

void main();
