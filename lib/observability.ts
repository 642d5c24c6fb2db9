import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The one logger and the one metrics emitter. Structured JSON on stdout; metrics in CloudWatch
 * Embedded Metric Format, so no API call is made to publish them.
 */
export const SERVICE = 'flashduty-actions';
export const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: 'FlashdutyActions', serviceName: SERVICE });

export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** The keys every line about one click carries. */
export interface Correlation {
  action?: string;
  event_id?: string;
  incident_id?: string;
}

/** A logger whose every line carries `keys`. One per request or record, so concurrent work never mixes keys. */
export function correlatedLogger(keys: Correlation): Logger {
  const child = logger.createChild();
  child.appendKeys({ ...keys });
  return child;
}

/** Emits one metric at once (EMF), with its own dimensions. */
export function emitMetric(
  name: string,
  dimensions: Record<string, string>,
  value = 1,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit] = MetricUnit.Count,
): void {
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, unit, value);
}

export { MetricUnit };
