import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { blank, describeSchema, type EnvDoc } from '../lib/schema/env';
import { readStructuredFile } from '../lib/schema/structured';
import { ConfigError } from '../lib/errors';
import type { StackSettings } from './stack';

/** Lambda's limit on one function's environment: all keys and values together. */
export const LAMBDA_ENV_LIMIT_BYTES = 4 * 1024;
/** What a CloudFormation reference (a queue URL, a table name) may resolve to, counted against the limit. */
const REFERENCE_BYTES = 128;

export interface FunctionEnv {
  /** Variables to set on the function, from the deploy environment. */
  environment: Record<string, string>;
  /** `_FILE` paths to ship in the function's zip. */
  files: string[];
  /** SSM parameters holding the function's secrets. */
  parameters: string[];
}

/**
 * What a function gets from the deploy environment, derived from the schemas it reads: every key
 * the operator may set (and did), a secret as its `_PARAM` (or the stage's default parameter when
 * the secret has one and neither form is given), structured config inline or as a `_FILE` shipped
 * in the zip (as JSON: see shipAsJson). Keys the stack, Lambda or the local stack set are never copied.
 */
export function functionEnv(settings: StackSettings, env: NodeJS.ProcessEnv, schemas: Array<[what: string, schema: unknown]>, root = process.cwd()): FunctionEnv {
  const result: FunctionEnv = { environment: {}, files: [], parameters: [] };
  const given = (key: string) => (blank(env[key] ?? '') ? undefined : env[key]!);
  for (const [what, schema] of schemas) {
    for (const [key, doc] of describeSchema(schema, what)) {
      if (doc.setBy !== 'operator') continue;
      if (doc.kind === 'secret') addSecret(result, key, given(key), given(`${key}_PARAM`) ?? (given(key) ? undefined : defaultParameter(settings, doc)));
      else if (doc.kind === 'structured' && given(`${key}_FILE`)) {
        const shipped = shipAsJson(root, `${settings.stage}/${what}`, key, given(`${key}_FILE`)!);
        result.environment[`${key}_FILE`] = shipped;
        result.files.push(shipped);
      } else if (given(key)) result.environment[key] = given(key)!;
    }
  }
  return result;
}

/** Where the package step writes structured files for the zips; inside the project, so package patterns reach it. */
export const SHIPPED_CONFIG_DIR = '.build/config';

/**
 * Writes a `_FILE` setting's content as JSON under SHIPPED_CONFIG_DIR and returns that path, for
 * the function's environment and package. The worker then never parses YAML, and its bundle leaves
 * the YAML parser out (deploy/esbuild-plugins.cjs). Validation with the schema happens before, on
 * the operator's own file, so errors name it.
 */
function shipAsJson(root: string, where: string, key: string, file: string): string {
  const read = readStructuredFile(root, key, file);
  if ('problem' in read) throw new ConfigError(`${key}: ${read.problem}`);
  const path = `${SHIPPED_CONFIG_DIR}/${where}/${key}.json`;
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), `${JSON.stringify(read.data)}\n`);
  return path;
}

function addSecret(result: FunctionEnv, key: string, inline: string | undefined, parameter: string | undefined): void {
  if (inline !== undefined && parameter !== undefined) throw new ConfigError(`${key} and ${key}_PARAM are both set; set exactly one`);
  if (inline !== undefined) result.environment[key] = inline;
  if (parameter === undefined) return;
  result.environment[`${key}_PARAM`] = parameter;
  result.parameters.push(parameter);
}

/** `/<service>/<stage>/<name>` for a secret that declares a default parameter. */
export function defaultParameter(settings: StackSettings, doc: EnvDoc): string | undefined {
  return doc.parameter ? `/${settings.service}/${settings.stage}/${doc.parameter}` : undefined;
}

/**
 * Fails the package when a function's environment would pass Lambda's 4 KB limit (references
 * counted at their likely size), naming the largest keys and the `_FILE` form that avoids it.
 */
export function checkEnvSize(functionName: string, environment: Record<string, unknown>): void {
  const size = (key: string, value: unknown) => Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : REFERENCE_BYTES);
  const total = Object.entries(environment).reduce((sum, [key, value]) => sum + size(key, value), 0);
  if (total <= LAMBDA_ENV_LIMIT_BYTES) return;
  const largest = Object.entries(environment)
    .map(([key, value]) => [key, size(key, value)] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  const [biggest] = largest[0]!;
  throw new ConfigError(
    `${functionName}: its environment would be ${total} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}-byte limit; largest: ${largest.map(([key, bytes]) => `${key} (${bytes} bytes)`).join(', ')}. ` +
      `Give a structured setting as a file instead (e.g. ${biggest}_FILE=config/${biggest.toLowerCase().replace(/_/g, '-')}.yaml), which ships in the function's package and does not count.`,
  );
}
