import type { HttpClient, OutboundRequest, Secret } from '../../http/outbound';
import type { GitlabTarget } from './config';
import { checkAnswer, type Dispatcher, type Run } from './dispatch';

/**
 * GitLab CI: the pipeline trigger API, `POST /projects/:id/trigger/pipeline` with the trigger
 * token, the configured ref and `variables[KEY]=value` (form-encoded, so a value can never add a
 * field). Links the pipeline's `web_url`. With a `read_token` (read_api), a trigger whose answer was
 * lost is looked for among the project's triggered pipelines on that ref before sending it again.
 */
export function gitlabDispatcher(target: GitlabTarget, variables: Record<string, string>, token: Secret, readToken: Secret | undefined, http: HttpClient): Dispatcher {
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
      const pipeline = response.json<{ id?: number; web_url?: string }>();
      return { id: pipeline?.id === undefined ? undefined : String(pipeline.id), url: pipeline?.web_url };
    },
    async find(since): Promise<Run | undefined | 'cannot-look'> {
      if (!readToken) return 'cannot-look';
      const query = new URLSearchParams({ ref: target.ref, source: 'trigger', updated_after: new Date(since - 1000).toISOString(), order_by: 'id', sort: 'asc' });
      const pipelines = await http.json<Array<{ id: number; web_url?: string; created_at?: string }>>({ url: `${project}/pipelines?${query}`, headers: { 'private-token': readToken } });
      const ours = (Array.isArray(pipelines) ? pipelines : []).find((p) => Date.parse(p.created_at ?? '') >= Math.floor(since / 1000) * 1000);
      return ours && { id: String(ours.id), url: ours.web_url };
    },
  };
}
