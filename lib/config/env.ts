import * as z from 'zod/mini';
import { ConfigError } from '../errors';
import { describeIssues } from './issues';

/**
 * Schema builders for environment variables. Every variable arrives as an optional string; these
 * turn it into a typed value or a clear issue ("expected an integer between 1 and 3600").
 */
type Ctx = z.core.ParsePayload<unknown>;

function fail(ctx: Ctx, input: unknown, message: string): never {
  ctx.issues.push({ code: 'custom', message, input });
  return z.NEVER;
}

/** Comma-separated list; blanks dropped, entries trimmed. */
export const listVar = (fallback: readonly string[] = []) =>
  z.pipe(
    z.optional(z.string()),
    z.transform((raw) => {
      const items = (raw ?? '').split(',').map((item) => item.trim()).filter(Boolean);
      return raw === undefined ? [...fallback] : items;
    }),
  );

export const intVar = (fallback: number, min: number, max: number) =>
  z.pipe(
    z.optional(z.string()),
    z.transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        return fail(ctx, raw, `expected an integer between ${min} and ${max}, got "${raw}"`);
      }
      return value;
    }),
  );

export const boolVar = (fallback: boolean) =>
  z.pipe(
    z.optional(z.string()),
    z.transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = raw.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(value)) return true;
      if (['false', '0', 'no'].includes(value)) return false;
      return fail(ctx, raw, `expected true or false, got "${raw}"`);
    }),
  );

/** A trimmed string; with a fallback its type is `string`, without one `string | undefined`. */
export const stringVar = <Fallback extends string | undefined = undefined>(fallback?: Fallback) =>
  z.pipe(
    z.optional(z.string()),
    z.transform((raw) => (raw === undefined || raw.trim() === '' ? fallback : raw.trim()) as Fallback extends string ? string : string | undefined),
  );

export const urlVar = (fallback: string) =>
  z.pipe(
    z.optional(z.string()),
    z.transform((raw, ctx) => {
      const value = raw === undefined || raw.trim() === '' ? fallback : raw.trim();
      if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
        return fail(ctx, raw, `expected an http(s) URL, got "${raw}"`);
      }
      return value.replace(/\/+$/, '');
    }),
  );

/**
 * Parses `env` with `schema` and throws one ConfigError naming every bad variable. Builders for
 * secrets (tokens, keys) must not put the value in their messages.
 */
export function readConfig<T>(schema: z.ZodMiniType<T>, env: NodeJS.ProcessEnv, what = 'configuration'): T {
  const result = schema.safeParse(env, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  throw new ConfigError(`invalid ${what}: ${problems.join('; ')}`);
}
