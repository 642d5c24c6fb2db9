import { createHmac } from 'node:crypto';
import type { HttpClient, OutboundRequest } from '../../http/outbound';
import type { WebhookTarget } from './config';
import { acceptedAnswer, CannotLook, checkAnswer, type Dispatcher } from './dispatch';

const DELIVERY_HEADER = 'x-flashduty-actions-delivery';
const TIMESTAMP_HEADER = 'x-flashduty-actions-timestamp';
const SIGNATURE_HEADER = 'x-flashduty-actions-signature';

/** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the scheme the README shows receivers how to check. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Any deploy platform with an HTTP hook: the configured method and URL, the rendered JSON body,
 * the click key (clickKeyOf: action, incident, event id) in X-FlashDuty-Actions-Delivery and, with
 * a secret, a timestamped HMAC signature. We cannot look for what a lost request started, so a
 * repeated send carries the same delivery id and the receiver must dedupe on it (the README says so).
 */
export function webhookDispatcher(target: WebhookTarget, body: unknown, deliveryId: string, signingKey: string | undefined, http: HttpClient): Dispatcher {
  const text = JSON.stringify(body);
  const request = (key: string | undefined): OutboundRequest => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json', [DELIVERY_HEADER]: deliveryId };
    if (key !== undefined) Object.assign(headers, { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature(key, timestamp, text) });
    return { method: target.method, url: target.url, headers, body: text, timeoutMs: target.timeout_seconds * 1000 };
  };
  const explain = (status: number, message: string): string => {
    const said = message ? ` (${message})` : '';
    if (status === 401 || status === 403) return `${target.url} refused the request with HTTP ${status}${said}: check the shared secret and what the receiver allows`;
    if (status === 404) return `${target.url} answered 404${said}: check the URL`;
    return `${target.url} refused the request with HTTP ${status}${said}`;
  };
  return {
    facts: [
      ['webhook', `${target.method} ${target.url}`],
      ['body', text],
    ],
    describe: () => http.describe(request(signingKey === undefined ? undefined : '***')).replace(/v1=[0-9a-f]{64}/, 'v1=<signature>'),
    resendable: true,
    find: async () => new CannotLook('a webhook cannot be asked'),
    async dispatch() {
      const response = await http.request(request(signingKey));
      checkAnswer(response, `${target.method} ${target.url}`, explain);
      const answer = acceptedAnswer<{ id?: unknown; url?: unknown }>(response);
      const id = typeof answer?.id === 'string' || typeof answer?.id === 'number' ? String(answer.id) : undefined;
      const url = typeof answer?.url === 'string' && /^https?:\/\//.test(answer.url) ? answer.url : undefined;
      return { id, url, note: id || url ? undefined : `accepted with HTTP ${response.status}` };
    },
  };
}
