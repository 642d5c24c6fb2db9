import * as v from 'valibot';
import { TemplateSyntaxError } from './compile';
import { compileHeader, compileJson, compileShell, compileText, compileUrl } from './places';

/** Turns a template compiler into a config schema: a syntax error is a config issue at cold start. */
export function compiledBy<In, T>(base: v.GenericSchema<unknown, In>, compile: (source: In) => T) {
  return v.pipe(
    base,
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        return compile(dataset.value);
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        addIssue({ message: error.message });
        return NEVER;
      }
    }),
  );
}

/** Config schemas for templates, compiled while the config is validated (`url: templateSchema.url()`). */
export const templateSchema = {
  url: () => compiledBy(v.string(), compileUrl),
  header: () => compiledBy(v.string(), compileHeader),
  text: () => compiledBy(v.string(), compileText),
  shell: (options: { plainNames?: boolean } = {}) => compiledBy(v.string(), (source) => compileShell(source, options)),
  /** Any JSON value; its string leaves are templates. */
  json: () => compiledBy(v.unknown(), compileJson),
};
