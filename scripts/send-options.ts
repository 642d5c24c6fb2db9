import { ACTIONS } from '../lib/actions/registry';
import { INCIDENT_EVENT_TYPES } from '../lib/flashduty/facts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sampleEventPayload, samplePayload, type Payload } from './click-payload';

/** What `npm run send` was asked to post, and where. */
export interface SendRequest {
  url: string;
  token: string;
  body: Payload;
}

export const SEND_USAGE = [
  'usage: npm run send -- <action> [options]',
  '       npm run send -- --event <type> [options]',
  "  --event <type>      post FlashDuty's sample Incident Webhook event of this type (e.g. i_new) to /events instead of a click",
  '  --label key=value   set an incident label (repeatable), e.g. --label service=engine',
  "  --file payload.json post this JSON instead of FlashDuty's sample click",
  '  --url <url>         another receiver: its base URL, or an action URL as npm run setup prints it',
  '  --token <token>     the bearer token to send (default: the first of WEBHOOK_TOKENS)',
  'event_time and event_id are always fresh, as FlashDuty sends them.',
].join('\n');

export class SendUsageError extends Error {
  override readonly name = 'SendUsageError';
}

/**
 * Reads `npm run send` arguments: the action, then options. Unknown options, a label without `=`
 * or a file that is not a JSON object are refused, naming what was wrong.
 */
export function sendRequest(argv: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): SendRequest {
  const labels: Record<string, string> = {};
  const positional: string[] = [];
  let file: string | undefined;
  let url: string | undefined;
  let token: string | undefined;
  let event: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i] ?? fail(`${arg} needs a value`);
    if (arg === '--label') {
      const [key, ...rest] = value().split('=');
      if (!key || rest.length === 0) fail(`--label takes key=value, got "${argv[i]}"`);
      labels[key!] = rest.join('=');
    } else if (arg === '--file') file = value();
    else if (arg === '--url') url = value();
    else if (arg === '--token') token = value();
    else if (arg === '--event') event = value();
    else if (arg.startsWith('--')) fail(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (event !== undefined) return eventRequest(event, positional, { labels, file, url, token }, env, cwd);
  const [action, legacyUrl] = positional;
  const target = url ?? legacyUrl ?? `http://127.0.0.1:${env.PORT ?? 3000}`;
  const isActionUrl = /\/actions\/[^/]+\/?$/.test(target);
  if (!action && !isActionUrl) fail(`name an action, or give --url an action URL; actions enabled locally: ${enabledLocally(env)}`);
  const body = withLabels(file ? readPayload(resolve(cwd, file)) : samplePayload(), labels);
  return {
    url: isActionUrl ? target.replace(/\/$/, '') : `${target.replace(/\/$/, '')}/actions/${encodeURIComponent(action!)}`,
    token: token ?? firstToken(env),
    body,
  };
}

/** `--event <type>`: an Incident Webhook event to the receiver's `/events` (or a `--url` that already ends there). */
function eventRequest(
  type: string,
  positional: string[],
  options: { labels: Record<string, string>; file?: string; url?: string; token?: string },
  env: NodeJS.ProcessEnv,
  cwd: string,
): SendRequest {
  if (!(INCIDENT_EVENT_TYPES as readonly string[]).includes(type)) fail(`--event takes one of FlashDuty's event types (${INCIDENT_EVENT_TYPES.join(', ')}), got "${type}"`);
  if (positional.length > 0) fail(`--event posts to the receiver's /events; name no action (got "${positional[0]}")`);
  const target = (options.url ?? `http://127.0.0.1:${env.PORT ?? 3000}`).replace(/\/$/, '');
  const body = options.file ? { ...readPayload(resolve(cwd, options.file)), event_type: type } : sampleEventPayload(type);
  return { url: /\/events$/.test(target) ? target : `${target}/events`, token: options.token ?? firstToken(env), body: withLabels(body, options.labels) };
}

function withLabels(body: Payload, labels: Record<string, string>): Payload {
  if (Object.keys(labels).length === 0) return body;
  const incident = (body.incident ?? {}) as Payload;
  return { ...body, incident: { ...incident, labels: { ...(incident.labels as object), ...labels } } };
}

const firstToken = (env: NodeJS.ProcessEnv) => (env.WEBHOOK_TOKENS ?? '').split(',')[0]?.trim() ?? '';

function readPayload(path: string): Payload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`--file ${path}: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) fail(`--file ${path}: expected a JSON object (a push body)`);
  return parsed as Payload;
}

function fail(message: string): never {
  throw new SendUsageError(message);
}

/** The actions the local stack enables: ENABLED_ACTIONS, else every registered one. */
const enabledLocally = (env: NodeJS.ProcessEnv): string => env.ENABLED_ACTIONS || ACTIONS.map((a) => a.name).join(',');

/**
 * What to do about a refused answer from the local receiver, for the two a newcomer meets first;
 * undefined for any other, and for a deployed receiver (its actions and tokens are not these).
 */
export function answerHint(url: string, status: number, env: NodeJS.ProcessEnv): string | undefined {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) return undefined;
  if (status === 404) return `actions enabled locally: ${enabledLocally(env)} (ENABLED_ACTIONS)`;
  if (status === 401) return 'the receiver takes the tokens in WEBHOOK_TOKENS (deploy/local.env, or .env.local), and send uses the first unless --token says otherwise';
  return undefined;
}
