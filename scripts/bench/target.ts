/**
 * One HTTP server under test, in its own process (started by scripts/bench.ts with an IPC channel):
 *   bare      answers 200 and does nothing else (the floor for "answer");
 *   enqueue   does one SendMessage of the body to the emulator, then answers (the floor for "enqueue and answer");
 *             with BENCH_ENQUEUE_BODY_FILE, it sends that file instead (what the receiver would enqueue
 *             for the push, e.g. a big incident compacted to fit);
 *   receiver  the real receiver handler behind the local HTTP API (verify, validate, enqueue).
 * Logs go wherever this process's stdout goes (the benchmark discards them), as in Lambda.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { receiverConfig } from '../../lib/config/receiver';
import { serveHttpApi } from '../../local/http-api';
import { makeReceiver } from '../../lib/receiver/handler';
import { receiverDeps } from '../../lib/receiver/wiring';

async function main(): Promise<void> {
  const kind = process.argv[2];
  const env = process.env;
  let url: string;
  if (kind === 'receiver') {
    url = (await serveHttpApi(makeReceiver(receiverDeps(receiverConfig(env))), { port: 0 })).url;
  } else {
    const sqs = new SQSClient({ endpoint: env.AWS_ENDPOINT_URL_SQS, region: env.AWS_REGION });
    const fixedBody = env.BENCH_ENQUEUE_BODY_FILE ? readFileSync(env.BENCH_ENQUEUE_BODY_FILE, 'utf8') : undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        if (kind === 'enqueue') {
          await sqs.send(
            new SendMessageCommand({ QueueUrl: env.QUEUE_URL_ECHO, MessageBody: fixedBody ?? Buffer.concat(chunks).toString('utf8'), MessageGroupId: 'bench', MessageDeduplicationId: randomUUID() }),
          );
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"queued"}');
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  process.send?.({ url });
}

void main();
process.on('SIGINT', () => process.exit(0));
