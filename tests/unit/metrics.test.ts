import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverlessResources } from '../../deploy/serverless-parts';
import { stackSettings } from '../../deploy/stack';
import { METRIC_DIMENSIONS, REFUSAL_REASONS as REFUSALS } from '../../lib/telemetry-names';

const METRIC_NAMES = Object.keys(METRIC_DIMENSIONS);

/** emitMetric from a fresh load of lib/observability, which reads POWERTOOLS_METRICS_DISABLED at import. */
function loadWith(disabled: string) {
  process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  let emit!: typeof import('../../lib/observability').emitMetric;
  jest.isolateModules(() => {
    emit = (require('../../lib/observability') as typeof import('../../lib/observability')).emitMetric;
  });
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return emit;
}

function written(fn: () => void): string[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0);
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('metrics (CloudWatch Embedded Metric Format)', () => {

  it('writes one self-contained EMF line per metric, with the service dimension and the given ones', () => {
    const emit = loadWith('false');
    const [line] = written(() => emit('ClickRefused', { reason: 'bad_token' }));
    expect(line!.endsWith('\n')).toBe(true);
    const record = JSON.parse(line!);
    expect(record).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [{ Namespace: 'FlashdutyActions', Dimensions: [['service', 'reason']], Metrics: [{ Name: 'ClickRefused', Unit: 'Count' }] }],
      },
      service: 'flashduty-actions',
      reason: 'bad_token',
      ClickRefused: 1,
    });
  });

  it('carries the value and unit it is given', () => {
    const emit = loadWith('false');
    const [line] = written(() => emit('ActionDuration', { action: 'echo' }, 12.5, 'Milliseconds'));
    const record = JSON.parse(line!);
    expect(record.ActionDuration).toBe(12.5);
    expect(record._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: 'ActionDuration', Unit: 'Milliseconds' }]);
  });

  it('writes nothing when POWERTOOLS_METRICS_DISABLED is true', () => {
    const emit = loadWith('true');
    expect(written(() => emit('ClickAccepted', { action: 'echo' }))).toEqual([]);
  });
});

describe('the names alarms and dashboards depend on', () => {
  it('has the queue-unavailable alarm watch exactly the metric the receiver writes when its queue is down', () => {
    const [line] = written(() => loadWith('false')('ClickRefused', { reason: 'queue_unavailable' }));
    const record = JSON.parse(line!);
    const [metric] = record._aws.CloudWatchMetrics;
    const env = { ENABLED_ACTIONS: 'echo' };
    const resources = serverlessResources(stackSettings(env, 'test'), env).Resources as Record<string, { Properties: Record<string, unknown> }>;
    const alarm = resources.ReceiverQueueUnavailableAlarm!.Properties;
    expect(alarm.Namespace).toBe(metric.Namespace);
    expect(alarm.MetricName).toBe(metric.Metrics[0].Name);
    // CloudWatch matches a metric by its whole set of dimensions, names and values.
    expect(alarm.Dimensions).toEqual(metric.Dimensions[0].map((name: string) => ({ Name: name, Value: record[name] })));
  });

  it('alarm on rule runs held back as a loop, for each action a rule on a self-raised event type runs, and only then', () => {
    const rules = JSON.stringify([{ name: 'on-comment', on: ['i_comm'], run: 'echo' }, { name: 'on-new', on: ['i_new'], run: 'restart-host' }]);
    const env = { ENABLED_ACTIONS: 'echo,restart-host', EVENT_RULES: rules, EVENT_SELF_PERSON_IDS: '900001' };
    const resources = serverlessResources(stackSettings(env, 'test'), env).Resources as Record<string, { Properties: Record<string, unknown> }>;
    expect(Object.keys(resources).filter((id) => id.endsWith('RuleLoopAlarm'))).toEqual(['EchoRuleLoopAlarm']);
    expect(resources.EchoRuleLoopAlarm!.Properties).toMatchObject({
      MetricName: 'RuleLoopStopped',
      Dimensions: [
        { Name: 'service', Value: 'flashduty-actions' },
        { Name: 'action', Value: 'echo' },
      ],
    });
    const plain = { ENABLED_ACTIONS: 'echo' };
    expect(Object.keys(serverlessResources(stackSettings(plain, 'test'), plain).Resources as object).filter((id) => id.endsWith('RuleLoopAlarm'))).toEqual([]);
  });

  it('are all in the README: every metric name, and every refusal reason in Troubleshooting', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const name of METRIC_NAMES) expect(readme).toContain(`\`${name}\``);
    const troubleshooting = readme.slice(readme.indexOf('## Troubleshooting'));
    for (const reason of REFUSALS) expect(troubleshooting).toContain(`| \`${reason}\` |`);
  });
});
