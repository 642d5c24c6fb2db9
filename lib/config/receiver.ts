import * as v from 'valibot';
import { ConfigError } from '../errors';
import { FLASHDUTY_SOURCE_IPS, PUSH_DEADLINE_MS } from '../flashduty/facts';
import { MIN_MESSAGE_BYTES } from '../queue/compact';
import { ACTION_NAME_PATTERN, queueUrlVariable } from '../queue/names';
import { intVar, listVar, readConfig, stringVar } from './env';

export const ReceiverEnv = v.object({
  ENABLED_ACTIONS: listVar(),
  ALLOWED_IPS: listVar(FLASHDUTY_SOURCE_IPS),
  WEBHOOK_TOKENS: stringVar(),
  WEBHOOK_TOKENS_PARAM: stringVar(),
  EDGE_SECRET: stringVar(),
  EDGE_SECRET_PARAM: stringVar(),
  MAX_EVENT_AGE_SECONDS: intVar(300, 1, 86_400),
  MAX_MESSAGE_BYTES: intVar(256 * 1024, MIN_MESSAGE_BYTES, 1024 * 1024),
  // Whatever is configured, the answer must leave room inside FlashDuty's deadline.
  ENQUEUE_TIMEOUT_MS: intVar(500, 50, PUSH_DEADLINE_MS - 100),
  AWS_REGION: stringVar('us-east-1'),
  AWS_ENDPOINT_URL_SSM: stringVar(),
  AWS_ENDPOINT_URL_SQS: stringVar(),
});

export interface ReceiverConfig {
  /** Enabled action name -> its queue URL. */
  queues: ReadonlyMap<string, string>;
  allowedIps: string[];
  tokens: { inline: string } | { parameter: string };
  /**
   * Set when the API sits behind the optional CloudFront + WAF edge (EDGE_FIREWALL): requests must
   * carry the secret CloudFront adds, which proves they passed the WAF's IP allowlist.
   */
  edgeSecret?: { inline: string } | { parameter: string };
  maxEventAgeMs: number;
  maxMessageBytes: number;
  enqueueTimeoutMs: number;
  region: string;
  /** Endpoint overrides (the AWS SDK's standard variables); set only locally and in tests. */
  ssmEndpoint?: string;
  sqsEndpoint?: string;
}

/** Reads and checks the receiver's configuration once, at cold start. */
export function receiverConfig(env: NodeJS.ProcessEnv): ReceiverConfig {
  const c = readConfig(ReceiverEnv, env, 'receiver configuration');
  if (c.ENABLED_ACTIONS.length === 0) throw new ConfigError('ENABLED_ACTIONS: list at least one action, e.g. restart-host,enrich');
  const queues = new Map<string, string>();
  for (const action of c.ENABLED_ACTIONS) {
    if (!ACTION_NAME_PATTERN.test(action)) throw new ConfigError(`ENABLED_ACTIONS: "${action}" is not a valid action name`);
    const url = env[queueUrlVariable(action)]?.trim();
    if (!url) throw new ConfigError(`${queueUrlVariable(action)}: missing; every enabled action needs its queue URL`);
    queues.set(action, url);
  }
  if (c.WEBHOOK_TOKENS && c.WEBHOOK_TOKENS_PARAM) {
    throw new ConfigError('WEBHOOK_TOKENS and WEBHOOK_TOKENS_PARAM are both set; set exactly one');
  }
  const tokens = c.WEBHOOK_TOKENS_PARAM ? { parameter: c.WEBHOOK_TOKENS_PARAM } : { inline: c.WEBHOOK_TOKENS ?? '' };
  if ('inline' in tokens && tokens.inline === '') {
    throw new ConfigError('WEBHOOK_TOKENS or WEBHOOK_TOKENS_PARAM: set one, so callers can be verified');
  }
  if (c.EDGE_SECRET && c.EDGE_SECRET_PARAM) throw new ConfigError('EDGE_SECRET and EDGE_SECRET_PARAM are both set; set exactly one');
  const edgeSecret = c.EDGE_SECRET_PARAM ? { parameter: c.EDGE_SECRET_PARAM } : c.EDGE_SECRET ? { inline: c.EDGE_SECRET } : undefined;
  return {
    queues,
    allowedIps: c.ALLOWED_IPS,
    tokens,
    edgeSecret,
    maxEventAgeMs: c.MAX_EVENT_AGE_SECONDS * 1000,
    maxMessageBytes: c.MAX_MESSAGE_BYTES,
    enqueueTimeoutMs: c.ENQUEUE_TIMEOUT_MS,
    region: c.AWS_REGION ?? 'us-east-1',
    ssmEndpoint: c.AWS_ENDPOINT_URL_SSM,
    sqsEndpoint: c.AWS_ENDPOINT_URL_SQS,
  };
}
