import { search } from '@aws-lambda-powertools/jmespath';
import * as v from 'valibot';
import { jsonVar } from '../../schema/structured';
import { secretRef } from '../../schema/secret';
import { templateSchema } from '../../template/schema';

/** FlashDuty custom field types (facts.md §4) and the value shape each takes. */
const FIELD_TYPES = ['text', 'single_select', 'multi_select', 'checkbox'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A JMESPath expression, parsed once at cold start so a typo is a config error, not a failed click. */
export interface Path {
  readonly source: string;
  /** The expression over `data`; `undefined` when it finds nothing (JMESPath null). */
  search(data: unknown): unknown;
}

// Errors a JMESPath expression shows while parsing (or calling a function with the wrong number of
// arguments). A JMESPathTypeError on the empty probe document is not one: `length(traces)` is valid.
const SYNTAX_ERRORS = new Set(['LexerError', 'ParseError', 'IncompleteExpressionError', 'EmptyExpressionError', 'UnknownFunctionError', 'ArityError', 'VariadicArityError']);

const jmesPath = () =>
  v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }): Path => {
      const source = dataset.value;
      try {
        search(source, {});
      } catch (error) {
        if (SYNTAX_ERRORS.has((error as Error).name)) {
          addIssue({ message: `JMESPath ${JSON.stringify(source)}: ${(error as Error).message.split('\n')[0]}` });
          return NEVER;
        }
      }
      return { source, search: (data) => search(source, data as never) ?? undefined };
    }),
  );

/** A field written from the answer: a JMESPath, or `{path, type}` for a field that is not text. */
const FieldMapping = v.pipe(
  v.union([jmesPath(), v.strictObject({ path: jmesPath(), type: v.optional(v.picklist(FIELD_TYPES), 'text') })]),
  v.transform((mapping): { path: Path; type: FieldType } => ('search' in mapping ? { path: mapping, type: 'text' } : mapping)),
);

/** FlashDuty's rule for custom field names (facts.md §4). */
const FIELD_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,39}$/;

const Source = v.pipe(
  v.strictObject({
    name: v.pipe(v.string(), v.regex(/^[\w .:-]{1,40}$/, 'expected 1 to 40 letters, digits, spaces, dots, colons, dashes or underscores')),
    url: templateSchema.url(),
    method: v.optional(v.picklist(['GET', 'POST']), 'GET'),
    /** A header is a template, or a secret from SSM (`{"secret_param": …, "prefix": "Bearer "}`). */
    headers: v.optional(v.record(v.string(), v.union([templateSchema.header(), secretRef()])), {}),
    body: v.optional(templateSchema.json()),
    /** Lets a POST that only reads (an Elasticsearch `_search`) run in dry-run and be retried. */
    read_only: v.optional(v.boolean()),
    timeout_ms: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(30_000)), 3000),
    fields: v.optional(v.record(v.pipe(v.string(), v.regex(FIELD_NAME, 'a FlashDuty field name: a letter or _, then up to 39 letters, digits or _')), FieldMapping), {}),
    show: v.optional(v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(40)), jmesPath()), {}),
    link: v.optional(templateSchema.url()),
  }),
  v.check((source) => source.method === 'POST' || source.body === undefined, 'a GET source cannot have a body; use method POST'),
  v.transform((source) => ({ ...source, read_only: source.read_only ?? source.method === 'GET' })),
);

export type Source = v.InferOutput<typeof Source>;

/** Sources must have distinct names (they label comment lines) and never write the same field twice. */
const Sources = v.pipe(
  v.array(Source),
  v.minLength(1, 'list at least one source'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const names = new Set<string>();
    const fields = new Map<string, string>();
    for (const source of dataset.value) {
      if (names.has(source.name)) addIssue({ message: `two sources are named "${source.name}"` });
      names.add(source.name);
      for (const field of Object.keys(source.fields)) {
        const other = fields.get(field);
        if (other) addIssue({ message: `field "${field}" is written by both "${other}" and "${source.name}"; give it to one source` });
        fields.set(field, source.name);
      }
    }
  }),
);

export const EnrichConfig = v.object({
  ENRICH_SOURCES: jsonVar(
    Sources,
    'Where enrich asks about the incident: a list of sources (`name`, `url`, `method`, `headers`, `body`, `timeout_ms`, `fields`, `show`, `link`; see "enrich in detail").',
  ),
});

export type EnrichConfig = v.InferOutput<typeof EnrichConfig>;
