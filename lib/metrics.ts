/**
 * The names a dashboard or an alarm depends on, defined once: lib/observability.ts writes metrics
 * with them and deploy/ alarms on them. CloudWatch finds a metric by namespace, name and its
 * exact set of dimensions, so a renamed metric or reason here moves both ends together.
 */

/** The service name: the stack's, and the `service` dimension of every metric. */
export const SERVICE = 'flashduty-actions';
export const METRICS_NAMESPACE = 'FlashdutyActions';

export const METRIC_NAMES = [
  /** Receiver: a click was put on its action's queue (`action`). */
  'ClickAccepted',
  /** Receiver: a request was answered with a refusal (`reason`, one of REFUSALS). */
  'ClickRefused',
  /** Worker: a run ended (`action`, `status`). */
  'ActionOutcome',
  /** Worker: how long a run took, in milliseconds (`action`). */
  'ActionDuration',
  /** Worker: a click failed for good and went to the dead-letter queue (`action`). */
  'ActionDeadLettered',
  /** Worker: a click failed and will be delivered again (`action`). */
  'ActionRetried',
  /** Worker: a queue message that can never be run (`action`). */
  'PoisonMessage',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Why the receiver refused a request: the `reason` dimension of ClickRefused, and the log line's. */
export const REFUSALS = [
  'method_not_allowed',
  'ip_not_allowed',
  'bad_token',
  'unknown_action',
  'invalid_payload',
  'token_store_unavailable',
  'queue_unavailable',
  'internal_error',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/** Every dimension a metric carries: `service`, then the caller's. */
export const metricDimensions = (dimensions: Record<string, string>): Record<string, string> => ({ service: SERVICE, ...dimensions });

/** How CloudWatch (an alarm, a dashboard) names the metric that emitMetric writes with these dimensions. */
export function cloudWatchMetric(name: MetricName, dimensions: Record<string, string>) {
  const dims = Object.entries(metricDimensions(dimensions)).map(([Name, Value]) => ({ Name, Value }));
  return { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: dims };
}
