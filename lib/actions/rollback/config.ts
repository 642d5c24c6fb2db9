import * as v from 'valibot';
import { secretVar } from '../../schema/env';
import { SecretRef } from '../../schema/secret';
import { jsonVar } from '../../schema/structured';
import { templateSchema } from '../../template/schema';

/**
 * A map kept key for key. valibot's v.record silently drops keys such as `constructor`; a match
 * losing a key would fit more incidents than configured, so every key is kept or refused here.
 */
const ownRecord = <T>(key: RegExp, value: v.GenericSchema<unknown, T>, expected: string) =>
  v.pipe(
    v.custom<Record<string, unknown>>((input) => input !== null && typeof input === 'object' && !Array.isArray(input), 'expected an object'),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const entries: Array<[string, T]> = [];
      for (const [name, item] of Object.entries(dataset.value)) {
        const parsed = v.safeParse(value, item);
        if (!key.test(name)) addIssue({ message: `"${name}" is not a plain name` });
        else if (!parsed.success) addIssue({ message: `${name}: ${parsed.issues[0].message.startsWith('Invalid') ? expected : parsed.issues[0].message}` });
        else entries.push([name, parsed.output]);
      }
      return entries.length === Object.keys(dataset.value).length ? Object.fromEntries(entries) : NEVER;
    }),
  );

/** label -> one value or a list of values; every key must fit. An empty match fits every incident. */
const Match = v.optional(ownRecord(/^.{1,128}$/s, v.union([v.string(), v.array(v.string())]), 'expected a string or a list of strings'), {});
const Name = v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100)));
const httpUrl = (what: string) => v.pipe(v.string(), v.regex(/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i, `expected an http(s) ${what} without query or fragment`));
/** Fixed by config only: a plain branch or tag name, never a template. */
const Ref = v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,199}$/, 'expected a branch or tag name'));
/** Names and values of inputs: names fixed, values templates over the incident (strings). */
const Inputs = v.optional(ownRecord(/^[A-Za-z_][A-Za-z0-9_-]{0,99}$/, templateSchema.text(), 'expected a template string'), {});
/** Per request; a dispatch that times out is looked for before it is sent again. */
const Timeout = v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(60)), 10);
const secretFields = (name: string) => ({ [name]: v.optional(v.pipe(v.string(), v.minLength(1))), [`${name}_param`]: v.optional(v.pipe(v.string(), v.minLength(1))) });

const Github = v.strictObject({
  provider: v.literal('github'),
  name: Name,
  match: Match,
  timeout_seconds: Timeout,
  repo: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, 'expected owner/name')),
  workflow: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,200}$/, 'expected a workflow file name (deploy.yml) or id')),
  ref: Ref,
  inputs: Inputs,
  api_url: v.optional(httpUrl('API URL'), 'https://api.github.com'),
  ...secretFields('token'),
});

const Gitlab = v.strictObject({
  provider: v.literal('gitlab'),
  name: Name,
  match: Match,
  timeout_seconds: Timeout,
  project: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'expected a project id or path (group/project)')),
  ref: Ref,
  variables: Inputs,
  api_url: v.optional(httpUrl('API URL'), 'https://gitlab.com/api/v4'),
  ...secretFields('token'),
  /** Optional: lets a dispatch whose answer was lost be looked for (read_api). */
  ...secretFields('read_token'),
});

const Webhook = v.strictObject({
  provider: v.literal('webhook'),
  name: Name,
  match: Match,
  timeout_seconds: Timeout,
  url: httpUrl('URL'),
  method: v.optional(v.picklist(['POST', 'PUT', 'PATCH']), 'POST'),
  body: v.optional(templateSchema.json()),
  ...secretFields('secret'),
});

type Raw = v.InferOutput<typeof Github> | v.InferOutput<typeof Gitlab> | v.InferOutput<typeof Webhook>;

/** Turns `<name>` / `<name>_param` into one SecretRef (or undefined), refusing both at once. */
function secretOf(raw: Record<string, unknown>, name: string, label: string, addIssue: (problem: string) => void): SecretRef | undefined {
  const inline = raw[name] as string | undefined;
  const parameter = raw[`${name}_param`] as string | undefined;
  if (inline !== undefined && parameter !== undefined) addIssue(`set ${name} (local use) or ${name}_param (an SSM SecureString name), not both`);
  if (parameter !== undefined) return new SecretRef(label, parameter);
  return inline === undefined ? undefined : new SecretRef(label, undefined, inline);
}

/** One configured target, its secrets as SecretRefs (the package step grants exactly those parameters). */
const Target = v.pipe(
  v.variant('provider', [Github, Gitlab, Webhook]),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const raw = dataset.value as Raw;
    const problems: string[] = [];
    const found = (name: string) => secretOf(raw, name, `${raw.provider} target ${raw.name ?? ''} ${name}`.replace(/\s+/g, ' '), (p) => problems.push(p));
    const { token: _t, token_param: _tp, read_token: _r, read_token_param: _rp, secret: _s, secret_param: _sp, ...rest } = raw as Record<string, unknown>;
    const target = { ...rest, token: found('token'), read_token: found('read_token'), secret: found('secret') };
    if (raw.provider !== 'webhook' && !target.token) problems.push(`set token (local use) or token_param (an SSM SecureString name) for the ${raw.provider} target`);
    for (const message of problems) addIssue({ message });
    return problems.length ? NEVER : (target as unknown as Target);
  }),
);

interface Common {
  name?: string;
  match: Record<string, string | string[]>;
  timeout_seconds: number;
}
export type GithubTarget = Common & { provider: 'github'; repo: string; workflow: string; ref: string; inputs: Record<string, Compiled>; api_url: string; token: SecretRef };
export type GitlabTarget = Common & {
  provider: 'gitlab';
  project: string;
  ref: string;
  variables: Record<string, Compiled>;
  api_url: string;
  token: SecretRef;
  read_token?: SecretRef;
};
export type WebhookTarget = Common & { provider: 'webhook'; url: string; method: 'POST' | 'PUT' | 'PATCH'; body?: CompiledJson; secret?: SecretRef };
export type Target = GithubTarget | GitlabTarget | WebhookTarget;
type Compiled = v.InferOutput<ReturnType<typeof templateSchema.text>>;
type CompiledJson = v.InferOutput<ReturnType<typeof templateSchema.json>>;

export const RollbackConfig = v.object({
  ROLLBACK_TARGETS: jsonVar(
    v.pipe(v.array(Target), v.minLength(1, 'list at least one target, or leave rollback out of ENABLED_ACTIONS')),
    'Where a rollback goes: a list of `{provider: github|gitlab|webhook, match, ...}`; the first whose `match` fits the incident is used (see "rollback in detail"). Required.',
  ),
  FLASHDUTY_CHANGE_INTEGRATION_KEY: secretVar('Integration key of a FlashDuty change integration; when set, each rollback is recorded there as a change.'),
});

export type RollbackConfig = v.InferOutput<typeof RollbackConfig>;
