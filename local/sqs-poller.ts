import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  functionName: string;
  /** The worker's timeout; the handler's context counts down from it. */
  timeoutSeconds: number;
  batchSize?: number;
  region?: string;
  onError?: (error: unknown) => void;
}

/**
 * What Lambda's SQS event source mapping does, locally: long-poll the queue, hand each batch to the
 * handler as a real `SQSEvent`, then delete what succeeded. With `ReportBatchItemFailures` only the
 * reported records stay; if the handler throws, the whole batch stays and comes back after its
 * visibility timeout, exactly as on AWS.
 */
export function pollQueue(options: PollerOptions): { stop: () => Promise<void> } {
  let running = true;
  const controller = new AbortController();
  const loop = (async () => {
    while (running) {
      try {
        const { Messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: controller.signal },
        );
        if (Messages.length > 0) await deliver(options, Messages);
      } catch (error) {
        if (!running) break;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      controller.abort();
      await loop;
    },
  };
}

async function deliver(options: PollerOptions, messages: Message[]): Promise<void> {
  const records = sqsEventOf(messages, options.queueArn, options.region).Records;
  let failed: Set<string>;
  try {
    const response = await options.handler({ Records: records }, lambdaContext(options.functionName, options.timeoutSeconds, options.region));
    failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
  } catch (error) {
    options.onError?.(error);
    return; // the whole batch comes back after its visibility timeout
  }
  const done = records.filter((record) => !failed.has(record.messageId));
  if (done.length === 0) return;
  await options.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: options.queueUrl,
      Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
    }),
  );
}

/** The `SQSEvent` Lambda would build for these received messages. */
export function sqsEventOf(messages: Message[], queueArn: string, region = 'us-east-1'): SQSEvent {
  return { Records: messages.map((message) => toRecord(message, queueArn, region)) };
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId && { MessageGroupId: attributes.MessageGroupId }),
      ...(attributes.MessageDeduplicationId && { MessageDeduplicationId: attributes.MessageDeduplicationId }),
      ...(attributes.SequenceNumber && { SequenceNumber: attributes.SequenceNumber }),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { dataType: value.DataType ?? 'String', stringValue: value.StringValue, stringListValues: [], binaryListValues: [] },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** A Lambda context whose remaining time counts down from `timeoutSeconds`. */
export function lambdaContext(functionName: string, timeoutSeconds: number, region = 'us-east-1'): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
