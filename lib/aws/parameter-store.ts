import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { networkCause, UnavailableError } from '../errors';

/** Reads one decrypted SecureString (or String) parameter by name. */
export type ParameterReader = (name: string) => Promise<string>;

export class ParameterNotFoundError extends Error {
  override readonly name = 'ParameterNotFoundError';
}

/**
 * `ssm:GetParameter` through the SDK's own SigV4 signer and credential chain (both already in
 * every bundle with the SQS client). The full `@aws-sdk/client-ssm` would add about 56 KB zipped
 * and tens of milliseconds of module init to the receiver, whose cold start sits inside
 * FlashDuty's 1 s deadline. Like the SDK, it tries again when SSM throttles or fails, but within
 * `timeoutMs` for the whole read (withinBudget). Workers read their secrets through Powertools
 * Parameters and the full client instead (lib/aws/secrets.ts), with a cache that expires.
 */
export function makeParameterReader(options: { region: string; endpoint?: string; timeoutMs: number }): ParameterReader {
  const { region, timeoutMs } = options;
  const endpoint = new URL(options.endpoint ?? `https://ssm.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`);
  const signer = new SignatureV4({ service: 'ssm', region, credentials: defaultProvider(), sha256: NodeSha256 });

  const attempt = async (name: string, deadline: AbortSignal): Promise<string> => {
    const body = JSON.stringify({ Name: name, WithDecryption: true });
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: endpoint.pathname,
      query: {},
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonSSM.GetParameter',
      },
      body,
    });
    let response: { status: number; ok: boolean; text: string };
    try {
      response = await post(endpoint, signed.headers, body, deadline);
    } catch (error) {
      const why = deadline.aborted ? `did not answer within ${timeoutMs} ms` : `could not be reached (${networkCause(error)})`;
      throw new UnavailableError(`SSM GetParameter for ${name} ${why}`);
    }
    const { text } = response;
    const reply = safeJson(text) as { Parameter?: { Value?: string }; __type?: string; message?: string; Message?: string };
    if (response.ok && typeof reply.Parameter?.Value === 'string') return reply.Parameter.Value;
    const type = (reply.__type ?? '').split('#').pop() || `HTTP ${response.status}`;
    if (type === 'ParameterNotFound') throw new ParameterNotFoundError(`SSM parameter ${name} does not exist`);
    const detail = `${type}${reply.message ?? reply.Message ? `: ${reply.message ?? reply.Message}` : ''}`;
    if (response.status >= 500 || type === 'ThrottlingException') throw new UnavailableError(`SSM GetParameter for ${name} failed (${detail})`);
    throw new Error(`SSM GetParameter for ${name} was refused (${detail})`);
  };

  return (name) => withinBudget(timeoutMs, (deadline) => attempt(name, deadline));
}

/**
 * Tries `attempt` until it succeeds, fails for good (anything but UnavailableError), or `budgetMs`
 * is spent: one budget for every attempt. A storm of cold starts is a storm of GetParameter calls,
 * and SSM answers the ones past its rate at once with ThrottlingException; tried again a moment
 * later (full jitter, so the instances spread out), most get through inside the budget. The error
 * that ends it says how many attempts were made.
 */
async function withinBudget<T>(budgetMs: number, attempt: (deadline: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(budgetMs);
  const gaveUp = (error: unknown, tries: number) => {
    if (tries > 1 && error instanceof Error) error.message = `${error.message}; gave up after ${tries} attempts in ${budgetMs} ms`;
    return error;
  };
  let previous: unknown;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(deadline);
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw gaveUp(error, tries);
      // A budget spent during an attempt says less than why the attempts before it failed.
      if (deadline.aborted) throw gaveUp(previous ?? error, tries);
      previous = error;
      const pause = Math.random() * Math.min(RETRY_PAUSE_CAP_MS, RETRY_PAUSE_MS * 2 ** (tries - 1));
      const paused = await sleep(pause, true, { signal: deadline }).catch(() => false);
      if (!paused) throw gaveUp(error, tries);
    }
  }
}

/** Pauses before another attempt: a random time up to this, doubling per attempt, up to the cap. */
const RETRY_PAUSE_MS = 20;
const RETRY_PAUSE_CAP_MS = 160;

/**
 * One POST through node:http(s), which the SQS client has loaded already: the first `fetch` of a
 * process loads undici, about 20 ms more on the receiver's cold path (`npm run bench`, "Cold path").
 */
function post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<{ status: number; ok: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) ?? {};
  } catch {
    return {};
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** The `sha256` constructor SigV4 expects: a hash, or an HMAC when given a secret. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

/**
 * Loads a value once and keeps it, but forgets a failed load so the next caller tries again (a
 * parameter store hiccup at cold start must not break the function for its whole life). After
 * `maxAgeMs` the next caller starts a reload in the background and is still served the kept value,
 * so no request waits on SSM after the first, yet a rotated secret (a token removed after a
 * rotation) takes effect without a cold start. A failed reload keeps the old value and is tried
 * again `RELOAD_RETRY_MS` later.
 */
export function cachedUntilFailure<T>(load: () => Promise<T>, maxAgeMs = Infinity, now: () => number = Date.now): () => Promise<T> {
  let cached: Promise<T> | undefined;
  let loadedAt: number | undefined;
  let reloading = false;
  const first = () => {
    const current = load();
    cached = current;
    current.then(
      () => (loadedAt = now()),
      () => {
        if (cached === current) cached = undefined;
      },
    );
    return current;
  };
  const reload = () => {
    reloading = true;
    load()
      .then(
        (value) => {
          cached = Promise.resolve(value);
          loadedAt = now();
        },
        () => (loadedAt = now() - maxAgeMs + RELOAD_RETRY_MS),
      )
      .finally(() => (reloading = false));
  };
  return () => {
    if (!cached) return first();
    if (!reloading && loadedAt !== undefined && now() - loadedAt >= maxAgeMs) reload();
    return cached;
  };
}

/** How soon a failed background reload is tried again. */
export const RELOAD_RETRY_MS = 10_000;
