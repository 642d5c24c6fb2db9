import type { HttpClient, OutboundRequest, Secret } from '../../http/outbound';
import type { GitlabTarget } from './config';
import { acceptedAnswer, CannotLook, checkAnswer, type Dispatcher, lookup, type Run } from './dispatch';

/**
 * GitLab CI: the pipeline trigger API, `POST /projects/:id/trigger/pipeline` with the trigger
 * token, the configured ref and `variables[KEY]=value` (form-encoded, so a value can never add a
 * field). Links the pipeline's `web_url`.
 *
 * A trigger whose answer was lost (a timeout, a 5xx, a crash before recording it) is looked for
 * with a `read_token` before it is sent again. Ref and time cannot tell two clicks apart, so a
 * triggered pipeline is taken as this click's only when the variables it was started with show the
 * click key: a variable rendered from `{{ click_key }}` (findPipeline). When no variable carries
 * the key, or there is no read token, there is nothing to tell pipelines apart by: a lost answer is
 * reported as unknown (CannotLook: not sent again).
 */
export function gitlabDispatcher(target: GitlabTarget, variables: Record<string, string>, clickKey: string, token: Secret, readToken: Secret | undefined, http: HttpClient): Dispatcher {
  const project = `${target.api_url}/projects/${encodeURIComponent(target.project)}`;
  // The token is a Secret form field: shown as *** in the dry run and scrubbed from any error that quotes the answer.
  const request: OutboundRequest = {
    method: 'POST',
    timeoutMs: target.timeout_seconds * 1000,
    url: `${project}/trigger/pipeline`,
    form: { token, ref: target.ref, ...Object.fromEntries(Object.entries(variables).map(([key, value]) => [`variables[${key}]`, value])) },
  };
  const explain = (status: number, message: string): string => {
    const said = message ? ` (${message})` : '';
    if (status === 401 || status === 403) {
      return `GitLab refused the pipeline trigger token with HTTP ${status}${said}: check it is a valid trigger token of project ${target.project} and that its owner may run pipelines on ${target.ref}`;
    }
    if (status === 404) return `GitLab answered 404${said}: project ${target.project} not found, or the trigger token does not belong to it`;
    if (status === 400 || status === 422) return `GitLab refused the ref or variables with HTTP ${status}${said}`;
    return `GitLab refused the trigger with HTTP ${status}${said}`;
  };
  // The variables that carry the click key, as this click renders them: what its pipeline was started with.
  const marks = Object.entries(variables).filter(([, value]) => value.includes(clickKey));

  return {
    facts: [
      ['pipeline', `${target.project} (trigger)`],
      ['ref', target.ref],
      ['variables', JSON.stringify(variables)],
    ],
    describe: () => http.describe(request),
    resendable: false,
    async dispatch() {
      const response = await http.request(request);
      checkAnswer(response, `POST ${project}/trigger/pipeline`, explain);
      const pipeline = acceptedAnswer<{ id?: number; web_url?: string }>(response);
      if (pipeline === undefined) return { note: `triggered (HTTP ${response.status}); GitLab's answer could not be read` };
      return { id: pipeline?.id === undefined ? undefined : String(pipeline.id), url: pipeline?.web_url };
    },
    find: async (since) => {
      if (!readToken) return new CannotLook('there is no read_token to look for its pipeline with (set read_token, and pass {{ click_key }} in a variable)');
      if (marks.length === 0) return new CannotLook("no variable carries the click key to tell this click's pipeline apart (pass {{ click_key }} in a variable)");
      return findPipeline(http, project, target.ref, readToken, since, marks);
    },
  };
}

/**
 * Variable lookups one find makes at most. Each is a request within the worker's deadline and
 * counts against GitLab's rate limit, and this click's pipeline, started during its own attempt,
 * is among the oldest triggered on the ref since; a ref busier than that is not searched further.
 */
const MAX_LOOKUPS = 10;
/** Pipelines asked for in the one list request; a full page may have left some out. */
const PAGE = 20;

type Listed = { id: number; web_url?: string; created_at?: string };

/**
 * The pipeline triggered on `ref` at or after `since` (ms) that was started with every one of
 * `marks` (key and exact value), looked for oldest first among the first MAX_LOOKUPS candidates
 * (`GET …/pipelines/:id/variables`, which shows trigger variables). Never another pipeline on the
 * ref: after a lost answer, the oldest since may well be another click's. Undefined (send again)
 * only when every candidate was looked at; otherwise CannotLook.
 */
async function findPipeline(http: HttpClient, project: string, ref: string, readToken: Secret, since: number, marks: Array<[string, string]>): Promise<Run | undefined | CannotLook> {
  const headers = { 'private-token': readToken };
  const query = new URLSearchParams({ ref, source: 'trigger', updated_after: new Date(since - 1000).toISOString(), order_by: 'id', sort: 'asc', per_page: String(PAGE) });
  const listed = await lookup<Listed[]>(http, { url: `${project}/pipelines?${query}`, headers }, 'the pipeline list (GET …/pipelines: does read_token have read_api?)');
  if (listed instanceof CannotLook) return listed;
  const page = Array.isArray(listed) ? listed : [];
  const candidates = page.filter((p) => Date.parse(p.created_at ?? '') >= Math.floor(since / 1000) * 1000);
  for (const pipeline of candidates.slice(0, MAX_LOOKUPS)) {
    // A Reporter's read_api token lists pipelines but may not see their variables (403): GitLab
    // shows them only to a Maintainer or the user who started the pipeline.
    const started = await lookup<unknown>(http, { url: `${project}/pipelines/${pipeline.id}/variables`, headers }, "a pipeline's variables (GET …/variables: read_token must be a Maintainer's)");
    if (started instanceof CannotLook) return started;
    const has = ([key, value]: [string, string]) => (Array.isArray(started) ? started : []).some((v) => v?.key === key && v?.value === value);
    if (marks.every(has)) return { id: String(pipeline.id), url: pipeline.web_url };
  }
  return candidates.length > MAX_LOOKUPS || page.length >= PAGE ? new CannotLook(`more than ${MAX_LOOKUPS} pipelines were triggered on ${ref} since, and this click's was not among the first`) : undefined;
}
