/**
 * The cold path: from the start of a fresh process to the first answer of the bundled receiver, with
 * its tokens in SSM (WEBHOOK_TOKENS_PARAM, through the SSM stand-in answering after 20 ms) and a real
 * SendMessage to the SQS emulator; next to the SQS-only reference bundle's first send. This is what
 * every cold Lambda does before its first click is answered. The same receiver with its tokens
 * inline (WEBHOOK_TOKENS) is timed too, without a target: the difference is what the SSM read costs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import sample from '../../tests/fixtures/custom-action.json';
import { SsmStandIn } from '../../local/ssm-standin';
import { startSqsEmulator } from '../../local/sqs-emulator';

export const SSM_DELAY_MS = 20;
const TOKEN_PARAMETER = '/bench/webhook-tokens';

/**
 * Runs in the fresh process: load the bundle, answer one event, print the time since start on a line
 * marked BENCH (the function's own log lines go to stdout too).
 */
const FIRST_ANSWER = `const t=process.hrtime.bigint();const {handler}=require(process.env.BENCH_FILE);
Promise.resolve(handler(JSON.parse(process.env.BENCH_EVENT),{awsRequestId:'cold',getRemainingTimeInMillis:()=>3000}))
.then((r)=>process.stdout.write('\\nBENCH '+JSON.stringify({ms:Number(process.hrtime.bigint()-t)/1e6,status:r.statusCode})),(e)=>{console.error(e);process.exit(1)})`;

/** The API Gateway event of a FlashDuty click from 127.0.0.1. */
function clickEvent(token: string): object {
  const body = JSON.stringify({ ...sample, event_id: `cold-${process.hrtime.bigint()}`, event_time: Date.now() });
  return {
    version: '2.0',
    routeKey: 'POST /actions/echo',
    rawPath: '/actions/echo',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    pathParameters: { action: 'echo' },
    requestContext: { http: { method: 'POST', path: '/actions/echo', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, requestId: 'cold', timeEpoch: Date.now() },
    body,
    isBase64Encoded: false,
  };
}

async function firstAnswerMs(file: string, event: object, env: NodeJS.ProcessEnv): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', FIRST_ANSWER], { env: { ...env, BENCH_FILE: file, BENCH_EVENT: JSON.stringify(event) } });
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH ')) ?? '';
  const { ms, status } = JSON.parse(line.slice('BENCH '.length)) as { ms: number; status: number };
  if (status !== 200) throw new Error(`cold path: ${file} answered ${status}`);
  return ms;
}

/** Medians over `runs` fresh processes of each, interleaved so a busy moment hits both alike. */
export async function coldPath(bundles: { receiver: string; reference: string }, runs: number, token: string) {
  const emulator = await startSqsEmulator();
  const ssm = new SsmStandIn();
  const sqs = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  try {
    ssm.delayMs = SSM_DELAY_MS;
    ssm.parameters.set(TOKEN_PARAMETER, token);
    const ssmEndpoint = await ssm.start();
    const created = (await sqs.send(new CreateQueueCommand({ QueueName: 'bench-cold.fifo', Attributes: { FifoQueue: 'true' } }))).QueueUrl!;
    // The emulator names a host no resolver knows; the reference's plain client sends to the queue URL's host.
    const queueUrl = `${emulator.endpoint.replace(/\/$/, '')}${new URL(created).pathname}`;
    const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'b', AWS_SECRET_ACCESS_KEY: 'b', AWS_ENDPOINT_URL_SQS: emulator.endpoint, POWERTOOLS_LOG_LEVEL: 'SILENT' };
    const receiverEnv = { ...env, AWS_ENDPOINT_URL_SSM: ssmEndpoint, ENABLED_ACTIONS: 'echo', QUEUE_URL_ECHO: queueUrl, WEBHOOK_TOKENS_PARAM: TOKEN_PARAMETER, ALLOWED_IPS: '127.0.0.1' };
    // Tokens given inline: the same first answer without the SSM read, to show what the read costs.
    const { WEBHOOK_TOKENS_PARAM: _, ...inlineEnv } = { ...receiverEnv, WEBHOOK_TOKENS: token };
    const times = { receiver: [] as number[], inline: [] as number[], reference: [] as number[] };
    for (let i = 0; i < runs; i++) {
      times.receiver.push(await firstAnswerMs(bundles.receiver, clickEvent(token), receiverEnv));
      times.inline.push(await firstAnswerMs(bundles.receiver, clickEvent(token), inlineEnv));
      times.reference.push(await firstAnswerMs(bundles.reference, { body: JSON.stringify(sample) }, { ...env, QUEUE_URL: queueUrl }));
    }
    if (ssm.calls.filter((c) => c.operation === 'GetParameter').length !== runs) throw new Error('cold path: the receiver did not read its tokens from SSM once per process');
    return {
      receiverMs: median(times.receiver),
      inlineMs: median(times.inline),
      referenceMs: median(times.reference),
      receiverRatio: pairedRatio(times.receiver, times.reference),
      inlineRatio: pairedRatio(times.inline, times.reference),
      runs,
    };
  } finally {
    sqs.destroy();
    await ssm.stop();
    await emulator.stop();
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The median of `xs[i] / references[i]`, each pair measured back to back: a slow moment of the
 * machine slows both of a pair, so it moves this less than the ratio of the two medians. (Init of
 * the same receiver, 41 pairs, four times in a row: 1.17-1.22 this way, 1.15-1.27 as a ratio of medians.)
 */
export const pairedRatio = (xs: number[], references: number[]) => median(xs.map((x, i) => x / references[i]!));
