import { readFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { blank, documented, type PairInput, pairInput } from './env';
import { describeIssues } from './parse';

// Its own module so code that reads no structured config does not import the YAML parser (deployed
// bundles never carry it: deploy/esbuild-plugins.cjs).

type Schema = v.GenericSchema<unknown, unknown>;

/**
 * Structured config (lists of objects): inline JSON in `<KEY>`, or `<KEY>_FILE`, a JSON or YAML
 * file relative to the project root (`npm run package` ships its content as JSON in the worker's
 * zip and points `<KEY>_FILE` there). Validated with `schema` at package time and at cold start;
 * errors name the key, the file and the path inside the value.
 */
export const jsonVar = <T extends Schema>(schema: T, meaning: string, fallback?: v.InferOutput<T>): v.GenericSchema<unknown, v.InferOutput<T>> =>
  documented(
    v.pipe(
      pairInput,
      v.rawTransform<PairInput, v.InferOutput<T>>(({ dataset, addIssue, NEVER }) => {
        const input = dataset.value;
        const loaded = loadStructured(input, fallback);
        if ('problem' in loaded) {
          addIssue({ message: loaded.problem });
          return NEVER;
        }
        const result = v.safeParse(schema, loaded.data);
        if (result.success) return result.output as v.InferOutput<T>;
        addIssue({ message: `${loaded.where}: ${describeIssues(result.issues, '', '(value)').join('; ')}` });
        return NEVER;
      }),
    ),
    { kind: 'structured', meaning, setBy: 'operator', shown: fallback === undefined ? undefined : JSON.stringify(fallback) },
  );

function loadStructured(input: PairInput, fallback: unknown): { data: unknown; where: string } | { problem: string } {
  const { key, inline, other: file } = input;
  if (!blank(inline) && !blank(file)) return { problem: `${key} and ${key}_FILE are both set; set exactly one` };
  if (!blank(inline)) {
    try {
      return { data: JSON.parse(inline), where: 'inline JSON' };
    } catch (error) {
      return { problem: `inline JSON does not parse (${jsonProblem(error)}); for a long or YAML value use ${key}_FILE` };
    }
  }
  if (blank(file)) return fallback === undefined ? { problem: `set ${key} (JSON) or ${key}_FILE (a JSON or YAML file)` } : { data: fallback, where: 'default' };
  return readStructuredFile(input.root, key, file);
}

/**
 * Reads a `_FILE` value: JSON, or YAML by its extension. The package step uses it too, to ship the
 * content as JSON, so a deployed worker never parses YAML (see deploy/esbuild-plugins.cjs).
 */
export function readStructuredFile(root: string, key: string, file: string): { data: unknown; where: string } | { problem: string } {
  const path = structuredFilePath(file);
  if (!path) return { problem: `${key}_FILE must be a path inside the project, got "${file}"` };
  let text: string;
  try {
    text = readFileSync(join(root, path), 'utf8');
  } catch (error) {
    return { problem: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  try {
    return { data: /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text), where: path };
  } catch (error) {
    const yaml = (error as { linePos?: unknown }).linePos !== undefined;
    return { problem: `${path} does not parse (${yaml ? (error as Error).message.split('\n')[0] : jsonProblem(error)})` };
  }
}

/** Where JSON.parse gave up, without the excerpt of the input its message quotes (it may hold a secret). */
function jsonProblem(error: unknown): string {
  const at = /position (\d+)/.exec((error as Error).message);
  return at ? `invalid JSON at character ${at[1]}` : 'invalid or incomplete JSON';
}

/** A `_FILE` path, normalised; undefined when it would leave the project root (it must ship in the zip). */
export function structuredFilePath(file: string): string | undefined {
  const path = normalize(file.trim()).replace(/\\/g, '/');
  return isAbsolute(path) || path.startsWith('../') || path === '..' ? undefined : path;
}

