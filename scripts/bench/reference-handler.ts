// The cold-start reference: a Lambda holding only the SQS client and one SendMessage, bundled with
// the same settings as the receiver.
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const sqs = new SQSClient({});

export const handler = async (event: { body?: string }) => {
  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.QUEUE_URL, MessageBody: event.body ?? '', MessageGroupId: 'g', MessageDeduplicationId: String(Date.now()) }));
  return { statusCode: 200, body: '{}' };
};
