import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { listenLocal, LOCAL_HOST } from './listen';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** API Gateway HTTP API's own payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * A local stand-in for API Gateway HTTP API with the routes `ANY /actions/{action}` and `POST /events`: turns each
 * request into a payload-format 2.0 event, the way API Gateway does (lower-cased headers, source IP
 * from the socket, base64 for non-text bodies), and calls the same handler the Lambda runs.
 */
export async function serveHttpApi(handler: HttpHandler, options: { port: number }): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    try {
      const url = URL.parse(`http://localhost${(req.url ?? '/').startsWith('/') ? req.url : '/'}`);
      if (!url) return reply(400, JSON.stringify({ message: 'Bad Request' }));
      const match = /^\/actions\/([^/]+)\/?$/.exec(url.pathname);
      const events = req.method === 'POST' && /^\/events\/?$/.test(url.pathname);
      const body = await readBody(req);
      if (!match?.[1] && !events) return reply(404, JSON.stringify({ message: 'Not Found' }));
      if (body === undefined) return reply(413, JSON.stringify({ message: 'Request Entity Too Large' }));
      const action = match?.[1] === undefined ? undefined : safeDecode(match[1]);
      if (match?.[1] !== undefined && action === undefined) return reply(400, JSON.stringify({ message: 'Bad Request' }));
      const result = await handler(toEvent(req, url, action, body));
      const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
      reply(result.statusCode ?? 200, result.body ?? '', headers);
    } catch {
      // API Gateway's answer when the integration fails.
      reply(500, JSON.stringify({ message: 'Internal Server Error' }));
    }
  });
  server.keepAliveTimeout = 60_000;
  const port = await listenLocal(server, options.port);
  return { server, url: `http://${LOCAL_HOST}:${port}` };
}

/** `action` undefined: the `POST /events` route, which has no path parameter. */
function toEvent(req: IncomingMessage, url: URL, action: string | undefined, body: Buffer): APIGatewayProxyEventV2 {
  const routeKey = action === undefined ? 'POST /events' : 'ANY /actions/{action}';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const isText = /^(application\/(json|[\w.+-]*\+json|x-www-form-urlencoded|xml)|text\/)/i.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    pathParameters: action === undefined ? undefined : { action },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : isText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

/** A percent-decoded path segment, or undefined when its encoding is malformed (as API Gateway refuses it). */
function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The whole body, or undefined when it is over the limit (read to the end so we can still answer). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}
