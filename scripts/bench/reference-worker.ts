// The worker cold-start reference: a Lambda holding only the SQS and DynamoDB clients every worker
// needs, bundled with the same settings as the workers.
import { DeleteMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

const sqs = new SQSClient({});
const dynamodb = new DynamoDBClient({});

export const handler = async (event: { Records: Array<{ receiptHandle: string; messageId: string }> }) => {
  for (const record of event.Records) {
    await dynamodb.send(new PutItemCommand({ TableName: process.env.IDEMPOTENCY_TABLE, Item: { id: { S: record.messageId } } }));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: process.env.QUEUE_URL, ReceiptHandle: record.receiptHandle }));
  }
  return { batchItemFailures: [] };
};
