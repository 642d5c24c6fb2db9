import * as v from 'valibot';
import { ConfigError } from '../errors';
import { describeIssues } from './issues';

/**
 * Schema builders for environment variables. Every variable arrives as an optional string; these
 * turn it into a typed value or a clear issue ("expected an integer between 1 and 3600").
 */
const blank = (value: string) => value.trim() === '';
/** An unset variable reaches the pipe as '' (the default), so every key is present in the output. */
const variable = <T extends v.GenericSchema<string, unknown>>(pipe: T) => v.optional(pipe, '');

/** Comma-separated list; blanks dropped, entries trimmed. */
export const listVar = (fallback: readonly string[] = []) =>
  variable(
    v.pipe(
      v.string(),
      v.transform((value) => (blank(value) ? [...fallback] : value.split(',').map((item) => item.trim()).filter(Boolean))),
    ),
  );

export const intVar = (fallback: number, min: number, max: number) =>
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
  );

export const boolVar = (fallback: boolean) =>
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
  );

/** A trimmed string; with a fallback its type is `string`, without one `string | undefined`. */
export const stringVar = <Fallback extends string | undefined = undefined>(fallback?: Fallback) =>
  variable(
    v.pipe(
      v.string(),
      v.transform((value) => (blank(value) ? fallback : value.trim()) as Fallback extends string ? string : string | undefined),
    ),
  );

export const urlVar = (fallback: string) =>
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
  );

/**
 * Parses `env` with `schema` and throws one ConfigError naming every bad variable. Builders for
 * secrets (tokens, keys) must not put the value in their messages.
 */
export function readConfig<T>(schema: v.GenericSchema<unknown, T>, env: NodeJS.ProcessEnv, what = 'configuration'): T {
  const result = v.safeParse(schema, env);
  if (result.success) return result.output;
  throw new ConfigError(`invalid ${what}: ${describeIssues(result.issues).join('; ')}`);
}
