import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenLocal, LOCAL_HOST } from './listen';

/**
 * Local stand-ins for the two AWS APIs the operator scripts (`npm run setup`, `npm run smoke`)
 * call besides SSM and SQS, each speaking the protocol the current SDK client uses, so the real
 * `@aws-sdk/client-cloudformation` and `@aws-sdk/client-lambda` talk to them through their endpoint
 * settings (AWS_ENDPOINT_URL_CLOUDFORMATION, AWS_ENDPOINT_URL_LAMBDA):
 * - CloudFormation `DescribeStacks`: the query protocol (form-encoded POST, XML answer).
 * - Lambda `Invoke`: REST JSON (`POST /2015-03-31/functions/{name}/invocations`, the payload as the body).
 */

abstract class StandIn {
  /** Every call received, in order. */
  readonly calls: Array<{ operation: string; input: Record<string, string> }> = [];
  private server?: Server;

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.receive(req, res));
    return `http://${LOCAL_HOST}:${await listenLocal(this.server, port)}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // Like AWS: an unsigned request is refused before anything else.
    if (!/^AWS4-HMAC-SHA256 /.test(String(req.headers.authorization ?? ''))) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('missing signature');
      return;
    }
    await this.handle(req, Buffer.concat(chunks).toString('utf8'), res).catch((error: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
    });
  }

  protected abstract handle(req: IncomingMessage, body: string, res: ServerResponse): Promise<void>;
}

export interface FakeStack {
  StackName: string;
  StackStatus?: string;
  Outputs: Record<string, string>;
}

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** CloudFormation's DescribeStacks over the query protocol. */
export class CloudFormationStandIn extends StandIn {
  readonly stacks = new Map<string, FakeStack>();

  protected async handle(_req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const input = Object.fromEntries(new URLSearchParams(body));
    this.calls.push({ operation: input.Action ?? '', input });
    const send = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() }).end(text);
    };
    const fail = (code: string, message: string): void =>
      send(400, `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
    if (input.Action !== 'DescribeStacks') return fail('InvalidAction', `${input.Action} is not supported by the stand-in`);
    const stack = this.stacks.get(input.StackName ?? '');
    if (!stack) return fail('ValidationError', `Stack with id ${input.StackName} does not exist`);
    const outputs = Object.entries(stack.Outputs)
      .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
      .join('');
    const member = `<member><StackName>${xml(stack.StackName)}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${xml(stack.StackName)}/${randomUUID()}</StackId><CreationTime>2026-11-30T00:00:00.000Z</CreationTime><StackStatus>${stack.StackStatus ?? 'UPDATE_COMPLETE'}</StackStatus><Outputs>${outputs}</Outputs></member>`;
    send(200, `<DescribeStacksResponse xmlns="${CFN_NS}"><DescribeStacksResult><Stacks>${member}</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`);
  }
}

/** A function the Lambda stand-in runs: the event in, the result out (thrown: a function error). */
export type FakeFunction = (event: unknown) => Promise<unknown>;

/** Lambda's Invoke over REST JSON, running the given handlers in this process. */
export class LambdaStandIn extends StandIn {
  readonly functions = new Map<string, FakeFunction>();

  protected async handle(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const name = decodeURIComponent(match?.[1] ?? '');
    this.calls.push({ operation: 'Invoke', input: { FunctionName: name, Payload: body, InvocationType: String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse') } });
    const fn = this.functions.get(name);
    if (!match || req.method !== 'POST' || !fn) {
      res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
      return void res.end(JSON.stringify({ Type: 'User', Message: `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${name}` }));
    }
    let status: Record<string, string> = {};
    let payload: unknown;
    try {
      payload = await fn(JSON.parse(body || 'null'));
    } catch (error) {
      status = { 'x-amz-function-error': 'Unhandled' };
      payload = { errorType: (error as Error).name, errorMessage: (error as Error).message };
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': randomUUID(), ...status });
    res.end(JSON.stringify(payload ?? null));
  }
}
