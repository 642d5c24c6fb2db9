import { SecretRef } from '../../schema/secret';
import { type HttpClient, OutboundError, type OutboundRequest, Secret, scrubber, secret, USER_AGENT } from '../../http/outbound';
import type { TemplateContext } from '../../template/context';
import type { FieldType, Source } from './config';
import { shapeField, shown } from './values';

/** A field one source's answer gave a value for (shaped for its type), or why it gave none. */
export type FieldResult = { name: string; type: FieldType } & ({ value: string | string[] | boolean } | { problem: string });

/** What asking one source came to. Never thrown: one source's trouble is a line of the comment. */
export interface Answer {
  source: Source;
  /** The request as sent (or as it would be sent), secrets as `***`; undefined when it could not be built. */
  request?: string;
  /** `answered`: a JSON answer came; `failed`: why not (in `problem`); `skipped`: not sent in dry-run. */
  state: 'answered' | 'failed' | 'skipped';
  problem?: string;
  shows: Array<[label: string, value: string]>;
  fields: FieldResult[];
  link?: string;
}

export interface AskDeps {
  http: HttpClient;
  secret: (ref: SecretRef) => Promise<string>;
  dryRun: boolean;
}

/**
 * Asks one source about the incident: builds its request from the templates (values encoded where
 * they land), sends it once within `timeout_ms` (a retry would hold up every other source's
 * comment; clicking again retries), and maps the JSON answer with the source's JMESPaths.
 * In dry-run a read-only request is still sent (it changes nothing, and shows what would be written);
 * any other is only described.
 */
export async function ask(source: Source, context: TemplateContext, deps: AskDeps): Promise<Answer> {
  const answer: Answer = { source, state: 'failed', shows: [], fields: [] };
  answer.link = renderLink(source, context);
  let request: OutboundRequest;
  try {
    request = await buildRequest(source, context, deps.secret);
    answer.request = withoutStandardHeaders(deps.http.describe(request));
  } catch (error) {
    return { ...answer, problem: problemOf(error) };
  }
  if (deps.dryRun && !source.read_only) return { ...answer, state: 'skipped', problem: `not sent in dry-run (a ${source.method} that is not marked read_only)` };
  let data: unknown;
  try {
    data = await deps.http.json(request);
  } catch (error) {
    return { ...answer, problem: problemOf(error) };
  }
  if (data === undefined) return { ...answer, problem: 'answered with an empty body' };
  // A source may echo the credentials it was sent (a debug or "whoami" answer): they are taken out of
  // every string of the answer before anything is read from it, so no line, field or problem shows them.
  const secrets = Object.values(request.headers ?? {}).flatMap((value) => (value instanceof Secret ? [value.reveal()] : []));
  return { ...answer, state: 'answered', ...extract(source, secrets.length > 0 ? scrubbedDeep(data, scrubber(secrets)) : data) };
}

/** `data` with `scrub` applied to every string in it, keys included. */
function scrubbedDeep(data: unknown, scrub: (text: string) => string): unknown {
  if (typeof data === 'string') return scrub(data);
  if (Array.isArray(data)) return data.map((item) => scrubbedDeep(item, scrub));
  if (data === null || typeof data !== 'object') return data;
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [scrub(key), scrubbedDeep(value, scrub)]));
}

async function buildRequest(source: Source, context: TemplateContext, readSecret: AskDeps['secret']): Promise<OutboundRequest> {
  const headers: OutboundRequest['headers'] = {};
  for (const [name, value] of Object.entries(source.headers)) {
    headers[name] = value instanceof SecretRef ? secret(await readSecret(value)) : value.render(context);
  }
  return {
    method: source.method,
    url: source.url.render(context),
    headers,
    json: source.body?.render(context),
    timeoutMs: source.timeout_ms,
    attempts: 1,
    safeToRepeat: source.read_only,
  };
}

/** The human link, when its values are there; a link is a nicety, never a reason to fail. */
function renderLink(source: Source, context: TemplateContext): string | undefined {
  try {
    return source.link?.render(context);
  } catch {
    return undefined;
  }
}

/** The answer through the source's JMESPaths: `show` lines, and field values shaped for their type. */
function extract(source: Source, data: unknown): Pick<Answer, 'shows' | 'fields'> {
  const found = (path: { search(data: unknown): unknown }): { value: unknown } | { problem: string } => {
    try {
      return { value: path.search(data) };
    } catch (error) {
      return { problem: `JMESPath failed on this answer (${problemOf(error)})` };
    }
  };
  const shows = Object.entries(source.show).map(([label, path]): [string, string] => {
    const result = found(path);
    return [label, 'problem' in result ? result.problem : shown(result.value)];
  });
  const fields = Object.entries(source.fields).map(([name, { path, type }]): FieldResult => {
    const result = found(path);
    if ('problem' in result) return { name, type, problem: result.problem };
    if (result.value === undefined) return { name, type, problem: `nothing at ${path.source} in the answer; left as it was` };
    const shaped = shapeField(type, result.value);
    return shaped.ok ? { name, type, value: shaped.value } : { name, type, problem: `${shaped.problem}; left as it was` };
  });
  return { shows, fields };
}

/** The request description without the two headers every request carries (room in the comment is short). */
function withoutStandardHeaders(described: string): string {
  return described.replace(` (user-agent: ${USER_AGENT}, accept: application/json)`, '').replace(`(user-agent: ${USER_AGENT}, accept: application/json, `, '(');
}

/** A short reason: an OutboundError's message without its leading `METHOD url: ` (the source's name says which). */
function problemOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof OutboundError) return message.slice(message.indexOf(': ') + 2);
  return message.split('\n')[0]!;
}
