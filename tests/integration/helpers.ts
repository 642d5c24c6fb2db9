import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

import { join } from 'node:path';
import { startDynamoDbEmulator } from '../../local/dynamodb-emulator';
import { loadEnvFiles } from '../../local/env-files';
import { listenLocal } from '../../local/listen';

/** A DynamoDB emulator with one table shaped like the idempotency table (`id` hash key), for locks and memory. */
export async function emulatedTable(tableName: string): Promise<{ dynamodb: DynamoDBClient; stop: () => Promise<void> }> {
  const emulator = await startDynamoDbEmulator();
  const dynamodb = new DynamoDBClient({ endpoint: emulator.endpoint, region: 'us-east-1' });
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  return {
    dynamodb,
    stop: async () => {
      dynamodb.destroy();
      await emulator.stop();
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenLocal(server, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const TOKEN = 'integration-test-token-0123456789';

const LOCAL_ENV = join(__dirname, '..', '..', 'deploy', 'local.env');

/**
 * The receiver's port and every port deploy/local.env names, at 0 (a free one each): a test's
 * stack never holds a port that a running `npm start` uses, or fails for one it holds.
 */
export const FREE_PORTS: NodeJS.ProcessEnv = Object.fromEntries(
  ['PORT', ...Object.keys(loadEnvFiles([LOCAL_ENV], {})).filter((key) => key.endsWith('_PORT'))].map((key) => [key, '0']),
);

/** npm start's own configuration (deploy/local.env: the example sources, rules and fleet), on free ports. */
export const localEnv = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...loadEnvFiles([LOCAL_ENV], {}), ...FREE_PORTS, ...overrides });

/** Configuration for a local stack in tests: loopback allowed, one known token. */
export function testEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ENABLED_ACTIONS: 'echo,restart-host',
    WEBHOOK_TOKENS: TOKEN,
    ALLOWED_IPS: '127.0.0.1,::1',
    ...overrides,
  };
}

type PostOptions = { token?: string | null; method?: string; headers?: Record<string, string> };

/** POSTs a click to the receiver like FlashDuty does. */
export async function click(receiverUrl: string, action: string, body: unknown, options: PostOptions = {}) {
  return post(`${receiverUrl}/actions/${action}`, body, options);
}

/** POSTs an incident webhook event to the receiver's `/events` like FlashDuty does. */
export async function sendEvent(receiverUrl: string, body: unknown, options: PostOptions = {}) {
  return post(`${receiverUrl}/events`, body, options);
}

async function post(url: string, body: unknown, options: PostOptions): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
  const response = await fetch(url, {
    method: options.method ?? 'POST',
    headers,
    body: options.method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, ms: performance.now() - started };
}

/** Takes (receives and deletes) every message currently receivable on a queue. */
export async function drain(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageSystemAttributeNames: ['All'] }),
    );
    all.push(...Messages);
    empty = Messages.length === 0 ? empty + 1 : 0;
    if (Messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
      );
    }
  }
  return all;
}

/** Messages waiting on a queue (visible plus in flight), as SQS reports them. */
export async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Receives (without deleting) exactly `count` messages from a queue, waiting for them to be there. */
export async function receive(sqs: SQSClient, queueUrl: string, count: number): Promise<Message[]> {
  const got: Message[] = [];
  await eventually(async () => {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageSystemAttributeNames: ['All'] }));
    got.push(...Messages);
    return got.length >= count ? true : undefined;
  }, 5000, `${count} message(s) on the queue`);
  return got;
}

/** A TCP server on a free loopback port; `close()` also destroys every socket handed to `track`. */
async function tcpServer(onConnection: (client: Socket, track: (socket: Socket) => Socket) => void): Promise<{ url: string; close: () => void }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket.on('error', () => undefined));
    return socket;
  };
  const server = createServer((client) => onConnection(track(client), track));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A TCP proxy that holds each connection's bytes for `delayMs` before forwarding them, and drops them if the client gave up. */
export function slowProxy(target: string, delayMs: number): Promise<{ url: string; close: () => void }> {
  const { hostname, port } = new URL(target);
  return tcpServer((client, track) => {
    const held: Buffer[] = [];
    client.on('data', (chunk: Buffer) => held.push(chunk));
    setTimeout(() => {
      if (client.destroyed || client.readableEnded) return; // the caller gave up: nothing is forwarded
      const upstream = track(
        createConnection(Number(port), hostname, () => {
          for (const chunk of held) upstream.write(chunk);
          client.removeAllListeners('data');
          client.pipe(upstream).pipe(client);
        }),
      );
      upstream.on('error', () => client.destroy());
    }, delayMs);
  });
}

/** A TCP proxy that forwards requests at once but holds each answer `delayMs`: the queue takes the message, the answer comes too late. */
export function lateAnswerProxy(target: string, delayMs: number): Promise<{ url: string; close: () => void }> {
  const { hostname, port } = new URL(target);
  return tcpServer((client, track) => {
    const upstream = track(createConnection(Number(port), hostname));
    client.pipe(upstream);
    upstream.on('data', (chunk) => setTimeout(() => client.destroyed || client.write(chunk), delayMs));
  });
}
