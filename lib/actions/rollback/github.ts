import type { HttpClient, OutboundRequest, Secret } from '../../http/outbound';
import type { GithubTarget } from './config';
import { looksLikeClickKey } from '../../queue/envelope';
import { describeError } from '../../errors';
import { acceptedAnswer, CannotLook, checkAnswer, type Dispatcher, findSoon, lookup, type Run } from './dispatch';

const GITHUB_API_VERSION = '2022-11-28';

/** The web address next to an API URL: api.github.com -> github.com, https://ghe/api/v3 -> https://ghe. */
function webBase(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.origin}${url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '')}`;
}

/**
 * GitHub Actions: `POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches` with the
 * configured ref and the rendered inputs. Asks for the run's details (`return_run_details`); a
 * server that refuses that field is asked again without it.
 *
 * Without that answer (an older server, or an answer lost to a timeout or 5xx) the run can only be
 * found in the run list, which carries neither the inputs nor anything else of the click: ref and
 * time alone cannot tell two clicks on one workflow apart. So a listed run is taken as this click's
 * only when its title (the workflow's `run-name`) shows the click key, which the workflow gets
 * through an input rendered from `{{ click_key }}`; a list without it means the attempt started
 * nothing, so it is sent again (this relies on the run-name showing that input, as the README
 * says). When no input carries the key there is nothing to tell runs apart by: a lost answer is
 * reported as unknown (CannotLook: not sent again), and after a 204 no run is named.
 */
export function githubDispatcher(target: GithubTarget, inputs: Record<string, string>, clickKey: string, token: Secret, http: HttpClient, signal: AbortSignal): Dispatcher {
  const [owner, repo] = target.repo.split('/') as [string, string];
  const base = `${target.api_url}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/actions/workflows/${encodeURIComponent(target.workflow)}`;
  const headers = { authorization: token, accept: 'application/vnd.github+json', 'x-github-api-version': GITHUB_API_VERSION };
  const request = (details: boolean): OutboundRequest => ({
    method: 'POST',
    timeoutMs: target.timeout_seconds * 1000,
    url: `${base}/dispatches`,
    headers,
    json: { ref: target.ref, inputs, ...(details && { return_run_details: true }) },
  });
  const named = Object.values(inputs).some((value) => value.includes(clickKey));
  const list = (since: number) => findRun(http, { url: `${base}/runs`, headers }, target.ref, since, clickKey);

  return {
    facts: [
      ['workflow', `${target.repo} ${target.workflow}`],
      ['ref', target.ref],
      ['inputs', JSON.stringify(inputs)],
    ],
    describe: () => http.describe(request(true)),
    resendable: false,
    find: async (since) => (named ? list(since) : new CannotLook(UNNAMED)),
    async dispatch() {
      const since = Date.now();
      let response = await http.request(request(true));
      if ((response.status === 400 || response.status === 422) && /return_run_details/.test(response.text)) {
        // An older GitHub Enterprise Server refuses the whole request, so nothing was dispatched yet.
        // Not remembered across clicks: one extra round trip, and an upgraded server is used at once.
        response = await http.request(request(false));
      }
      checkAnswer(response, `POST ${target.api_url}/repos/${target.repo}/…/dispatches`, (status, message) => refusal(target, status, message));
      // Accepted: from here on nothing may throw, or the retry would dispatch it again.
      if (response.status === 200) {
        const body = acceptedAnswer<{ workflow_run_id?: number; html_url?: string }>(response);
        if (body?.workflow_run_id) return { id: String(body.workflow_run_id), url: body.html_url };
      }
      const url = `${webBase(target.api_url)}/${target.repo}/actions/workflows/${target.workflow}`;
      if (!named) return { note: `dispatched (HTTP ${response.status}); GitHub did not name the run and no input carries the click key to find it by`, url };
      const found = await findSoon(() => list(since), signal).catch((error: unknown) => new CannotLook(`looking for it in the run list failed (${describeError(error)})`));
      if (found instanceof CannotLook) return { note: `dispatched; GitHub did not name the run, and ${found.why}`, url };
      return found ?? { note: 'dispatched; the run did not show up in the list yet', url };
    },
  };
}

/** What to fix, for an answer GitHub refused. */
function refusal(target: GithubTarget, status: number, message: string): string {
  const said = message ? ` (${message})` : '';
  // GitHub's secondary rate limit is a 403 too; the token is fine.
  if (status === 403 && /rate limit/i.test(message)) return `GitHub refused the dispatch with HTTP 403 for its rate limit${said}: wait a few minutes, then click again`;
  if (status === 401 || status === 403) {
    return `GitHub refused the token with HTTP ${status}${said}: it needs the "actions: write" permission on ${target.repo} (fine-grained token or GitHub App; a classic token needs the repo scope)`;
  }
  if (status === 404) return `GitHub answered 404${said}: repository ${target.repo} or workflow ${target.workflow} not found, or the token cannot see it`;
  if (status === 422) return `GitHub refused the ref or inputs with HTTP 422${said}`;
  return `GitHub refused the dispatch with HTTP ${status}${said}`;
}

type Listed = { id: number; html_url?: string; created_at?: string; head_branch?: string; display_title?: string };

/** Runs asked for in the one list request; a full page may have left this click's out. */
const PER_PAGE = 30;

const UNNAMED = "no input carries the click key to tell this click's run apart (pass {{ click_key }} in an input and show it in the workflow's run-name)";

/**
 * The `workflow_dispatch` run on `ref` created at or after `since` (ms) whose title has `clickKey`
 * as a word of its own, from the workflow's run list. Never another run on the ref: after a lost
 * answer, the oldest run since may well be another click's. Not listed means the attempt started
 * nothing (undefined: send again) only when the list is whole and every run on the ref since shows
 * another click's key in its title; a run whose title shows none (a run-name that does not show
 * the input, or a run started by hand), or shows this click's key run into other text, could be
 * this click's, so then it is CannotLook.
 */
async function findRun(http: HttpClient, list: { url: string; headers: Record<string, string | Secret> }, ref: string, since: number, clickKey: string): Promise<Run | undefined | CannotLook> {
  const second = Math.floor(since / 1000) * 1000;
  const created = new Date(second).toISOString().replace('.000Z', 'Z');
  const query = new URLSearchParams({ event: 'workflow_dispatch', created: `>=${created}`, per_page: String(PER_PAGE) });
  const response = await lookup<{ workflow_runs?: Listed[] }>(http, { url: `${list.url}?${query}`, headers: list.headers }, 'the run list (GET …/runs: does the token have actions: read?)');
  if (response instanceof CannotLook) return response;
  const listed = response?.workflow_runs ?? [];
  // A run on another branch was started by someone else; GitHub names the ref without refs/heads/.
  const branch = ref.replace(/^refs\/(heads|tags)\//, '');
  const onRef = listed.filter((run) => run.head_branch === branch && Date.parse(run.created_at ?? '') >= second);
  const title = (run: Listed) => run.display_title ?? '';
  const ours = onRef.find((run) => title(run).split(/\s+/).includes(clickKey));
  if (ours) return { id: String(ours.id), url: ours.html_url };
  if (listed.length >= PER_PAGE) return new CannotLook(`${PER_PAGE} or more runs started since, and this click's was not among the newest`);
  if (onRef.some((run) => title(run).includes(clickKey) || !title(run).split(/\s+/).some(looksLikeClickKey))) {
    const why = `a run on ${branch} since then may be this click's, but its title does not show a click key as a word of its own (show {{ click_key }}, set off by spaces, in the workflow's run-name)`;
    return new CannotLook(why, false);
  }
  return undefined;
}
