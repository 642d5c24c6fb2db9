import { inspect } from 'node:util';
import * as v from 'valibot';

/** Inline values live here, not on the object, so no enumeration, JSON or log line can reach them. */
const inlineValues = new WeakMap<SecretRef, string>();

/**
 * Where a secret comes from: an SSM SecureString (`parameter`), or an inline value for local use.
 * It holds no fetched value; `context.secret(ref)` resolves it. Printing it shows only its name.
 */
export class SecretRef {
  constructor(
    /** The config key (or path inside structured config) that declared it, for messages. */
    readonly label: string,
    readonly parameter?: string,
    inline?: string,
    /** Put before the value, e.g. `Bearer `. */
    readonly prefix = '',
  ) {
    if (inline !== undefined) inlineValues.set(this, inline);
  }

  toJSON(): string {
    return this.parameter ? `[secret ${this.label} from SSM ${this.parameter}]` : `[secret ${this.label}]`;
  }

  toString(): string {
    return this.toJSON();
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}

/** The inline value of a secret given inline; undefined for one held in SSM. */
export const inlineSecret = (ref: SecretRef): string | undefined => inlineValues.get(ref);

/**
 * A secret inside structured config: `{"secret_param": "/team/token", "prefix": "Bearer "}`, or
 * `{"secret_value": "...", "prefix": ...}` for local use. The package step finds every SecretRef in
 * a parsed config (secretParameters) and grants the worker exactly those parameters.
 */
export const secretRef = () =>
  v.pipe(
    v.strictObject({ secret_param: v.optional(v.pipe(v.string(), v.minLength(1))), secret_value: v.optional(v.string()), prefix: v.optional(v.string()) }),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const { secret_param, secret_value, prefix } = dataset.value;
      if ((secret_param === undefined) === (secret_value === undefined)) {
        addIssue({ message: 'set exactly one of secret_param (an SSM SecureString name) or secret_value (local use)' });
        return NEVER;
      }
      return new SecretRef(secret_param ?? 'inline secret', secret_param, secret_value, prefix);
    }),
  );

/** Every SecretRef in a parsed config, with its path inside it (`0.headers.authorization`). */
function secretRefs(value: unknown, path = '', seen = new Set<unknown>()): Array<{ path: string; ref: SecretRef }> {
  if (value instanceof SecretRef) return [{ path, ref: value }];
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return entries.flatMap(([key, child]) => secretRefs(child, path ? `${path}.${String(key)}` : String(key), seen));
}

/** Every SSM parameter a parsed config refers to, found by walking it for SecretRefs. */
export function secretParameters(value: unknown): string[] {
  return [...new Set(secretRefs(value).flatMap(({ ref }) => (ref.parameter ? [ref.parameter] : [])))];
}

/** Where a parsed config gives a secret inline (local use only), as paths inside it. */
export function inlineSecretPaths(value: unknown): string[] {
  return secretRefs(value)
    .filter(({ ref }) => inlineSecret(ref) !== undefined)
    .map(({ path }) => path);
}
