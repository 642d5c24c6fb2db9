import { ACTIONS } from '../lib/actions/registry';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { samplePayload, type Payload } from './click-payload';

/** What `npm run send` was asked to post, and where. */
export interface SendRequest {
  url: string;
  token: string;
  body: Payload;
}

export const SEND_USAGE = [
  'usage: npm run send -- <action> [options]',
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
    else if (arg.startsWith('--')) fail(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [action, legacyUrl] = positional;
  const target = url ?? legacyUrl ?? `http://127.0.0.1:${env.PORT ?? 3000}`;
  const isActionUrl = /\/actions\/[^/]+\/?$/.test(target);
  if (!action && !isActionUrl) fail(`name an action, or give --url an action URL; actions enabled locally: ${env.ENABLED_ACTIONS || ACTIONS.map((a) => a.name).join(',')}`);
  const body = file ? readPayload(resolve(cwd, file)) : samplePayload();
  if (Object.keys(labels).length > 0) {
    const incident = (body.incident ?? {}) as Payload;
    body.incident = { ...incident, labels: { ...(incident.labels as object), ...labels } };
  }
  return {
    url: isActionUrl ? target.replace(/\/$/, '') : `${target.replace(/\/$/, '')}/actions/${encodeURIComponent(action!)}`,
    token: token ?? (env.WEBHOOK_TOKENS ?? '').split(',')[0]?.trim() ?? '',
    body,
  };
}

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
