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
  /** `write`: a create or update, whose 2xx answer that cannot be read is still an accepted write (undefined). */
  const json = async <T>(request: OutboundRequest, write = false): Promise<T | undefined> => {
    try {
      return await http.json<T>(request);
    } catch (error) {
      if (write && acceptedUnread(error)) return undefined;
      if (error instanceof OutboundError && !error.retryable) throw new ProviderError(`Statuspage refused it: ${error.message}`);
      throw error;
    }
  };
  const unresolved = async () => {
    const list = await json<unknown>({ url: `${base}/incidents/unresolved`, headers });
    return Array.isArray(list) ? (list as Array<Record<string, unknown>>) : [];
  };
  const prepared = <T>(request: OutboundRequest, then: (answer: unknown) => T): Prepared<T> => ({
    describe: http.describe(request),
    send: async () => then(await json(request, true)),
  });
  return {
    async components() {
      const list = await json<unknown>({ url: `${base}/components`, headers });
      return (Array.isArray(list) ? (list as Array<Record<string, unknown>>) : []).filter((c) => typeof c.id === 'string').map((c) => ({ id: c.id as string, name: String(c.name ?? '') }));
    },
    async findOpen(marker) {
      const found = (await unresolved()).find((incident) => carries([incident.name, ...updateBodies(incident)], marker));
      const event = found && eventOf(found);
      return event && { ...event, ...(typeof found.status === 'string' && { status: found.status }) };
    },
    async findUpdate(eventId, marker) {
      const incident = (await unresolved()).find((i) => i.id === eventId);
      if (!incident) return 'closed';
      return carries(updateBodies(incident), marker) ? 'found' : 'missing';
    },
    create(opening: Opening): Prepared<PublicEvent | undefined> {
      const incident = { name: opening.title, ...fields(opening), body: `${opening.message}\n\n${opening.marker}` };
      // An answer without an incident id (or one that cannot be read) is undefined: the create was accepted.
      return prepared({ method: 'POST', url: `${base}/incidents`, headers, json: { incident } }, eventOf);
    },
    update(eventId: string, update: Update, marker: string): Prepared<void> {
      // The click's marker ends the update's text, so findUpdate can tell whether a lost PATCH landed.
      const incident = { ...fields(update), body: `${update.message}\n\n${marker}` };
      const request: OutboundRequest = { method: 'PATCH', url: `${base}/incidents/${encodeURIComponent(eventId)}`, headers, json: { incident } };
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

/** The texts of an incident's updates. */
function updateBodies(incident: Record<string, unknown>): unknown[] {
  return Array.isArray(incident.incident_updates) ? incident.incident_updates.map((u: { body?: unknown }) => u?.body) : [];
}

/**
 * Statuspage carried the write out (2xx) but its answer cannot be read (not JSON, or too large): the
 * incident or its update is live and subscribers were told, so it is no refusal.
 */
function acceptedUnread(error: unknown): boolean {
  const status = error instanceof OutboundError && (error.kind === 'not-json' || error.kind === 'too-large') ? error.details.status : undefined;
  return status !== undefined && status >= 200 && status <= 299;
}

const carries = (texts: unknown[], marker: string) => texts.some((text) => typeof text === 'string' && text.includes(marker));

function eventOf(answer: unknown): PublicEvent | undefined {
  const incident = answer as { id?: unknown; shortlink?: unknown } | null;
  if (typeof incident?.id !== 'string') return undefined;
  return { id: incident.id, ...(typeof incident.shortlink === 'string' && { url: incident.shortlink }) };
}
