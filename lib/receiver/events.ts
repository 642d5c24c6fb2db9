import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ValidationError } from '../errors';
import { describeError } from '../errors';
import { json } from '../http/responses';
import { emitMetric } from '../observability';
import { LOG_MESSAGES } from '../telemetry-names';
import type { OutgoingMessage } from '../queue/envelope';
import { matchingRules, ownWrite, type Rule } from '../triggers/rules';
import { type Click, parseClick } from './click';
import { refuse, refuseInvalid, type Result } from './result';

/** The Incident Webhook's route: `POST /events`, verified like an action's. */
export const EVENTS_PATH = '/events';


interface EventDeps {
  /** Enabled action name -> queue URL. */
  queues: ReadonlyMap<string, string>;
  rules: readonly Rule[];
  /** FlashDuty person ids of the app key's owner: their comments and field writes are ours. */
  selfPersonIds: readonly number[];
  enqueue: (queueUrl: string, message: OutgoingMessage, timeoutMs: number) => Promise<void>;
  maxEventAgeMs: number;
  enqueueTimeoutMs: number;
}

/** True when the request is for the events route rather than an action's. */
export function isEventsRoute(event: APIGatewayProxyEventV2): boolean {
  return event.pathParameters?.action === undefined && /^\/events\/?$/.test(event.rawPath ?? '');
}

/**
 * One verified Incident Webhook event: validated like a click, then every rule it matches is
 * enqueued as its own run, exactly like a click on that rule's action. An event that matches no
 * rule, or that our own write raised, is answered 200 and dropped with a metric: FlashDuty never
 * retries a non-200, and there is nothing to retry.
 */
export async function receiveEvent(deps: EventDeps, event: APIGatewayProxyEventV2, receivedAt: number): Promise<Result> {
  let click: Click;
  try {
    click = parseClick(event.body, event.isBase64Encoded ?? false, { now: receivedAt, maxEventAgeMs: deps.maxEventAgeMs });
    if (!click.payload.event_type?.trim()) throw new ValidationError('invalid payload: event_type: is required on an incident webhook event', ['event_type: is required']);
  } catch (error) {
    return refuseInvalid(error);
  }
  const { payload, eventId } = click;
  const eventType = payload.event_type!;
  const keys = { event_id: eventId, incident_id: payload.incident.incident_id };
  // Refusals share ClickRefused (and its alarm) with clicks; EventUnmatched and EventOwnWrite count the rest.
  const dropped = (reason: string): Result => ({
    response: json(200, { status: 'ignored', reason, event_id: eventId }),
    keys,
    note: { message: LOG_MESSAGES.eventIgnored, extra: { event_type: eventType, reason } },
  });

  const own = ownWrite(payload, click.raw, deps.selfPersonIds);
  if (own) {
    emitMetric('EventOwnWrite', {});
    return dropped(own);
  }
  const rules = matchingRules(deps.rules, payload);
  if (rules.length === 0) {
    emitMetric('EventUnmatched', {});
    return dropped('no rule matched');
  }

  const messages = rules.map((rule) => runOf(rule, click, receivedAt));
  const sent = await Promise.allSettled(messages.map((message) => deps.enqueue(queueOf(deps, message.action), message, deps.enqueueTimeoutMs)));
  const failed = sent.flatMap((result, i) => (result.status === 'rejected' ? [`${rules[i]!.name}: ${describeError(result.reason)}`] : []));
  if (failed.length > 0) return { ...refuse('queue_unavailable', json(503, { error: EVENT_QUEUE_UNKNOWN }), failed.join('; ')), keys };
  for (const rule of rules) emitMetric('EventRuleMatched', { action: rule.run });
  const runs = messages.map((message) => ({ rule: message.trigger!.rule, action: message.action, event_id: message.event_id }));
  return { response: json(200, { status: 'queued', event_id: eventId, runs }), keys, note: { message: LOG_MESSAGES.eventQueued, extra: { event_type: eventType, runs } } };
}

/**
 * The queue message of one rule's run. Its id is `<event id>:<rule>`: FlashDuty's retry of the
 * event is absorbed per rule by the queue's deduplication, and two rules running the same action on
 * one event are two runs (see README "Event rules").
 */
export function runOf(rule: Rule, click: Click, receivedAt: number): OutgoingMessage {
  return {
    version: 1,
    action: rule.run,
    event_id: `${click.eventId}:${rule.name}`,
    trigger: { rule: rule.name, event_type: click.payload.event_type ?? '', event_id: click.eventId },
    received_at: receivedAt,
    payload: click.payload,
  };
}

function queueOf(deps: EventDeps, action: string): string {
  const url = deps.queues.get(action);
  // Rules are checked against the enabled actions at cold start; reaching this is a bug.
  if (url === undefined) throw new Error(`rule runs "${action}", which has no queue`);
  return url;
}

/** The 503 answer when a run could not be confirmed queued. FlashDuty does not retry it; its invocation history shows it. */
const EVENT_QUEUE_UNKNOWN =
  'could not confirm that every run this event starts was queued; some may still run. Check the incident timeline, and the Incident Webhook invocation history.';
