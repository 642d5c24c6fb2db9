import { guardrailKeys } from '../lib/config/guardrails';
import type { Outcome } from '../lib/actions/types';
import { queueNames } from '../lib/queue/names';
import {
  LOG_MESSAGES,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  type MetricName,
  OUTCOME_STATUSES,
  type OutcomeStatus,
  REFUSAL_REASONS,
} from '../lib/telemetry-names';
import type { Resource, StackSettings } from './stack';

/**
 * What an operator looks at during an incident, per stage: a CloudWatch dashboard and saved Logs
 * Insights queries. Every metric and log field named here comes from lib/telemetry-names.ts, the
 * module the emitting code imports, and the template tests check both against what the code emits.
 */

// The dashboard draws one line per outcome status: the list must be every status an action returns.
const statusesCovered: [OutcomeStatus] extends [Outcome['status']] ? ([Outcome['status']] extends [OutcomeStatus] ? true : never) : never = true;
void statusesCovered;

export const DASHBOARD_ID = 'OperationsDashboard';
export const dashboardName = (settings: StackSettings) => `${settings.service}-${settings.stage}`;

/** A metric line in a widget: namespace, name, then dimension name/value pairs, then options. */
type MetricLine = Array<string | Record<string, unknown>>;

/** A line of one of our EMF metrics; the dimensions must be exactly the ones the code emits. */
function ours(settings: StackSettings, name: MetricName, dimensions: Record<string, string>, label: string): MetricLine {
  const expected = [...METRIC_DIMENSIONS[name]].sort().join(',');
  if (Object.keys(dimensions).sort().join(',') !== expected) throw new Error(`${name} is emitted with dimensions [${expected}], not [${Object.keys(dimensions)}]`);
  return [METRICS_NAMESPACE, name, 'service', settings.service, ...Object.entries(dimensions).flat(), { label }];
}

const sqsLine = (metric: string, queue: string, label: string): MetricLine => ['AWS/SQS', metric, 'QueueName', queue, { label }];

interface Widget {
  title: string;
  lines: MetricLine[];
  stat: 'Sum' | 'Maximum' | 'p50' | 'p99' | 'Average';
  /** One panel per widget row slot; 3 per row. */
  width?: number;
}

function widgets(settings: StackSettings): Widget[] {
  const actions = settings.actions.map((a) => a.name);
  const queues = actions.map((action) => ({ action, ...queueNames(`${settings.service}-${settings.stage}`, action) }));
  return [
    { title: 'Clicks accepted, by action', stat: 'Sum', lines: actions.map((action) => ours(settings, 'ClickAccepted', { action }, action)) },
    { title: 'Clicks refused, by reason', stat: 'Sum', lines: REFUSAL_REASONS.map((reason) => ours(settings, 'ClickRefused', { reason }, reason)) },
    { title: 'FlashDuty API errors (failed attempts)', stat: 'Sum', lines: [ours(settings, 'FlashDutyApiError', {}, 'failed attempts')] },
    {
      title: 'Incident Webhook events: runs by action, unmatched, our own writes',
      stat: 'Sum',
      lines: [
        ...actions.map((action) => ours(settings, 'EventRuleMatched', { action }, `runs: ${action}`)),
        ours(settings, 'EventUnmatched', {}, 'no rule matched'),
        ours(settings, 'EventOwnWrite', {}, 'our own writes'),
      ],
    },
    ...actions.map(
      (action): Widget => ({
        title: `Outcomes: ${action}`,
        stat: 'Sum',
        lines: [
          ...OUTCOME_STATUSES.map((status) => ours(settings, 'ActionOutcome', { action, status }, status)),
          ours(settings, 'ActionRetried', { action }, 'retried'),
          ours(settings, 'ActionDeadLettered', { action }, 'dead-lettered'),
          ours(settings, 'PoisonMessage', { action }, 'unreadable message'),
          ours(settings, 'RuleLoopStopped', { action }, 'rule loop stopped'),
          ...Object.values(guardrailKeys(action)).map((rule) => ours(settings, 'ActionRefused', { action, rule }, `refused: ${rule}`)),
        ],
      }),
    ),
    { title: 'Action duration p99 (ms)', stat: 'p99', lines: actions.map((action) => ours(settings, 'ActionDuration', { action }, action)) },
    { title: 'Oldest queued click (s)', stat: 'Maximum', lines: queues.map((q) => sqsLine('ApproximateAgeOfOldestMessage', q.queue, q.action)) },
    { title: 'Dead-lettered clicks waiting', stat: 'Maximum', lines: queues.map((q) => sqsLine('ApproximateNumberOfMessagesVisible', q.dlq, q.action)) },
  ];
}

/** The dashboard body as CloudWatch takes it; `${AWS::Region}` is filled in by Fn::Sub. */
export function dashboardBody(settings: StackSettings): object {
  const PER_ROW = 3;
  const [WIDTH, HEIGHT] = [8, 6];
  return {
    widgets: widgets(settings).map((widget, index) => ({
      type: 'metric',
      x: (index % PER_ROW) * WIDTH,
      y: Math.floor(index / PER_ROW) * HEIGHT,
      width: WIDTH,
      height: HEIGHT,
      properties: { title: widget.title, region: '${AWS::Region}', stat: widget.stat, period: 60, view: 'timeSeries', stacked: false, metrics: widget.lines },
    })),
  };
}

/** The stage's log groups: the receiver's and each worker's, as osls names them. */
export function functionLogGroups(settings: StackSettings, functionKeys: string[]): string[] {
  return functionKeys.map((key) => `/aws/lambda/${settings.service}-${settings.stage}-${key}`);
}

/** Saved Logs Insights queries: name (shown in the console's query list) and query. */
export function savedQueries(settings: StackSettings): Record<string, { name: string; query: string }> {
  const folder = `${settings.service}-${settings.stage}`;
  return {
    RefusalsQuery: {
      name: `${folder}/refusals by reason`,
      query: [
        'fields @timestamp, reason, action, status, source_ip, detail',
        `| filter message = "${LOG_MESSAGES.clickRefused}"`,
        '| stats count(*) as refusals by reason, action',
        '| sort refusals desc',
      ].join('\n'),
    },
    FailedRunsQuery: {
      name: `${folder}/failed runs with their incident`,
      query: [
        'fields @timestamp, action, incident_id, event_id, status, summary, error',
        `| filter (message = "${LOG_MESSAGES.actionFinished}" and status = "failed") or level = "ERROR"`,
        '| sort @timestamp desc',
      ].join('\n'),
    },
    ClickPathQuery: {
      name: `${folder}/one click's path by event id`,
      query: [
        'fields @timestamp, @log, message, action, incident_id, status, reason, error',
        '| filter event_id = "PUT-THE-EVENT-ID-HERE"',
        '| sort @timestamp asc',
      ].join('\n'),
    },
  };
}

/**
 * The dashboard and the saved queries as CloudFormation resources. `logGroups` are the logical ids
 * of the functions' log groups: a query definition names groups that must exist first.
 */
export function operationsResources(settings: StackSettings, functionKeys: string[], logGroupIds: string[]): Record<string, Resource> {
  const logGroupNames = functionLogGroups(settings, functionKeys);
  const resources: Record<string, Resource> = {
    [DASHBOARD_ID]: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: { DashboardName: dashboardName(settings), DashboardBody: { 'Fn::Sub': JSON.stringify(dashboardBody(settings)) } },
    },
  };
  for (const [id, { name, query }] of Object.entries(savedQueries(settings))) {
    resources[id] = { Type: 'AWS::Logs::QueryDefinition', DependsOn: logGroupIds, Properties: { Name: name, QueryString: query, LogGroupNames: logGroupNames } };
  }
  return resources;
}
