import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { UnavailableError } from '../errors';
import { truncate } from '../text';
import { fifoIdsOf, type OutgoingMessage } from './envelope';
import { encodeQueueMessage } from './compact';

/**
 * An SQS client whose worst case is bounded: each attempt gives up after `attemptTimeoutMs`, and
 * there are at most `maxAttempts`. The endpoint comes from the SDK's standard settings
 * (`AWS_ENDPOINT_URL_SQS` locally), or `endpoint` when given.
 */
export function makeSqsClient(options: { region: string; attemptTimeoutMs: number; maxAttempts: number; endpoint?: string }): SQSClient {
  return new SQSClient({
    region: options.region,
    maxAttempts: options.maxAttempts,
    ...(options.endpoint && { endpoint: options.endpoint }),
    requestHandler: {
      connectionTimeout: options.attemptTimeoutMs,
      requestTimeout: options.attemptTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

/**
 * Puts a message on an action's FIFO queue, compacted to `maxBytes`. Gives up with
 * UnavailableError when the queue has not taken it `timeoutMs` after it was encoded. The clock
 * starts after the encoding: compacting a push of a hundred thousand keys can take most of a
 * second, and a SendMessage aborted as it starts may or may not have queued the click.
 */
export async function enqueue(
  sqs: SQSClient,
  queueUrl: string,
  message: OutgoingMessage,
  options: { maxBytes: number; timeoutMs: number },
): Promise<void> {
  const command = new SendMessageCommand({
    QueueUrl: queueUrl,
    MessageBody: encodeQueueMessage(message, options.maxBytes),
    ...fifoIdsOf(message),
  });
  // One turn before the clock starts: messages sent together (the events route, one per rule) are
  // then all encoded before any of their clocks runs.
  await Promise.resolve();
  try {
    await sqs.send(command, { abortSignal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${truncate(error.message, 200)}` : String(error);
    throw new UnavailableError(`queue did not accept the message (${reason})`);
  }
}
