import * as v from 'valibot';
import { ValidationError } from '../errors';

/**
 * Parses `value` with `schema`, or throws the error `fail` builds from the problems (one sentence
 * each, see describeIssues). By default a ValidationError naming the first five.
 */
export function parseOrThrow<T>(schema: v.GenericSchema<unknown, T>, value: unknown, what: string, options: { prefix?: string; fail?: (problems: string[]) => Error } = {}): T {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const problems = describeIssues(result.issues, options.prefix);
  throw options.fail ? options.fail(problems) : new ValidationError(`invalid ${what}: ${problems.slice(0, 5).join('; ')}`, problems);
}

/**
 * Turns schema issues into one-line sentences such as `incident.incident_id: is required`. Values
 * from the input are never repeated (only their type), so a message can go back to a caller or
 * into a log without leaking what was sent.
 */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[], prefix = '', whole = '(body)'): string[] {
  return issues.flatMap((issue) => {
    // A union whose branch got further (a deeper path, or a check of ours) has the useful message.
    // Its branches' paths are relative to the union.
    const deeper = issue.type === 'union' ? (issue.issues ?? []).filter((i) => i.kind !== 'schema' || (i.path?.length ?? 0) > 0) : [];
    if (deeper.length > 0) return describeIssues(deeper.map((i) => ({ ...i, path: [...(issue.path ?? []), ...(i.path ?? [])] as typeof i.path })), prefix, whole);
    const keys = (issue.path ?? []).map((item) => String(item.key));
    const path = [prefix, ...keys].filter(Boolean).join('.') || whole;
    return `${path}: ${explain(issue)}`;
  });
}

function explain(issue: v.BaseIssue<unknown>): string {
  if (issue.kind !== 'schema' || issue.type === 'custom') return issue.message; // our own messages on checks, transforms and custom schemas
  if (issue.input === undefined) return 'is required';
  if (issue.type === 'strict_object') return 'is not a known key';
  if (issue.type === 'picklist' || issue.type === 'literal') return `expected one of ${issue.expected?.replace(/^\((.*)\)$/, '$1').replace(/ \| /g, ', ')}`;
  return `expected ${issue.expected}, got ${typeName(issue.input)}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
