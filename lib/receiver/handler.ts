import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { EDGE_HEADER } from '../auth/edge';
import type { IpAllowlist } from '../auth/ip-allowlist';
import type { TokenVerifier } from '../auth/tokens';
import { describeError } from '../errors';
import { type HttpResponse, json } from '../http/responses';
import { emitMetric, log } from '../observability';
import { LOG_MESSAGES } from '../telemetry-names';
import type { OutgoingMessage } from '../queue/envelope';
import { truncate } from '../text';
import type { Rule } from '../triggers/rules';
import { parseClick } from './click';
import { isEventsRoute, receiveEvent } from './events';
import { QUEUE_UNKNOWN, refuse, refuseInternal, refuseInvalid, type Result, tokenStoreUnavailable } from './result';

export interface ReceiverDeps {
  /** Enabled action name -> queue URL. */
  queues: ReadonlyMap<string, string>;
  allowlist: IpAllowlist;
  /** Resolves the token verifier (loaded once per cold start; may reject if its store is down). */
  verifier: () => Promise<TokenVerifier>;
  /**
   * Behind the CloudFront + WAF edge: the secret CloudFront sends in EDGE_HEADER. The WAF checked
   * the caller's IP (API Gateway only sees CloudFront's), so this replaces the allowlist.
   */
  edgeSecret?: () => Promise<TokenVerifier>;
  /** Enqueues one message, or throws when the queue has not taken it `timeoutMs` after it was encoded. */
  enqueue: (queueUrl: string, message: OutgoingMessage, timeoutMs: number) => Promise<void>;
  maxEventAgeMs: number;
  enqueueTimeoutMs: number;
  /** Event rules for `POST /events` (none: every event is acknowledged and dropped). */
  rules?: readonly Rule[];
  /** FlashDuty person ids of the app key's owner (see EVENT_SELF_PERSON_IDS). */
  selfPersonIds?: readonly number[];
  now?: () => number;
}

/**
 * The receiver: verify the caller, route to an enabled action, validate the payload, enqueue, and
 * answer, all inside FlashDuty's 1 s deadline. `POST /events` (FlashDuty's Incident Webhook) is
 * verified the same way, then its event runs whichever rules it matches (./events.ts). Checks run
 * cheapest and least revealing first: a caller from a foreign IP learns nothing about tokens, and
 * only a verified caller learns which actions exist.
 */
export function makeReceiver(deps: ReceiverDeps) {
  return async function receive(event: APIGatewayProxyEventV2): Promise<HttpResponse> {
    const started = performance.now();
    // undefined: the events route, whose runs name their own actions.
    const action = isEventsRoute(event) ? undefined : actionOf(event);
    const result = await decide(deps, event, action).catch(
      (error: unknown): Result => refuseInternal(describeError(error)),
    );
    report(event, action, result, performance.now() - started);
    return result.response;
  };
}

/** The one log line and metric of a request. */
function report(event: APIGatewayProxyEventV2, action: string | undefined, result: Result, ms: number): void {
  const line = {
    status: result.response.statusCode,
    source_ip: event.requestContext?.http?.sourceIp,
    duration_ms: Math.round(ms * 10) / 10,
    ...(result.refusal && { reason: result.refusal, detail: result.detail }),
  };
  // Keys passed directly: the 1 s path needs no async context for its one log line.
  const keys = { ...(action === undefined ? { route: 'events' } : { action: truncate(action, 64) }), ...result.keys };
  if (result.refusal) {
    log.warn(action === undefined ? LOG_MESSAGES.eventRefused : LOG_MESSAGES.clickRefused, { ...keys, ...line });
    emitMetric('ClickRefused', { reason: result.refusal });
  } else if (result.note) {
    log.info(result.note.message, { ...keys, ...line, ...result.note.extra });
  } else {
    log.info(LOG_MESSAGES.clickQueued, { ...keys, ...line });
    emitMetric('ClickAccepted', { action: action ?? '' });
  }
}

/** True, or the refusal: a foreign IP, or (behind the edge) a request that did not come through it. */
async function callerAllowed(deps: ReceiverDeps, event: APIGatewayProxyEventV2): Promise<true | Result> {
  const forbidden = () => refuse('ip_not_allowed', json(403, { error: 'forbidden' }));
  if (!deps.edgeSecret) return deps.allowlist.allows(event.requestContext?.http?.sourceIp) || forbidden();
  try {
    return (await deps.edgeSecret()).matches(event.headers?.[EDGE_HEADER]) || forbidden();
  } catch (error) {
    return tokenStoreUnavailable(error);
  }
}


/** IP (or edge secret), method and token: the same for every route. */
async function verify(deps: ReceiverDeps, event: APIGatewayProxyEventV2): Promise<true | Result> {
  // The source IP first: a foreign caller gets 403 whatever it sends, and learns nothing else.
  const allowed = await callerAllowed(deps, event);
  if (allowed !== true) return allowed;
  const method = event.requestContext.http.method ?? '';
  if (method !== 'POST') {
    return refuse('method_not_allowed', json(405, { error: `method ${truncate(method, 16)} is not allowed; use POST` }, { allow: 'POST' }));
  }
  let verifier: TokenVerifier;
  try {
    verifier = await deps.verifier();
  } catch (error) {
    return tokenStoreUnavailable(error);
  }
  if (!verifier.verify(event.headers?.authorization)) {
    return refuse('bad_token', json(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' }));
  }
  return true;
}


/** Verifies, then routes: an action's click onto its queue, or an event through the rules. */
async function decide(deps: ReceiverDeps, event: APIGatewayProxyEventV2, action: string | undefined): Promise<Result> {
  const verified = await verify(deps, event);
  if (verified !== true) return verified;
  if (action === undefined) return receiveEvent({ ...deps, rules: deps.rules ?? [], selfPersonIds: deps.selfPersonIds ?? [] }, event, (deps.now ?? Date.now)());
  const queueUrl = deps.queues.get(action);
  if (queueUrl === undefined) {
    return refuse('unknown_action', json(404, { error: `no enabled action named "${truncate(action, 64)}"` }));
  }

  const receivedAt = (deps.now ?? Date.now)();
  let click: ReturnType<typeof parseClick>;
  try {
    click = parseClick(event.body, event.isBase64Encoded ?? false, { now: receivedAt, maxEventAgeMs: deps.maxEventAgeMs });
  } catch (error) {
    return refuseInvalid(error);
  }

  const keys = { event_id: click.eventId, incident_id: click.payload.incident.incident_id };
  const message: OutgoingMessage = { version: 1, action, event_id: click.eventId, received_at: receivedAt, payload: click.payload };
  try {
    await deps.enqueue(queueUrl, message, deps.enqueueTimeoutMs);
  } catch (error) {
    // A timed-out SendMessage may still have queued the click (seen: 503 answered, and the action
    // ran). "Try again" could run it twice, so the answer says to watch the timeline instead.
    return { ...refuse('queue_unavailable', json(503, { error: QUEUE_UNKNOWN }), describeError(error)), keys };
  }
  return { response: json(200, { status: 'queued', action, event_id: click.eventId }), keys };
}


/**
 * The action a request names: the `{action}` path parameter on the catch-all route, else the last
 * segment of the path on an action's own route (`POST /actions/restart-host`, which has its own
 * throttle and so no path parameter).
 */
function actionOf(event: APIGatewayProxyEventV2): string {
  const fromRoute = event.pathParameters?.action;
  if (fromRoute !== undefined) return fromRoute;
  const segment = /^\/actions\/([^/]+)\/?$/.exec(event.rawPath ?? '')?.[1] ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
