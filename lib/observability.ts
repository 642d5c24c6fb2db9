import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { METRICS_NAMESPACE, type MetricDimensions, type MetricName, SERVICE_NAME } from './telemetry-names';

/**
 * The one logger and the one metrics emitter. Structured JSON on stdout; metrics in CloudWatch
 * Embedded Metric Format, so no API call is made to publish them.
 */
export const SERVICE = SERVICE_NAME;
export { METRICS_NAMESPACE };
const logger = new Logger({ serviceName: SERVICE });

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

export type MetricUnit = 'Count' | 'Milliseconds';

const metricsDisabled = ['true', '1'].includes((process.env.POWERTOOLS_METRICS_DISABLED ?? '').toLowerCase());

/**
 * Emits one metric as one CloudWatch Embedded Metric Format line, with the `service` dimension and
 * the given ones. Every call is a complete, independent record: nothing is buffered, so nothing
 * can be lost at the end of an invocation or mixed between concurrent requests. Written by hand
 * rather than with Powertools Metrics, whose buffer, flush and dimension state this does not need:
 * dropping it took about 5 ms off the receiver's cold start (npm run bench). Names and
 * dimensions come from lib/telemetry-names.ts, which the dashboard reads too.
 */
export function emitMetric<N extends MetricName>(name: N, dimensions: MetricDimensions<N>, value = 1, unit: MetricUnit = 'Count'): void {
  if (metricsDisabled) return;
  const dims = { service: SERVICE, ...dimensions };
  const record = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [Object.keys(dims)], Metrics: [{ Name: name, Unit: unit }] }],
    },
    ...dims,
    [name]: value,
  };
  process.stdout.write(`${JSON.stringify(record)}\n`);
}
