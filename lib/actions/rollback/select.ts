import type { Target } from './config';

type Labels = Record<string, string>;
type Alert = Record<string, unknown>;

/**
 * The labels a target's `match` is checked against: the incident's own, then, for keys it lacks,
 * each alert's in order (incident labels are copied from the first alert, but a later alert may
 * carry a key the first lacks).
 */
export function labelView(incidentLabels: Labels | undefined, alerts: Alert[]): Labels {
  const view: Labels = {};
  for (const alert of [...alerts].reverse()) Object.assign(view, stringLabels(alert.labels));
  return { ...view, ...stringLabels(incidentLabels) };
}

/** The first target whose every `match` key has one of the listed values; undefined when none does. */
export function selectTarget(targets: readonly Target[], labels: Labels): Target | undefined {
  return targets.find((target) =>
    Object.entries(target.match).every(([key, wanted]) => {
      const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
      return value !== undefined && (Array.isArray(wanted) ? wanted.includes(value) : wanted === value);
    }),
  );
}

/** How a target is named in comments: its `name`, else what it points at. */
export function targetName(target: Target): string {
  if (target.name) return target.name;
  if (target.provider === 'github') return `${target.repo} ${target.workflow}`;
  if (target.provider === 'gitlab') return `${target.project}@${target.ref}`;
  return new URL(target.url).host;
}

/** `key=value, …` for a refusal, cut to stay readable in a comment. */
export function describeLabels(labels: Labels): string {
  const entries = Object.entries(labels).map(([key, value]) => `${key}=${value.length > 40 ? `${value.slice(0, 39)}…` : value}`);
  return entries.length ? entries.join(', ').slice(0, 400) : '(none)';
}

function stringLabels(labels: unknown): Labels {
  if (labels === null || typeof labels !== 'object') return {};
  return Object.fromEntries(Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
