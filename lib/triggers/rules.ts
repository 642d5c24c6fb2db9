import * as v from 'valibot';
import { ConfigError } from '../errors';
import { INCIDENT_EVENT_TYPES } from '../flashduty/facts';
import type { ReceivedPayload } from '../flashduty/payload';
import { ACTION_NAME_PATTERN } from '../queue/names';

/**
 * Event rules (`EVENT_RULES`): which FlashDuty incident-webhook events run which action, without a
 * click. Strict where a typo would silently never match (unknown keys, event types, severities are
 * refused at package time and cold start), exact in what it compares.
 */

/**
 * A rule's name becomes part of the run's event id, the comment's marker line and a metric
 * dimension: plain printable ASCII without spaces, short.
 */
const RULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Incident severities FlashDuty sets; compared without regard to case. */
const SEVERITIES = ['Critical', 'Warning', 'Info'] as const;

const scalar = v.union([v.string(), v.number(), v.boolean()]);
const oneOrMany = <T extends v.GenericSchema>(item: T) => v.union([item, v.pipe(v.array(item), v.minLength(1, 'must list at least one value'))]);

const When = v.strictObject({
  /** Any of these incident severities. */
  severity: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.check((value) => SEVERITIES.some((s) => s.toLowerCase() === value.toLowerCase()), `expected one of ${SEVERITIES.join(', ')}`))),
      v.minLength(1, 'must list at least one severity'),
    ),
  ),
  /** Any of these channels (FlashDuty's int64 channel ids; 0 is "no channel"). */
  channel_ids: v.optional(v.pipe(v.array(v.pipe(v.number(), v.integer('expected an integer channel id'))), v.minLength(1, 'must list at least one channel id'))),
  /** Every key: the incident's label equals the value, or one of the values. */
  labels: v.optional(v.record(v.string(), oneOrMany(v.string()))),
  /** Every key: the incident's custom field equals the value or one of them (a multi-select field: any of its values does). */
  fields: v.optional(v.record(v.string(), oneOrMany(scalar))),
});

export const Rule = v.strictObject({
  name: v.pipe(v.string(), v.regex(RULE_NAME_PATTERN, 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit')),
  on: v.pipe(v.array(v.picklist(INCIDENT_EVENT_TYPES)), v.minLength(1, 'must list at least one event type')),
  when: v.optional(When, {}),
  run: v.pipe(v.string(), v.regex(ACTION_NAME_PATTERN, 'expected an action name such as enrich')),
});
export type Rule = v.InferOutput<typeof Rule>;

export const Rules = v.array(Rule);

/**
 * Event types our own writes raise: every result comment is an `i_comm`, and the custom fields
 * enrich and status-page write are `i_r_field`. An action that starts writing something else (the
 * title, the severity) must add the event type it raises here.
 */
const SELF_RAISED: ReadonlySet<string> = new Set(['i_comm', 'i_r_field']);

/** Whether our own writes raise events of this type (see SELF_RAISED). */
export const raisedByOurWrites = (eventType: string): boolean => SELF_RAISED.has(eventType);

/**
 * Checks what the schema alone cannot, naming the rule: names are unique, every rule runs an
 * enabled action, and a rule on a self-raised event type can tell our writes from people's.
 * Run at cold start and by `npm run package`.
 */
export function checkRules(rules: readonly Rule[], enabledActions: readonly string[], selfPersonIds: readonly number[]): void {
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.name)) throw new ConfigError(`EVENT_RULES: two rules are named "${rule.name}"; names must be unique (they key each run)`);
    seen.add(rule.name);
    if (!enabledActions.includes(rule.run)) {
      throw new ConfigError(`EVENT_RULES: rule "${rule.name}" runs "${rule.run}", which is not an enabled action (ENABLED_ACTIONS: ${enabledActions.join(', ')}); enable it or remove the rule`);
    }
    const risky = rule.on.filter((type) => SELF_RAISED.has(type));
    if (risky.length > 0 && selfPersonIds.length === 0) {
      throw new ConfigError(
        `EVENT_RULES: rule "${rule.name}" listens to ${risky.join(' and ')}, which our own comments and field writes raise too; set EVENT_SELF_PERSON_IDS to the person id of the FlashDuty member owning the app key, so those are never taken for a person's`,
      );
    }
  }
}

/** The rules an event starts, in configuration order. */
export function matchingRules(rules: readonly Rule[], payload: ReceivedPayload): Rule[] {
  return rules.filter((rule) => rule.on.includes(payload.event_type as Rule['on'][number]) && conditionsHold(rule.when, payload.incident));
}

/** Every condition given holds; a list holds when any of its values does. */
function conditionsHold(when: Rule['when'], incident: ReceivedPayload['incident']): boolean {
  const severity = (incident.incident_severity ?? '').toLowerCase();
  if (when.severity && !when.severity.some((s) => s.toLowerCase() === severity)) return false;
  if (when.channel_ids && !when.channel_ids.includes(incident.channel_id ?? 0)) return false;
  for (const [key, wanted] of Object.entries(when.labels ?? {})) {
    const value = incident.labels?.[key];
    if (value === undefined || !listOf(wanted).includes(value)) return false;
  }
  for (const [key, wanted] of Object.entries(when.fields ?? {})) {
    const values = listOf(incident.fields?.[key]);
    if (!values.some((value) => listOf(wanted).some((w) => w === value))) return false;
  }
  return true;
}

const listOf = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Any of our comments' marker lines (lib/actions/comment.ts commentMarker). */
const MARKER = /flashduty-actions\/[a-z0-9-]+( final-failure| unreadable)? event /;

/**
 * Why an event must not start any rule because we caused it, or undefined. Only self-raised types
 * are suspected: our marker anywhere in the body (a custom body template quoting the comment), the
 * app key's owner as the person who caused it, or no person at all (we cannot tell who did it).
 */
export function ownWrite(payload: ReceivedPayload, rawBody: string, selfPersonIds: readonly number[]): string | undefined {
  if (!SELF_RAISED.has(payload.event_type ?? '')) return undefined;
  if (MARKER.test(rawBody)) return 'the event carries our comment marker';
  const person = payload.person?.person_id;
  if (person === undefined) return `${payload.event_type} without a person may be our own write`;
  if (selfPersonIds.includes(person)) return `${payload.event_type} by the app key's owner (person ${person}) is our own write`;
  return undefined;
}
