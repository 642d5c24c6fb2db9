/**
 * The names a dashboard, an alarm or a saved query depends on: the metric namespace, each metric
 * with its dimensions, the receiver's refusal reasons, the outcome statuses and the log fields the
 * queries read. Defined once here; the code that emits them and the deploy code that draws and
 * queries them both import this module, so a rename cannot leave a widget looking at nothing.
 */

export const SERVICE_NAME = 'flashduty-actions';
export const METRICS_NAMESPACE = 'FlashdutyActions';

/** Every metric, with the dimensions it carries besides `service`. */
export const METRIC_DIMENSIONS = {
  ClickAccepted: ['action'],
  ClickRefused: ['reason'],
  ActionOutcome: ['action', 'status'],
  ActionDuration: ['action'],
  ActionRetried: ['action'],
  ActionDeadLettered: ['action'],
  PoisonMessage: ['action'],
  /** A click a guardrail refused; `rule` is the guardrail's key (`<ACTION>_ALLOWED_PERSONS`, `<ACTION>_MAX_RUNS_PER_HOUR`). */
  ActionRefused: ['action', 'rule'],
  /** One failed FlashDuty Open API attempt (error answer, timeout, no answer), retried or not. */
  FlashDutyApiError: [],
  /**
   * One run an Incident Webhook event started (`POST /events`), by its action. Rule names and event
   * types are on the `event queued` / `event ignored` log lines: as dimensions they would need the
   * operator's rules (and 20 event types) to draw.
   */
  EventRuleMatched: ['action'],
  /** An event no rule wanted: acknowledged and dropped, never queued. */
  EventUnmatched: [],
  /** An event our own comment or field write raised: acknowledged and dropped. */
  EventOwnWrite: [],
  /**
   * A run a rule on a self-raised event type started, held back because that rule ran on the
   * incident within the loop window: our own writes may be coming back as a person's.
   */
  RuleLoopStopped: ['action'],
} as const satisfies Record<string, readonly string[]>;

export type MetricName = keyof typeof METRIC_DIMENSIONS;
export type MetricDimensions<N extends MetricName> = Record<(typeof METRIC_DIMENSIONS)[N][number], string>;

/** Why the receiver refused a request (a click or an event): the `reason` of its log line and of `ClickRefused`. */
export const REFUSAL_REASONS = [
  'method_not_allowed',
  'ip_not_allowed',
  'bad_token',
  'unknown_action',
  'invalid_payload',
  'token_store_unavailable',
  'queue_unavailable',
  'internal_error',
] as const;
export type Refusal = (typeof REFUSAL_REASONS)[number];

/** An action's outcome: the `status` of `ActionOutcome` and of the worker's `action finished` line. */
export const OUTCOME_STATUSES = ['succeeded', 'failed', 'dry-run', 'skipped'] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

/** Log messages the saved queries filter on. */
export const LOG_MESSAGES = {
  clickQueued: 'click queued',
  clickRefused: 'click refused',
  eventQueued: 'event queued',
  eventIgnored: 'event ignored',
  eventRefused: 'event refused',
  actionFinished: 'action finished',
} as const;

/** Every dimension a metric carries: `service`, then the caller's. */
export const metricDimensions = (dimensions: Record<string, string>): Record<string, string> => ({ service: SERVICE_NAME, ...dimensions });

/** How CloudWatch (an alarm, a dashboard) names the metric that emitMetric writes with these dimensions. */
export function cloudWatchMetric<N extends MetricName>(name: N, dimensions: MetricDimensions<N>) {
  const dims = Object.entries(metricDimensions(dimensions)).map(([Name, Value]) => ({ Name, Value }));
  return { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: dims };
}
