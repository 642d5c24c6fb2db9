import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The one logger and the one metrics emitter. Structured JSON on stdout; metrics in CloudWatch
 * Embedded Metric Format, so no API call is made to publish them.
 */
export const SERVICE = 'flashduty-actions';
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: 'FlashdutyActions', serviceName: SERVICE });

/** The keys every line about one click carries. */
export interface Correlation {
  action?: string;
  event_id?: string;
  incident_id?: string;
}

const correlation = new AsyncLocalStorage<Correlation>();

/**
 * Runs `fn` with `keys` added to every log line written inside it, however deep (the FlashDuty
 * client, an action). Async-context scoped, so concurrent clicks in one process never mix keys.
 */
export function withCorrelation<T>(keys: Correlation, fn: () => T): T {
  return correlation.run({ ...correlation.getStore(), ...keys }, fn);
}

type Extra = Record<string, unknown>;
const line = (write: (message: string, extra: Extra) => void) => (message: string, extra: Extra = {}) =>
  write(message, { ...correlation.getStore(), ...extra });

/** The log everything writes through. */
export const log = {
  debug: line((m, e) => logger.debug(m, e)),
  info: line((m, e) => logger.info(m, e)),
  warn: line((m, e) => logger.warn(m, e)),
  error: line((m, e) => logger.error(m, e)),
};
export type Log = typeof log;

/** Changes the log level at run time (tests; POWERTOOLS_LOG_LEVEL sets it at start). */
export function setLogLevel(level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT'): void {
  logger.setLogLevel(level);
}

/**
 * Emits one metric at once (EMF), with its own dimensions. Add, publish and clear run in one
 * synchronous step, so concurrent requests in one process cannot mix dimensions, and no metrics
 * object is built per call (singleMetric() would, on the receiver's hot path).
 */
export function emitMetric(
  name: string,
  dimensions: Record<string, string>,
  value = 1,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit] = MetricUnit.Count,
): void {
  metrics.addDimensions(dimensions);
  metrics.addMetric(name, unit, value);
  metrics.publishStoredMetrics();
}

export { MetricUnit };
