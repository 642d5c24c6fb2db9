import * as v from 'valibot';
import { intVar, listVar, stringVar } from '../../schema/env';
import { AllowlistConfig, allowedValues, refusalFor } from './allowlist';

/** A label value we will put into a command or a lookup: a plain host name, IP or id, nothing else. */
export const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

const tagVar = (fallback: string, meaning: string) =>
  v.pipe(
    stringVar(fallback, meaning),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const match = /^([^=]{1,128})=(.{1,256})$/.exec(dataset.value);
      if (match) return { key: match[1]!.trim(), value: match[2]!.trim() };
      addIssue({ message: `expected key=value, got "${dataset.value}"` });
      return NEVER;
    }),
  );

const commandVar = (fallback: string, meaning: string) =>
  v.pipe(
    stringVar(fallback, meaning),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const template = dataset.value;
      if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) {
        addIssue({ message: `unbalanced brace in "${template}"; placeholders look like {service}` });
        return NEVER;
      }
      return { template, placeholders: [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!) };
    }),
  );

export const RestartHostConfig = v.object({
  RESTART_TARGET_LABELS: v.pipe(
    listVar(['instance_id', 'host', 'resource', 'ident'], 'Label keys naming the target, tried in order on the incident, then on its alerts.'),
    v.minLength(1, 'name at least one label key, e.g. instance_id,host'),
  ),
  RESTART_ALLOW_TAG: tagVar('flashduty-actions:restart=allowed', 'Only instances with this tag can be targeted (enforced by the code and by an IAM condition).'),
  RESTART_LOOKUP_TAG: stringVar('Name', 'A tag whose value may name the instance, besides its computer name and IP.'),
  RESTART_MAX_TARGETS: intVar(1, 1, 20, 'Most instances one click may restart; more matches are refused and listed.'),
  RESTART_DOCUMENT: stringVar('AWS-RunShellScript', 'SSM document to run (must take `commands` and `executionTimeout`); IAM allows only this one.'),
  RESTART_COMMAND: commandVar('systemctl restart {service}', "The command; `{label}` takes that label's value (plain names only, single-quoted). `exit 194` reboots."),
  ...AllowlistConfig,
  RESTART_WAIT_SECONDS: intVar(60, 5, 90, 'How long to wait for the command before retrying later.'),
});

export type RestartHostConfig = v.InferOutput<typeof RestartHostConfig>;

/**
 * Fills `{label}` placeholders with single-quoted label values. Refuses a value that is not a plain
 * name, one the built-in rules refuse, or one the placeholder's allowlist does not match.
 */
export function renderCommand(
  config: Pick<RestartHostConfig, 'RESTART_COMMAND' | 'RESTART_ALLOWED_SERVICES' | 'RESTART_ALLOWED_VALUES'>,
  labelValue: (key: string) => string | undefined,
): { ok: true; command: string } | { ok: false; problem: string } {
  const command = config.RESTART_COMMAND;
  const allowed = allowedValues(config.RESTART_ALLOWED_SERVICES, config.RESTART_ALLOWED_VALUES);
  for (const key of command.placeholders) {
    const value = labelValue(key);
    if (value === undefined) return { ok: false, problem: `the command needs label "${key}", and this incident has none` };
    if (!SAFE_VALUE.test(value)) return { ok: false, problem: `label "${key}" has a value that is not a plain name (${JSON.stringify(value.slice(0, 60))}); refusing to put it in a command` };
    const refusal = refusalFor(key, value, allowed);
    if (refusal) return { ok: false, problem: refusal };
  }
  return { ok: true, command: command.template.replace(PLACEHOLDER, (_m, key: string) => `'${labelValue(key)!}'`) };
}

/** Placeholders of RESTART_COMMAND no label value may fill (their allowlist is empty): every click would be refused. */
export function unfillablePlaceholders(config: Pick<RestartHostConfig, 'RESTART_COMMAND' | 'RESTART_ALLOWED_SERVICES' | 'RESTART_ALLOWED_VALUES'>): string[] {
  const allowed = allowedValues(config.RESTART_ALLOWED_SERVICES, config.RESTART_ALLOWED_VALUES);
  return [...new Set(config.RESTART_COMMAND.placeholders)].filter((key) => (allowed.get(key) ?? []).length === 0);
}
