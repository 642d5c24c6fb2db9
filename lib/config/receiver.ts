import * as v from 'valibot';
import { ConfigError } from '../errors';
import { FLASHDUTY_SOURCE_IPS, PUSH_DEADLINE_MS } from '../flashduty/facts';
import { MIN_MESSAGE_BYTES } from '../queue/compact';
import { ACTION_NAME_PATTERN, queueUrlVariable } from '../queue/names';
import { checkRules, type Rule, Rules } from '../triggers/rules';
import { intVar, listVar, readConfig, secretVar, setBy, stringVar } from '../schema/env';
import { AwsEnv, ENABLED_ACTIONS, PowertoolsEnv, SECRET_MAX_AGE_SECONDS } from './platform';
import { inlineSecret } from '../schema/secret';
import { jsonVar } from '../schema/structured';

/** The event rules and what tells our own writes apart: read by the receiver, and by `npm run package` to check them. */
export const EventRulesEnv = v.object({
  EVENT_RULES: jsonVar(Rules, 'Rules running actions on FlashDuty Incident Webhook events (`POST /events`): `{name, on, when, run}` each; see "Event rules".', []),
  EVENT_SELF_PERSON_IDS: v.pipe(
    listVar([], 'FlashDuty person ids of the member owning the app key: `i_comm`/`i_r_field` events they caused are our own and never run a rule. Required by rules on those types.'),
    v.check((ids) => ids.every((id) => /^\d{1,19}$/.test(id)), 'expected comma-separated FlashDuty person ids (digits)'),
    v.transform((ids) => ids.map(Number)),
  ),
});

export const ReceiverEnv = v.object({
  ENABLED_ACTIONS,
  ALLOWED_IPS: listVar(FLASHDUTY_SOURCE_IPS, "Source IPs and CIDRs allowed to call (default: FlashDuty's); checked against the address API Gateway saw."),
  WEBHOOK_TOKENS: secretVar('Comma-separated bearer tokens callers must present; read at cold start, then again in the background every `SECRET_MAX_AGE_SECONDS`.', { required: true, parameter: 'webhook-tokens' }),
  EDGE_SECRET: secretVar('Secret CloudFront adds behind the edge (`EDGE_FIREWALL`); when set, requests must carry it (header `x-flashduty-actions-edge`) instead of coming from `ALLOWED_IPS`.'),
  MAX_EVENT_AGE_SECONDS: intVar(300, 1, 86_400, 'Clicks whose `event_time` is older are refused (replay protection); more than 60 s ahead is refused too.'),
  MAX_MESSAGE_BYTES: intVar(256 * 1024, MIN_MESSAGE_BYTES, 1024 * 1024, 'Largest queue message; bigger incidents are compacted (alerts trimmed, counts kept), never refused.'),
  // Whatever is configured, the answer must leave room inside FlashDuty's deadline.
  ENQUEUE_TIMEOUT_MS: intVar(500, 50, PUSH_DEADLINE_MS - 100, 'Time allowed for SendMessage to put a click on its queue, counted from when the message is ready, before answering 503.'),
  ...EventRulesEnv.entries,
  SECRET_MAX_AGE_SECONDS,
  ...AwsEnv,
  ...PowertoolsEnv,
});

/** Keys whose names depend on the enabled actions, documented beside the schema (receiverConfig reads them). */
export const ReceiverQueueEnv = v.object({
  'QUEUE_URL_<ACTION>': setBy('stack', stringVar(undefined, 'The queue of each enabled action, e.g. `QUEUE_URL_RESTART_HOST`.')),
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
  /** Event rules, each running an enabled action (checked here, at cold start, and by npm run package). */
  rules: Rule[];
  selfPersonIds: number[];
  maxMessageBytes: number;
  enqueueTimeoutMs: number;
  /** How long the tokens (and edge secret) read from SSM are kept before a background reload. */
  secretMaxAgeMs: number;
  region: string;
  /** Endpoint overrides (the AWS SDK's standard variables); set only locally and in tests. */
  ssmEndpoint?: string;
  sqsEndpoint?: string;
}

/** Reads and checks the receiver's configuration once, at cold start. */
export function receiverConfig(env: NodeJS.ProcessEnv, root?: string): ReceiverConfig {
  const c = readConfig(ReceiverEnv, env, 'receiver configuration', root);
  // The stack always sets it; the deploy-time default (echo) must not quietly apply to a receiver it did not configure.
  if (!env.ENABLED_ACTIONS?.trim() || c.ENABLED_ACTIONS.length === 0) throw new ConfigError('ENABLED_ACTIONS: list at least one action, e.g. restart-host,enrich');
  const queues = new Map<string, string>();
  for (const action of c.ENABLED_ACTIONS) {
    if (!ACTION_NAME_PATTERN.test(action)) throw new ConfigError(`ENABLED_ACTIONS: "${action}" is not a valid action name`);
    const url = env[queueUrlVariable(action)]?.trim();
    if (!url) throw new ConfigError(`${queueUrlVariable(action)}: missing; every enabled action needs its queue URL`);
    queues.set(action, url);
  }
  checkRules(c.EVENT_RULES, c.ENABLED_ACTIONS, c.EVENT_SELF_PERSON_IDS);
  const secret = c.WEBHOOK_TOKENS;
  const tokens = secret.parameter ? { parameter: secret.parameter } : { inline: inlineSecret(secret) ?? '' };
  const edge = c.EDGE_SECRET;
  const edgeSecret = edge ? (edge.parameter ? { parameter: edge.parameter } : { inline: inlineSecret(edge) ?? '' }) : undefined;
  return {
    queues,
    allowedIps: c.ALLOWED_IPS,
    tokens,
    edgeSecret,
    maxEventAgeMs: c.MAX_EVENT_AGE_SECONDS * 1000,
    rules: c.EVENT_RULES,
    selfPersonIds: c.EVENT_SELF_PERSON_IDS,
    maxMessageBytes: c.MAX_MESSAGE_BYTES,
    enqueueTimeoutMs: c.ENQUEUE_TIMEOUT_MS,
    secretMaxAgeMs: c.SECRET_MAX_AGE_SECONDS * 1000,
    region: c.AWS_REGION ?? 'us-east-1',
    ssmEndpoint: c.AWS_ENDPOINT_URL_SSM,
    sqsEndpoint: c.AWS_ENDPOINT_URL_SQS,
  };
}
