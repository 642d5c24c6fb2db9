import { type HttpClient, OutboundError, type OutboundRequest, secret } from '../../http/outbound';
import type { ComponentChange, Opening, Prepared, Provider, PublicEvent, Update } from './provider';
import { ProviderError } from './provider';

/** Statuspage names two component statuses differently. */
const STATUSPAGE_WORDS: Record<string, string> = { degraded: 'degraded_performance', full_outage: 'major_outage' };

/**
 * Atlassian Statuspage: `POST /v1/pages/{page}/incidents` opens the incident, `PATCH
 * /v1/pages/{page}/incidents/{id}` moves it along; `Authorization: OAuth <key>`.
 */
export function statuspageProvider(http: HttpClient, apiUrl: string, pageId: string, apiKey: string): Provider {
  if (!/^[A-Za-z0-9]{1,64}$/.test(pageId)) throw new ProviderError(`STATUS_PAGE_ID "${pageId}" is not a Statuspage page id (letters and digits)`);
  const base = `${apiUrl}/v1/pages/${pageId}`;
  const headers = { authorization: secret(`OAuth ${apiKey}`), accept: 'application/json' };
  const json = async <T>(request: OutboundRequest): Promise<T> => {
    try {
      return await http.json<T>(request);
    } catch (error) {
      if (error instanceof OutboundError && !error.retryable) throw new ProviderError(`Statuspage refused it: ${error.message}`);
      throw error;
    }
  };
  const prepared = <T>(request: OutboundRequest, then: (answer: unknown) => T): Prepared<T> => ({
    describe: http.describe(request),
    send: async () => then(await json(request)),
  });
  return {
    async components() {
      const list = await json<unknown>({ url: `${base}/components`, headers });
      return (Array.isArray(list) ? (list as Array<Record<string, unknown>>) : []).filter((c) => typeof c.id === 'string').map((c) => ({ id: c.id as string, name: String(c.name ?? '') }));
    },
    async findOpen(marker) {
      const list = await json<unknown>({ url: `${base}/incidents/unresolved`, headers });
      const items = Array.isArray(list) ? (list as Array<Record<string, unknown>>) : [];
      const carries = (incident: Record<string, unknown>) =>
        [incident.name, ...(Array.isArray(incident.incident_updates) ? incident.incident_updates.map((u: { body?: unknown }) => u?.body) : [])].some(
          (text) => typeof text === 'string' && text.includes(marker),
        );
      const found = items.find(carries);
      const event = found && eventOf(found);
      return event && { ...event, ...(typeof found.status === 'string' && { status: found.status }) };
    },
    create(opening: Opening): Prepared<PublicEvent> {
      const incident = { name: opening.title, ...fields(opening), body: `${opening.message}\n\n${opening.marker}` };
      return prepared({ method: 'POST', url: `${base}/incidents`, headers, json: { incident } }, (answer) => {
        const event = eventOf(answer);
        if (!event) throw new ProviderError('Statuspage answered the create without an incident id');
        return event;
      });
    },
    update(eventId: string, update: Update): Prepared<void> {
      const request: OutboundRequest = { method: 'PATCH', url: `${base}/incidents/${encodeURIComponent(eventId)}`, headers, json: { incident: fields(update) } };
      return prepared(request, () => undefined);
    },
  };
}

function fields(update: Update) {
  return {
    status: update.status,
    body: update.message,
    deliver_notifications: update.notify,
    ...(update.components.length > 0 && {
      component_ids: update.components.map((c) => c.id),
      components: Object.fromEntries(update.components.map((c: ComponentChange) => [c.id, STATUSPAGE_WORDS[c.status] ?? c.status])),
    }),
  };
}

function eventOf(answer: unknown): PublicEvent | undefined {
  const incident = answer as { id?: unknown; shortlink?: unknown } | null;
  if (typeof incident?.id !== 'string') return undefined;
  return { id: incident.id, ...(typeof incident.shortlink === 'string' && { url: incident.shortlink }) };
}
