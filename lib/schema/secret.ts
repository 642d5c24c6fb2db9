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

/** Every SSM parameter a parsed config refers to, found by walking it for SecretRefs. */
export function secretParameters(value: unknown, seen = new Set<unknown>()): string[] {
  if (value instanceof SecretRef) return value.parameter ? [value.parameter] : [];
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  const children = value instanceof Map ? [...value.values()] : Object.values(value);
  return [...new Set(children.flatMap((child) => secretParameters(child, seen)))];
}
