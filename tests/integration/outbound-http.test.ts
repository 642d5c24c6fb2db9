import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { makeHttp, OutboundError, secret, USER_AGENT } from '../../lib/http/outbound';
import { log } from '../../lib/observability';
import { deadlineSignal } from '../../lib/deadline';
import { version } from '../../package.json';
import { captureLogs } from '../fixtures/capture-logs';

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

/** A local HTTP server on a free port; `handle` is swapped per test, `seen` records every request. */
let server: Server;
let base: string;
let handle: Handler;
let seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ method: request.method!, url: request.url!, headers: request.headers, body });
      handle(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen = [];
});

const answer = (status: number, body: string, headers: Record<string, string> = {}): Handler => (_q, response) => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
/** Answers from `script` in turn, one per request. */
const inTurn = (...script: Handler[]): Handler => (q, r, b) => script[Math.min(seen.length - 1, script.length - 1)]!(q, r, b);
const http = makeHttp({ baseDelayMs: 1 });

async function failure(promise: Promise<unknown>): Promise<OutboundError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OutboundError);
  return error as OutboundError;
}

describe('outbound HTTP', () => {
  it('sends User-Agent flashduty-actions/<package version> and parses a JSON answer', async () => {
    handle = answer(200, '{"traces":[{"id":"t1"}]}');
    await expect(http.json({ url: `${base}/api/search?q=x` })).resolves.toEqual({ traces: [{ id: 't1' }] });
    expect(USER_AGENT).toBe(`flashduty-actions/${version}`);
    expect(seen[0]!.headers['user-agent']).toBe(USER_AGENT);
  });

  it('sends a JSON body with its content type', async () => {
    handle = answer(201, '{}');
    await http.json({ method: 'POST', url: `${base}/dispatch`, json: { ref: 'main' } });
    expect(seen[0]).toMatchObject({ method: 'POST', body: '{"ref":"main"}', headers: { 'content-type': 'application/json' } });
  });

  it('gives up on a server that does not answer within the timeout, naming the URL without query values', async () => {
    handle = () => undefined;
    const error = await failure(http.request({ url: `${base}/slow?token=abc123`, timeoutMs: 100, attempts: 1 }));
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe(`GET ${base}/slow?token=***: no answer within 100 ms`);
  });

  it('stops at the worker deadline and does not retry', async () => {
    const deadline = new AbortController();
    handle = () => deadline.abort();
    const error = await failure(makeHttp({ signal: deadline.signal, baseDelayMs: 1 }).request({ url: `${base}/hang` }));
    expect(error.kind).toBe('deadline');
    expect(seen).toHaveLength(1);
  });

  it('stops reading an answer larger than the cap, with or without a content-length', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    handle = (_q, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const write = (left: number): void => void (left > 0 && !response.destroyed ? response.write(chunk, () => write(left - 1)) : response.end());
      write(40);
    };
    expect((await failure(http.request({ url: `${base}/big`, maxBytes: 1024 * 1024 }))).kind).toBe('too-large');
    handle = answer(200, 'x'.repeat(2000), { 'content-length': '2000' });
    const error = await failure(http.request({ url: `${base}/big`, maxBytes: 1000 }));
    expect(error.message).toBe(`GET ${base}/big: the answer is larger than 1000 bytes; stopped reading`);
  });

  it('explains an HTML answer where JSON was expected, with its content type and a cut of the body', async () => {
    handle = answer(200, `<html><body>${'Login required '.repeat(40)}</body></html>`, { 'content-type': 'text/html' });
    const error = await failure(http.json({ url: `${base}/api?key=v` }));
    expect(error.kind).toBe('not-json');
    expect(error.message).toMatch(new RegExp(`^GET ${base}/api\\?key=\\*\\*\\*: answered HTTP 200 with a body that is not JSON \\(text/html\\): <html><body>Login required .{100,}…$`));
  });

  it('retries a GET after a 500, logging the retry without query values, and returns the answer that followed', async () => {
    handle = inTurn(answer(500, 'oops'), answer(200, '{"ok":true}'));
    const logged = await captureLogs(() => expect(makeHttp({ log, baseDelayMs: 1 }).json({ url: `${base}/flaky?token=t0ps3cret` })).resolves.toEqual({ ok: true }));
    expect(seen).toHaveLength(2);
    expect(logged.join('\n')).toContain(`"request":"GET ${base}/flaky?token=***"`);
    expect(logged.join('\n')).not.toContain('t0ps3cret');
  });

  it('gives up after its attempts and says how many', async () => {
    handle = answer(503, '{"message":"down"}');
    const error = await failure(http.json({ url: `${base}/down`, attempts: 3 }));
    expect(error).toMatchObject({ kind: 'status', retryable: true, details: { status: 503 } });
    expect(error.message).toBe(`GET ${base}/down: answered HTTP 503: {"message":"down"} (after 3 attempts)`);
    expect(seen).toHaveLength(3);
    await expect(http.request({ url: `${base}/down`, attempts: 2 })).resolves.toMatchObject({ status: 503, attempts: 2 });
  });

  it('does not retry a POST unless it is marked safe to repeat', async () => {
    handle = inTurn(answer(500, 'oops'), answer(200, '{"ok":true}'));
    expect((await failure(http.json({ method: 'POST', url: `${base}/dispatch`, json: {} }))).details.status).toBe(500);
    expect(seen).toHaveLength(1);
    seen = [];
    await expect(http.json({ method: 'POST', url: `${base}/dispatch`, json: {}, safeToRepeat: true })).resolves.toEqual({ ok: true });
    expect(seen).toHaveLength(2);
  });

  it('never retries a 4xx other than 429', async () => {
    handle = answer(404, '{"message":"Not Found"}');
    expect((await failure(http.json({ url: `${base}/missing` }))).retryable).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('honours Retry-After, but not past the deadline', async () => {
    handle = inTurn(answer(429, '{}', { 'retry-after': '0' }), answer(200, '{"ok":true}'));
    await expect(http.json({ url: `${base}/limited` })).resolves.toEqual({ ok: true });
    seen = [];
    handle = answer(429, '{}', { 'retry-after': '120' });
    const soon = makeHttp({ deadline: Date.now() + 60_000, baseDelayMs: 1 });
    await expect(soon.request({ url: `${base}/limited` })).resolves.toMatchObject({ status: 429 });
    expect(seen).toHaveLength(1);
  });

  it("returns a 429 at once when its Retry-After is past the deadline the worker's signal carries", async () => {
    handle = answer(429, '{}', { 'retry-after': '20' });
    const withinTwoSeconds = makeHttp({ signal: deadlineSignal(Date.now() + 2000), baseDelayMs: 1 });
    const started = Date.now();
    await expect(withinTwoSeconds.request({ url: `${base}/limited` })).resolves.toMatchObject({ status: 429 });
    expect(seen).toHaveLength(1);
    // Waiting out the Retry-After until the deadline would take 2 s and then throw.
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('names the network cause (ECONNREFUSED), never a bare TypeError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(http.request({ url: `http://127.0.0.1:${port}/x`, attempts: 2 }));
    expect(error).toMatchObject({ kind: 'network', details: { code: 'ECONNREFUSED' } });
    expect(error.message).toMatch(new RegExp(`^GET http://127.0.0.1:${port}/x: could not connect \\(ECONNREFUSED: .*\\) \\(after 2 attempts\\)$`));
    expect(error).not.toBeInstanceOf(TypeError);
  });

  it('keeps secrets out of errors, logs and dry-run descriptions, and still sends them', async () => {
    handle = answer(401, '{"message":"bad token Bearer s3cr3t-token"}');
    const request = { url: `${base}/api?project=web&api_key=k-123`, headers: { authorization: secret('Bearer s3cr3t-token'), 'x-team': 'sre' } };
    const error = await failure(http.json(request));
    expect(seen[0]!.headers.authorization).toBe('Bearer s3cr3t-token');
    expect(error.message).toBe(`GET ${base}/api?project=***&api_key=***: answered HTTP 401: {"message":"bad token ***"}`);
    expect(http.describe(request)).toBe(`GET ${base}/api?project=web&api_key=k-123 (user-agent: ${USER_AGENT}, accept: application/json, authorization: ***, x-team: sre)`);
    const hook = secret(`${base}/hooks/T000/B000/XXXX`);
    expect(http.describe({ method: 'POST', url: hook, json: { text: 'hi' } })).toMatch(new RegExp(`^POST ${base}/\\*\\*\\* \\(.*\\) body \\{"text":"hi"\\}$`));
    expect([String(hook), JSON.stringify({ hook }), inspect(hook)]).toEqual(['***', '{"hook":"***"}', '***']);
  });

  it('sends a form with a secret field as *** in descriptions, and scrubs every secret however an answer echoes it', async () => {
    const token = 'glptt-s3cr3t+/tok';
    const request = { method: 'POST' as const, url: `${base}/trigger`, headers: { authorization: secret('Bearer gh-s3cr3t') }, form: { token: secret(token), ref: 'main' } };
    // The token itself starts just before the excerpt's cut: it is scrubbed before the cut, not after.
    handle = answer(400, JSON.stringify({ message: `${'x'.repeat(180)} ${token} ${encodeURIComponent(token)} gh-s3cr3t` }));
    const error = await failure(http.json(request));
    expect(seen[0]).toMatchObject({ body: 'token=glptt-s3cr3t%2B%2Ftok&ref=main', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer gh-s3cr3t' } });
    expect(http.describe(request)).toMatch(/authorization: \*\*\*.* body token=\*\*\*&ref=main$/);
    expect(error.message).toMatch(/x \*\*\*/);
    for (const shown of [error.message, error.details.body!]) expect(shown).not.toMatch(/glptt|s3cr3t|%2Ftok/);
    handle = answer(401, JSON.stringify({ message: `bad ${encodeURIComponent(token)} and gh-s3cr3t` }));
    expect((await failure(http.json(request))).message).toContain('{"message":"bad *** and ***"}');
  });

  it('refuses a request fetch could not send, naming the problem but not the header value', async () => {
    const cases = [
      { url: 'ftp://127.0.0.1/x' },
      { url: `${base}/x`, headers: { authorization: secret('Bearer a\r\nX-Evil: 1') } },
      { url: `${base}/x`, json: { a: 1 } },
    ];
    const errors = await Promise.all(cases.map((request) => failure(http.request(request))));
    expect(errors.map((error) => [error.kind, error.message])).toEqual([
      ['invalid-request', 'GET ftp://127.0.0.1/x: not an http(s) URL'],
      ['invalid-request', `GET ${base}/x: header "authorization" has a name or value fetch cannot send (a line break or non-ASCII character)`],
      ['invalid-request', `GET ${base}/x: GET cannot carry a body`],
    ]);
    expect(seen).toHaveLength(0);
  });

  it('refuses a URL carrying credentials without repeating them', async () => {
    const error = await failure(http.request({ url: `http://user:s3cret-pass@127.0.0.1:${new URL(base).port}/x` }));
    expect(error.kind).toBe('invalid-request');
    expect(error.message).toContain('the URL carries credentials; send them in a header');
    expect(`${error.message} ${String(error.cause ?? '')}`).not.toContain('s3cret-pass');
    expect(seen).toHaveLength(0);
  });

  it('does not follow a redirect, so a secret header never reaches another host', async () => {
    handle = answer(302, '', { location: 'http://127.0.0.2:1/steal' });
    await expect(http.request({ url: `${base}/moved`, headers: { 'x-api-key': secret('abcd1234') } })).resolves.toMatchObject({ status: 302 });
    expect(seen).toHaveLength(1);
  });
});
