import { createHash } from 'node:crypto';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * Moves every message from an action's dead-letter queue back to its queue, keeping the body and
 * the message group (the incident). It gets a fresh deduplication id: the original may still be
 * inside SQS's 5-minute window, where a resend would be silently dropped. The event id inside the
 * body is unchanged, so steps that already succeeded for the click are not repeated. Each message
 * is deleted from the DLQ only after the queue has accepted it. Only the messages waiting when it
 * starts are moved, so a click that fails again and comes back is not moved round and round.
 * Works on SQS and the emulator.
 */
export async function redrive(sqs: SQSClient, queues: { queueUrl: string; dlqUrl: string }): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  const max = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  let moved = 0;
  while (moved < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      const group = message.Attributes?.MessageGroupId ?? 'redriven';
      const dedup = createHash('sha256').update(`${message.MessageId}:${Date.now()}`).digest('hex');
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.queueUrl,
          MessageBody: message.Body ?? '',
          MessageGroupId: group,
          MessageDeduplicationId: dedup,
          MessageAttributes: message.MessageAttributes,
        }),
      );
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queues.dlqUrl, ReceiptHandle: message.ReceiptHandle }));
      moved++;
    }
  }
  return moved;
}
