import * as v from 'valibot';
import { ConfigError } from '../errors';
import { parseOrThrow } from './parse';
import { SecretRef } from './secret';

/**
 * Schema builders for environment variables. Every variable arrives as an optional string; these
 * turn it into a typed value or a clear issue ("expected an integer between 1 and 3600"). Each
 * builder also carries the key's documentation (its meaning and default), which `npm run docs`
 * turns into the README's configuration reference and the deploy step into each function's
 * environment: declaring a key is one line, in one place.
 */

/** Who gives a variable its value. Only `operator` values are copied from the deploy environment into a function. */
export type SetBy = 'operator' | 'stack' | 'lambda' | 'local';

export interface EnvDoc {
  /** plain: one string; secret: also `<KEY>_PARAM`; structured: JSON, or `<KEY>_FILE`. */
  kind: 'plain' | 'secret' | 'structured';
  /** One line for the README. */
  meaning: string;
  /** The default as the README shows it; undefined when there is none. */
  shown?: string;
  setBy: SetBy;
  /** Secrets: the SSM parameter the stack uses when neither form is given, under `/<service>/<stage>/`. */
  parameter?: string;
}

type Schema = v.GenericSchema<unknown, unknown>;

export const blank = (value: string) => value.trim() === '';
export const documented = <T extends Schema>(schema: T, doc: EnvDoc) => v.pipe(schema, v.metadata<v.InferOutput<T>, { env: EnvDoc }>({ env: doc }));
/** An unset variable reaches the pipe as '' (the default), so every key is present in the output. */
const variable = <T extends v.GenericSchema<string, unknown>>(pipe: T, meaning: string, shown: string | undefined) =>
  documented(v.optional(pipe, ''), { kind: 'plain', meaning, shown, setBy: 'operator' });

/** The documentation a builder attached to `schema` (looking through pipes wrapped around it). */
export function envDoc(schema: unknown): EnvDoc | undefined {
  const pipe = (schema as { pipe?: unknown[] }).pipe;
  if (!Array.isArray(pipe)) return undefined;
  for (const item of pipe) {
    const doc = (item as { metadata?: { env?: EnvDoc } }).metadata?.env; // only v.metadata actions have one
    if (doc) return doc;
  }
  return envDoc(pipe[0]);
}

/** Marks a key as given by someone other than the operator: the stack, Lambda itself, or only the local stack. */
export function setBy<T extends Schema>(who: Exclude<SetBy, 'operator'>, schema: T, shown?: string): T {
  const doc = envDoc(schema);
  if (!doc) throw new Error('setBy() wraps a documented builder such as stringVar(...)');
  Object.assign(doc, { setBy: who, shown: shown ?? doc.shown });
  return schema;
}

/** Comma-separated list; blanks dropped, entries trimmed. */
export const listVar = (fallback: readonly string[], meaning: string) =>
  variable(
    v.pipe(
      v.string(),
      v.transform((value) => (blank(value) ? [...fallback] : value.split(',').map((item) => item.trim()).filter(Boolean))),
    ),
    meaning,
    fallback.length ? fallback.join(',') : undefined,
  );

export const intVar = (fallback: number, min: number, max: number, meaning: string) =>
  variable(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        if (blank(dataset.value)) return fallback;
        const value = Number(dataset.value);
        if (Number.isInteger(value) && value >= min && value <= max) return value;
        addIssue({ message: `expected an integer between ${min} and ${max}, got "${dataset.value}"` });
        return NEVER;
      }),
    ),
    meaning,
    String(fallback),
  );

export const boolVar = (fallback: boolean, meaning: string) =>
  variable(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        if (blank(dataset.value)) return fallback;
        const value = dataset.value.trim().toLowerCase();
        if (['true', '1', 'yes'].includes(value)) return true;
        if (['false', '0', 'no'].includes(value)) return false;
        addIssue({ message: `expected true or false, got "${dataset.value}"` });
        return NEVER;
      }),
    ),
    meaning,
    String(fallback),
  );

/** A trimmed string; with a fallback its type is `string`, without one (`undefined`) `string | undefined`. */
export const stringVar = <Fallback extends string | undefined>(fallback: Fallback, meaning: string) =>
  variable(
    v.pipe(
      v.string(),
      v.transform((value) => (blank(value) ? fallback : value.trim()) as Fallback extends string ? string : string | undefined),
    ),
    meaning,
    fallback,
  );

export const urlVar = (fallback: string, meaning: string) =>
  variable(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const value = blank(dataset.value) ? fallback : dataset.value.trim();
        if (URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)) return value.replace(/\/+$/, '');
        addIssue({ message: `expected an http(s) URL, got "${dataset.value}"` });
        return NEVER;
      }),
    ),
    meaning,
    fallback,
  );

/** What readConfig hands a secret or structured key: both of its forms, and where to find files. */
export interface PairInput {
  key: string;
  inline: string;
  /** `<KEY>_PARAM` for a secret, `<KEY>_FILE` for structured config. */
  other: string;
  root: string;
}
export const pairInput = v.object({ key: v.string(), inline: v.string(), other: v.string(), root: v.string() });

/**
 * A secret: given inline (local use), or as `<KEY>_PARAM`, the name of an SSM SecureString the
 * worker reads at first use (and again when its cache expires). The value is a SecretRef; pass it
 * to `context.secret()`. Messages never contain the value. `parameter` names the SSM parameter the
 * stack uses when neither form is given (`/<service>/<stage>/<parameter>`).
 */
export const secretVar = <Required extends boolean = false>(meaning: string, options: { required?: Required; parameter?: string } = {}) =>
  documented(
    v.pipe(
      pairInput,
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const { key, inline, other: parameter } = dataset.value as PairInput;
        if (!blank(inline) && !blank(parameter)) {
          addIssue({ message: `${key} and ${key}_PARAM are both set; set exactly one` });
          return NEVER;
        }
        if (!blank(parameter)) return new SecretRef(key, parameter.trim());
        if (!blank(inline)) return new SecretRef(key, undefined, inline.trim());
        if (!options.required) return undefined as Required extends true ? SecretRef : SecretRef | undefined;
        addIssue({ message: `set ${key} (local use) or ${key}_PARAM (an SSM SecureString name)` });
        return NEVER;
      }),
    ),
    { kind: 'secret', meaning, setBy: 'operator', parameter: options.parameter },
  );

/** The variables one declared key may be given as: `KEY`, and `KEY_PARAM` or `KEY_FILE`. */
export function envNames(key: string, doc: EnvDoc): string[] {
  if (doc.kind === 'secret') return [key, `${key}_PARAM`];
  if (doc.kind === 'structured') return [key, `${key}_FILE`];
  return [key];
}

/** The documentation of every entry of an object schema; throws naming any entry a generator could not list. */
export function describeSchema(schema: unknown, what: string): Array<[key: string, doc: EnvDoc, entry: Schema]> {
  const entries = (schema as { type?: string; entries?: Record<string, Schema> }).entries;
  if ((schema as { type?: string }).type !== 'object' || !entries) {
    throw new ConfigError(`${what}: the config schema must be v.object({...}) of env builders, got ${(schema as { type?: string }).type ?? typeof schema}`);
  }
  return Object.entries(entries).map(([key, entry]) => {
    const doc = envDoc(entry);
    if (!doc) throw new ConfigError(`${what}: ${key} is not declared with an env builder (intVar, stringVar, jsonVar, secretVar, ...), so it cannot be documented`);
    if (blank(doc.meaning)) throw new ConfigError(`${what}: ${key} has no meaning; say in one line what it does`);
    return [key, doc, entry];
  });
}

/** The input a schema of env builders parses: plain keys as strings, secret and structured keys as both their forms. */
function schemaInput(schema: unknown, env: NodeJS.ProcessEnv, root: string): Record<string, unknown> {
  const entries = (schema as { entries?: Record<string, unknown> }).entries ?? {};
  const input: Record<string, unknown> = { ...env };
  for (const [key, entry] of Object.entries(entries)) {
    const kind = envDoc(entry)?.kind;
    if (kind === 'secret' || kind === 'structured') {
      input[key] = { key, inline: env[key] ?? '', other: env[envNames(key, envDoc(entry)!)[1]!] ?? '', root };
    }
  }
  return input;
}

/**
 * Parses `env` with `schema` and throws one ConfigError naming every bad variable. `root` is where
 * `_FILE` paths start: the project root locally and at package time, the function's root in Lambda.
 */
export function readConfig<T>(schema: v.GenericSchema<unknown, T>, env: NodeJS.ProcessEnv, what = 'configuration', root = process.cwd()): T {
  const fail = (problems: string[]) => new ConfigError(`invalid ${what}: ${problems.join('; ')}`);
  return parseOrThrow(schema, schemaInput(schema, env, root), what, { fail });
}
