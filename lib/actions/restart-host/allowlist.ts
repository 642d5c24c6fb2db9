import * as v from 'valibot';
import { listVar } from '../../schema/env';

/**
 * Which label values may fill which `{placeholder}` of RESTART_COMMAND. The command is chosen by
 * config, but a label is chosen by whoever sends alerts: without an allowlist, `service=poweroff.target`
 * would be a plain name and would switch the host off. So a placeholder takes only values matching
 * one of its glob patterns, and a few values are refused whatever the patterns say.
 */
export type AllowedValues = ReadonlyMap<string, readonly string[]>;

/** Refused for every placeholder, even when a pattern (say `*`) matches them. */
export const ALWAYS_REFUSED: ReadonlyArray<{ glob: string; why: string }> = [
  { glob: '*.target', why: 'a systemd target switches the whole machine (poweroff.target, reboot.target, rescue.target)' },
  // The services those targets pull in do the switching themselves: starting one (as `restart` does
  // for a unit that is not running) powers off, reboots or suspends the host. systemctl adds
  // `.service` to a bare name, so each is matched with or without it.
  ...['poweroff', 'reboot', 'halt', 'kexec', 'soft-reboot', 'suspend', 'hibernate', 'hybrid-sleep', 'suspend-then-hibernate'].flatMap((unit) =>
    [`systemd-${unit}`, `systemd-${unit}.service`].map((glob) => ({ glob, why: `systemd-${unit}.service is what powers off, reboots or suspends the machine` })),
  ),
  ...['systemd-exit', 'systemd-exit.service'].map((glob) => ({ glob, why: 'systemd-exit.service stops every service and ends the service manager, which in a container stops the machine' })),
  ...['rescue', 'emergency'].flatMap((unit) => [unit, `${unit}.service`].map((glob) => ({ glob, why: `${unit}.service drops the machine to a ${unit} shell` }))),
  { glob: 'amazon-ssm-agent', why: 'the SSM agent runs this very command; restarting it cuts the command off' },
  { glob: 'amazon-ssm-agent.*', why: 'the SSM agent runs this very command; restarting it cuts the command off' },
  { glob: 'snap.amazon-ssm-agent.*', why: 'the SSM agent (snap) runs this very command; restarting it cuts the command off' },
];

/** `*` any run of characters, `?` one character; the whole value must match. */
export function globMatches(glob: string, value: string, flags = ''): boolean {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, flags).test(value);
}

/** `RESTART_ALLOWED_VALUES`: comma-separated `placeholder=glob` entries, e.g. `unit=app-*.service`. */
const placeholderGlobsVar = (meaning: string) =>
  v.pipe(
    listVar([], meaning),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const entries: Array<[string, string]> = [];
      for (const item of dataset.value) {
        const match = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.+)$/.exec(item);
        if (!match) {
          addIssue({ message: `expected placeholder=glob entries such as unit=app-*.service, got "${item}"` });
          return NEVER;
        }
        entries.push([match[1]!, match[2]!.trim()]);
      }
      return entries;
    }),
  );

export const AllowlistConfig = {
  RESTART_ALLOWED_SERVICES: listVar([], 'Glob patterns the `{service}` placeholder may take from a label; empty: no service may come from a label. `*.target`, the services that power off or reboot the host, and the SSM agent are always refused.'),
  RESTART_ALLOWED_VALUES: placeholderGlobsVar('`placeholder=glob` entries for every other placeholder (and more `service=` patterns), e.g. `unit=app-*.service`.'),
};

/** Both settings merged into one map: placeholder -> its patterns. */
export function allowedValues(services: readonly string[], entries: ReadonlyArray<[string, string]>): AllowedValues {
  const map = new Map<string, string[]>([['service', [...services]]]);
  for (const [key, glob] of entries) map.set(key, [...(map.get(key) ?? []), glob]);
  return map;
}

/** Where a placeholder's patterns are configured, for refusals that say what to change. */
function settingFor(key: string): string {
  return key === 'service' ? 'RESTART_ALLOWED_SERVICES' : `RESTART_ALLOWED_VALUES (${key}=<glob>)`;
}

/** Undefined when `value` may fill `{key}`; otherwise why not, naming the value and the rule. */
export function refusalFor(key: string, value: string, allowed: AllowedValues): string | undefined {
  const shown = JSON.stringify(value);
  const refused = ALWAYS_REFUSED.find((rule) => globMatches(rule.glob, value, 'i'));
  if (refused) return `label "${key}" is ${shown}, refused by the built-in rule ${refused.glob}: ${refused.why}`;
  const globs = allowed.get(key) ?? [];
  if (globs.length === 0) return `label "${key}" is ${shown}, but ${settingFor(key)} is empty, so the command may not take "${key}" from a label`;
  if (!globs.some((glob) => globMatches(glob, value))) return `label "${key}" is ${shown}, which matches none of ${settingFor(key)}: ${globs.join(', ')}`;
  return undefined;
}
