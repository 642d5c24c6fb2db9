import { IpAllowlist } from '../auth/ip-allowlist';
import { parseTokenList, TokenVerifier } from '../auth/tokens';
import { cachedUntilFailure, makeParameterReader } from '../aws/parameter-store';
import type { ReceiverConfig } from '../config/receiver';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { enqueue, makeSqsClient } from '../queue/sqs';
import type { ReceiverDeps } from './handler';

/**
 * Builds the receiver's real dependencies from its configuration: runs once per cold start. The
 * token parameter is fetched at once (overlapping the rest of the cold start) and cached, then
 * reloaded in the background after SECRET_MAX_AGE_SECONDS (a rotation takes effect without a cold
 * start); a failed first fetch is retried on the next request instead of being cached.
 */
export function receiverDeps(config: ReceiverConfig): ReceiverDeps {
  // Two attempts that each give up well inside the enqueue budget: the worst case stays under it.
  const sqs = makeSqsClient({
    region: config.region,
    attemptTimeoutMs: Math.floor(config.enqueueTimeoutMs / 2),
    maxAttempts: 2,
    endpoint: config.sqsEndpoint,
  });
  const deps: ReceiverDeps = {
    queues: config.queues,
    allowlist: new IpAllowlist(config.allowedIps),
    verifier: secretLoader(config, config.tokens, 'WEBHOOK_TOKENS'),
    ...(config.edgeSecret && { edgeSecret: secretLoader(config, config.edgeSecret, 'EDGE_SECRET') }),
    enqueue: (queueUrl, message, timeoutMs) => enqueue(sqs, queueUrl, message, { maxBytes: config.maxMessageBytes, timeoutMs }),
    maxEventAgeMs: config.maxEventAgeMs,
    rules: config.rules,
    selfPersonIds: config.selfPersonIds,
    enqueueTimeoutMs: config.enqueueTimeoutMs,
  };
  primeSqs(sqs, config.queues);
  return deps;
}

/**
 * Makes the SQS client's first request while the tokens are on their way from SSM, so the first
 * click's SendMessage finds the client warm (endpoint, credentials, signing, serde) and a
 * connection open (the TLS handshake, in AWS) instead of paying for them inside FlashDuty's 1 s
 * (`npm run bench`, "Cold path"). The request is a read, GetQueueAttributes of one of the
 * receiver's own queues (the role allows it); its answer and any failure are ignored.
 */
function primeSqs(sqs: ReturnType<typeof makeSqsClient>, queues: ReadonlyMap<string, string>): void {
  const [queueUrl] = queues.values();
  if (queueUrl === undefined) return;
  const command = new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] });
  // After this turn's microtasks: the token read (started just before) has its request out by then.
  setImmediate(() => sqs.send(command).catch(() => undefined));
}

/** A verifier for comma-separated secrets given inline (`variable`) or in an SSM parameter (`variable`_PARAM). */
function secretLoader(config: ReceiverConfig, secrets: { inline: string } | { parameter: string }, variable: string): () => Promise<TokenVerifier> {
  if ('inline' in secrets) {
    const verifier = Promise.resolve(new TokenVerifier(parseTokenList(secrets.inline), variable));
    return () => verifier;
  }
  const read = makeParameterReader({ region: config.region, endpoint: config.ssmEndpoint, timeoutMs: 400 });
  const verifier = cachedUntilFailure(() =>
    read(secrets.parameter).then((value) => new TokenVerifier(parseTokenList(value), `${variable}_PARAM (${secrets.parameter})`)),
    config.secretMaxAgeMs,
  );
  verifier().catch(() => undefined); // start now, overlapping the cold start; a failure is retried per request
  return verifier;
}
