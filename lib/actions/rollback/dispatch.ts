import { setTimeout as sleep } from 'node:timers/promises';
import { type HttpClient, OutboundError, type OutboundRequest, type OutboundResponse } from '../../http/outbound';
import type { Log } from '../../observability';
import type { Memory } from '../types';

/** What a dispatch started, as far as the platform told us. */
export interface Run {
  id?: string;
  url?: string;
  /** When there is no id: what is known (e.g. "accepted, HTTP 202"). */
  note?: string;
}

/** One provider's calls for one target and click (github.ts, gitlab.ts, webhook.ts). */
export interface Dispatcher {
  /** What is triggered, for the comment: workflow or pipeline, ref, inputs. */
  facts: Array<[string, string]>;
  /** The exact request(s), secrets as `***`, for a dry run. */
  describe(): string;
  /** Sends the dispatch once. Throws DispatchRefused (a 4xx: do not retry) or a retryable OutboundError. */
  dispatch(): Promise<Run>;
  /** The run this click started at or after `since` (ms), if it can be seen; CannotLook when this click's run cannot be told apart. */
  find(since: number): Promise<Run | undefined | CannotLook>;
  /** The far side dedupes repeated sends itself (webhook: on the delivery header), so an unclear send may be repeated. */
  resendable: boolean;
}

/**
 * A lookup that cannot tell whether this click's attempt started a run: `why`, for the comment,
 * says what to change. `final` unless looking again a moment later could find the run (a run the
 * list shows may turn out not to be the only candidate once this click's own is listed).
 */
export class CannotLook {
  constructor(
    readonly why: string,
    readonly final = true,
  ) {}
}

/** The platform refused the dispatch (bad token, unknown repository, refused ref or inputs). Not retried. */
export class DispatchRefused extends Error {
  override readonly name = 'DispatchRefused';
}

/** A dispatch whose answer was lost, where its run cannot be looked for: not sent again, outcome unknown. */
export class DispatchUnknown extends Error {
  override readonly name = 'DispatchUnknown';
}

/** The note kept per click: written before dispatching, completed with the run once it is known. */
interface Note {
  provider: string;
  /** When the first dispatch attempt started (ms): runs created since may be ours. */
  since: number;
  run?: Run;
}

/** Attempts per run for timeouts, 429 and 5xx; the worker's own retries (with the note) come after. */
const ATTEMPTS = 3;
const BASE_DELAY_MS = 1000;

/**
 * Dispatches at most once per click. A note in the action's memory records the attempt before it
 * is sent and the run as soon as it is known, so that a delivery after a crash, a lost answer or a
 * timeout reports the recorded run, or looks for it, instead of starting a second rollback. Only
 * timeouts, no answer, 429 and 5xx are retried, a few times here and then by the worker.
 */
export async function dispatchOnce(d: Dispatcher, memory: Memory, key: string, provider: string, log: Log, signal: AbortSignal): Promise<{ run: Run; earlier: boolean }> {
  const known = await memory.recall<Note>(key);
  if (known?.run) return { run: known.run, earlier: true };
  const since = known?.since ?? Date.now();
  const record = async (run: Run, earlier: boolean) => {
    await memory.remember(key, { provider, since, run } satisfies Note);
    return { run, earlier };
  };
  if (known) {
    log.warn('an earlier delivery of this click started a dispatch and did not record its answer; looking for its run first');
    const found = await lookFor(d, since, signal);
    if (found) return record(found, true);
  } else {
    await memory.remember(key, { provider, since } satisfies Note);
  }
  // Whether an attempt so far may have started a run (no answer, a timeout, a 5xx; an earlier
  // delivery's): a refusal of the next one then cannot mean that nothing was started.
  let unclear = known !== undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await record(await d.dispatch(), false);
    } catch (error) {
      if (error instanceof DispatchRefused && unclear) {
        throw new DispatchUnknown(`an earlier attempt got no answer and may have started it, and sending it again was refused: ${error.message}`);
      }
      if (!(error instanceof OutboundError) || !error.retryable || attempt >= ATTEMPTS) throw error;
      unclear ||= error.details.status !== 429;
      log.warn('rollback dispatch failed; will look for its run, then retry', { attempt, problem: error.message });
      await sleep(BASE_DELAY_MS * 2 ** (attempt - 1), undefined, { signal });
      // A 429 was certainly not dispatched; a timeout or a 5xx may have been.
      const found = error.details.status === 429 ? undefined : await lookFor(d, since, signal);
      if (found) return record(found, false);
    }
  }
}

/** Looks for an unclear attempt's run (after the retry's own backoff): a run is listed a few seconds after it starts. */
const LIST_LAG_DELAYS_MS = [0, 1000, 2000];

/**
 * The run an unclear earlier attempt started, undefined to send (again), or DispatchUnknown when we
 * cannot tell. Looked for a few times (findSoon): a run shows up in the platform's list a moment
 * after it starts, and "not there" means sending again.
 */
async function lookFor(d: Dispatcher, since: number, signal: AbortSignal): Promise<Run | undefined> {
  const found = await findSoon(() => d.find(since), signal, LIST_LAG_DELAYS_MS);
  if (!(found instanceof CannotLook)) return found;
  if (d.resendable) return undefined;
  throw new DispatchUnknown(`an earlier attempt got no answer, and which run it started, if any, cannot be told: ${found.why}; so it was not sent again`);
}

/**
 * A lookup's answer, or CannotLook when the platform refuses it (401, 403: the token may not read
 * it; 404): this click's run then cannot be told apart, which is reported, not retried until the
 * dead-letter queue. `what` names the lookup and the token for the comment.
 */
export async function lookup<T>(http: HttpClient, request: OutboundRequest, what: string): Promise<T | CannotLook> {
  try {
    return await http.json<T>(request);
  } catch (error) {
    const status = error instanceof OutboundError && error.kind === 'status' ? (error.details.status ?? 0) : 0;
    if ([401, 403, 404].includes(status)) return new CannotLook(`${what} was refused with HTTP ${status}`);
    throw error;
  }
}

/** Retryable trouble stays an OutboundError; any other non-2xx answer is the platform's refusal, explained by `explain`. */
export function checkAnswer(response: OutboundResponse, label: string, explain: (status: number, message: string) => string): void {
  const { status } = response;
  if (status >= 200 && status <= 299) return;
  const message = platformMessage(response.text, response.scrub);
  if (status === 429 || status >= 500) throw new OutboundError(`${label}: answered HTTP ${status}${message ? `: ${message}` : ''}`, 'status', { status });
  throw new DispatchRefused(explain(status, message));
}

/**
 * The JSON of an answer checkAnswer accepted, or undefined when it cannot be read (plain text, an
 * HTML page from a proxy, an empty body): the dispatch was accepted all the same, and throwing
 * would have the retry dispatch it again.
 */
export function acceptedAnswer<T>(response: OutboundResponse): T | undefined {
  try {
    return response.json<T>();
  } catch {
    return undefined;
  }
}

/**
 * The platform's own words from an error body: `message` (GitHub, GitLab) or `error`, else the text,
 * with the request's secrets scrubbed (a platform may echo the token it refused), then cut.
 */
function platformMessage(text: string, scrub: (text: string) => string): string {
  let said: unknown = text;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    said = body?.message ?? body?.error ?? text;
  } catch {
    // not JSON: the text itself
  }
  const flat = scrub((typeof said === 'string' ? said : JSON.stringify(said)).replace(/\s+/g, ' ').trim());
  return flat.length > 300 ? `${flat.slice(0, 299)}…` : flat;
}

/**
 * Polls `find` until it finds a run: a run may show up in the platform's list a moment after the
 * dispatch. A CannotLook that is not final is polled through (a run started by hand does not stop
 * this click's from showing up) and answered only if no run turned up by the last poll.
 */
export async function findSoon<T>(find: () => Promise<T | undefined | CannotLook>, signal: AbortSignal, delaysMs = [0, 1000, 2000, 3000]): Promise<T | undefined | CannotLook> {
  let last: CannotLook | undefined;
  for (const delay of delaysMs) {
    if (delay) await sleep(delay, undefined, { signal });
    const found = await find();
    if (found instanceof CannotLook && found.final) return found;
    if (found instanceof CannotLook) last = found;
    else if (found !== undefined) return found;
  }
  return last;
}
