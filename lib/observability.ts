import { AsyncLocalStorage } from 'node:async_hooks';
import { METRICS_NAMESPACE, type MetricDimensions, type MetricName, metricDimensions, SERVICE_NAME } from './telemetry-names';

/**
 * The one log and the one metrics emitter. Structured JSON lines, one per call, in the shape of
 * Powertools Logger's (`level`, `message`, `timestamp`, `service`, `sampling_rate`, then the keys)
 * and metrics in CloudWatch Embedded Metric Format, so no API call is made to publish them. Written
 * by hand: each is a few lines, and loading Powertools Logger cost the receiver about 4 ms of its
 * cold start (`npm run bench`, "Cold start"), which sits inside FlashDuty's 1 s.
 */
const SERVICE = process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME;

type Level = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';
/** Powertools' levels and order; we write DEBUG to ERROR. */
const RANK: Record<Level, number> = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 };
const levelOf = (name: string | undefined): Level => {
  const upper = (name ?? '').toUpperCase();
  return upper in RANK ? (upper as Level) : 'INFO';
};
let threshold = RANK[levelOf(process.env.POWERTOOLS_LOG_LEVEL)];

/** The keys every line starts with; a key of the same name among the extras is dropped. */
const FIXED = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'xray_trace_id']);

/** Errors as their name, message, stack, cause and own fields (JSON.stringify would write `{}`); bigints as digits. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { ...value, name: value.name, message: value.message, stack: value.stack, ...(value.cause !== undefined && { cause: value.cause }) };
  return typeof value === 'bigint' ? value.toString() : value;
}

/** JSON of a value, or undefined when it cannot be written (a circular reference, say). */
function tryJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, replacer);
  } catch {
    return undefined;
  }
}

type Written = Exclude<Level, 'TRACE' | 'CRITICAL' | 'SILENT'>;

function write(level: Written, message: string, extra: Record<string, unknown>): void {
  if (RANK[level] < threshold) return;
  const trace = process.env._X_AMZN_TRACE_ID?.match(/Root=([^;]+)/)?.[1];
  const record: Record<string, unknown> = { level, message, timestamp: new Date().toISOString(), service: SERVICE, sampling_rate: 0, ...(trace && { xray_trace_id: trace }) };
  for (const [key, value] of Object.entries(extra)) if (!FIXED.has(key)) record[key] = value;
  let line = tryJson(record);
  if (line === undefined) {
    // Some key cannot be written (a circular value, say): leave out just those keys, say which.
    const unwritable = Object.keys(record).filter((key) => tryJson(record[key]) === undefined && record[key] !== undefined);
    for (const key of unwritable) delete record[key];
    line = JSON.stringify({ ...record, log_error: `left out keys that cannot be written as JSON: ${unwritable.join(', ')}` }, replacer);
  }
  (level === 'WARN' || level === 'ERROR' ? process.stderr : process.stdout).write(`${line}\n`);
}

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
const line = (level: Written) => (message: string, extra: Extra = {}) => write(level, message, { ...correlation.getStore(), ...extra });

/** The log everything writes through. */
export const log = {
  debug: line('DEBUG'),
  info: line('INFO'),
  warn: line('WARN'),
  error: line('ERROR'),
};
export type Log = typeof log;

/** Changes the log level at run time (tests; POWERTOOLS_LOG_LEVEL sets it at start). */
export function setLogLevel(level: Level): void {
  threshold = RANK[level];
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
  const dims = metricDimensions(dimensions);
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
