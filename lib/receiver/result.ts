import { describeError, ValidationError } from '../errors';
import { type HttpResponse, json } from '../http/responses';
import type { Refusal } from '../telemetry-names';

/** What one request came to: the answer, and what its one log line says. */
export interface Result {
  response: HttpResponse;
  refusal?: Refusal;
  detail?: string;
  keys?: { event_id: string; incident_id: string };
  /** The log message of an accepted request ("click queued" unless said otherwise) and its extra fields. */
  note?: { message: string; extra?: Record<string, unknown> };
}

export function refuse(refusal: Refusal, response: HttpResponse, detail?: string): Result {
  return { response, refusal, detail };
}

/** A bug, not a refusal: answered as a plain 500 so no internals leak. */
export function refuseInternal(detail: string): Result {
  return { response: json(500, { error: 'internal error' }), refusal: 'internal_error', detail };
}

/** A 503 when the secrets a caller is checked against could not be loaded (SSM down): a retry can succeed. */
export function tokenStoreUnavailable(error: unknown): Result {
  return refuse('token_store_unavailable', json(503, { error: 'temporarily unavailable; try again' }), describeError(error));
}

/** A 400 naming what was wrong with the body; anything but a ValidationError is a bug and is thrown on. */
export function refuseInvalid(error: unknown): Result {
  if (!(error instanceof ValidationError)) throw error;
  const body = error.problems.length > 0 ? { error: error.message, details: error.problems.slice(0, 20) } : { error: error.message };
  return refuse('invalid_payload', json(400, body), error.message);
}

/** The 503 answer when the enqueue failed or timed out: whether the click was queued is unknown. */
export const QUEUE_UNKNOWN =
  'could not confirm that the click was queued; it may still run. Do not click again: watch the incident timeline for its result comment.';
