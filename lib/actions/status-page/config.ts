import * as v from 'valibot';
import { boolVar, secretVar, stringVar, urlVar } from '../../config/env';
import { jsonVar } from '../../config/structured';
import { compileText } from '../../template/places';
import { compiledBy, templateSchema } from '../../template/schema';

/** Public event statuses, in the order an incident moves through them. */
export const EVENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/**
 * Component statuses in FlashDuty's words; the Statuspage provider translates them
 * (degraded -> degraded_performance, full_outage -> major_outage). Statuspage's words are accepted
 * in config too, so either vocabulary works.
 */
export const COMPONENT_STATUSES = ['operational', 'degraded', 'partial_outage', 'full_outage'] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];
const ALIASES: Record<string, ComponentStatus> = { degraded_performance: 'degraded', major_outage: 'full_outage' };

const componentStatus = v.pipe(
  v.string(),
  v.transform((value) => ALIASES[value] ?? value),
  v.picklist(COMPONENT_STATUSES.filter((s) => s !== 'operational')),
);

const choiceVar = <T extends string>(choices: readonly T[], fallback: T, meaning: string) =>
  v.pipe(
    stringVar(fallback, meaning),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      if ((choices as readonly string[]).includes(dataset.value)) return dataset.value as T;
      addIssue({ message: `expected one of ${choices.join(', ')}, got "${dataset.value}"` });
      return NEVER;
    }),
  );

/** A component is its id or its name on the page; names are resolved once per cold start. */
const componentList = v.pipe(v.array(v.pipe(v.string(), v.trim(), v.minLength(1, 'a component id or name cannot be empty'))), v.minLength(1, 'list at least one component'));

export const ComponentsConfig = v.strictObject({
  by_label: v.optional(v.pipe(v.string(), v.minLength(1))),
  map: v.optional(v.record(v.string(), componentList), {}),
  default: v.optional(componentList),
});
export type ComponentsConfig = v.InferOutput<typeof ComponentsConfig>;

const DEFAULT_MESSAGES = {
  investigating: 'We are investigating an issue affecting some of our services. We will post an update soon.',
  identified: 'We have identified the cause and are working on a fix.',
  monitoring: 'A fix has been applied and we are monitoring the results.',
  resolved: 'This incident has been resolved. Thank you for your patience.',
};

const messageTemplates = v.strictObject(
  Object.fromEntries(EVENT_STATUSES.map((status) => [status, v.optional(templateSchema.text(), DEFAULT_MESSAGES[status])])) as {
    [K in EventStatus]: v.OptionalSchema<ReturnType<typeof templateSchema.text>, string>;
  },
);

/** A text template in a plain variable, compiled at cold start so a syntax error names the key. */
const textTemplateVar = (fallback: string, meaning: string) => compiledBy(stringVar(fallback, meaning), compileText);

const FIELD_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,39}$/;

export const StatusPageConfig = v.object({
  STATUS_PAGE_PROVIDER: choiceVar(['flashduty', 'statuspage'] as const, 'flashduty', 'Where the public event goes: `flashduty` (FlashDuty Status Page) or `statuspage` (Atlassian Statuspage).'),
  STATUS_PAGE_ID: v.pipe(
    stringVar(undefined, 'The status page: a FlashDuty page id (digits) or a Statuspage page id. Required.'),
    v.check((value) => value !== undefined, 'set the status page id'),
  ),
  STATUS_PAGE_COMPONENTS: jsonVar(ComponentsConfig, 'Which components an incident affects: `{"by_label": "service", "map": {"checkout": ["Checkout"]}, "default": ["Website"]}`; a component is its id or name. Required.'),
  STATUS_PAGE_FIELD: v.pipe(
    stringVar('status_page_event', 'Text custom field on the incident that links it to its public event (and records the last status and event_time applied).'),
    v.regex(FIELD_NAME, 'expected a FlashDuty field name: a letter or _, then letters, digits or _ (at most 40)'),
  ),
  STATUS_PAGE_PROCESSING_STATUS: choiceVar(['identified', 'monitoring'] as const, 'identified', 'Public status while the incident is Processing: `identified` or `monitoring`.'),
  STATUS_PAGE_SEVERITY_STATUS: jsonVar(
    v.strictObject({ Critical: v.optional(componentStatus, 'full_outage'), Warning: v.optional(componentStatus, 'partial_outage'), Info: v.optional(componentStatus, 'degraded') }),
    'Component status for each incident severity.',
    { Critical: 'full_outage', Warning: 'partial_outage', Info: 'degraded' },
  ),
  STATUS_PAGE_TITLE: textTemplateVar('Service disruption', 'Public event title, a template over the incident; keep internal details (hosts, labels) out.'),
  STATUS_PAGE_MESSAGES: jsonVar(messageTemplates, 'Public update text per status (`investigating`, `identified`, `monitoring`, `resolved`), as templates; unset ones keep a plain default.', DEFAULT_MESSAGES as never),
  STATUS_PAGE_NOTIFY: boolVar(true, 'Notify the page subscribers of the event and its updates.'),
  STATUS_PAGE_PUBLIC_URL: stringVar(undefined, 'The public page address, shown in the comment (FlashDuty); Statuspage answers with its own link.'),
  STATUS_PAGE_API_URL: urlVar('https://api.statuspage.io', 'Statuspage API base URL (provider `statuspage`; locally the stand-in).'),
  STATUS_PAGE_API_KEY: secretVar('Statuspage API key, sent as `Authorization: OAuth <key>` (provider `statuspage`).'),
});

export type StatusPageConfig = v.InferOutput<typeof StatusPageConfig>;
