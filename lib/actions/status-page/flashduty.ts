import { type FlashDutyApi, FlashDutyError } from '../../flashduty/client';
import { truncate } from '../../text';
import { type ComponentChange, type Opening, type Prepared, type Provider, ProviderError, type PublicEvent, type Update } from './provider';

const TITLE_MAX = 255;

/**
 * FlashDuty Status Page through the Open API: `/status-page/change/create` opens the event with its
 * first update; every later status goes through `/status-page/change/timeline/create` (the update
 * endpoint cannot change status). The list endpoints are newer than the documented spec, so their
 * answers are read loosely.
 */
export function flashdutyProvider(api: FlashDutyApi, pageId: string, signal: AbortSignal): Provider {
  if (!/^\d{1,18}$/.test(pageId)) throw new ProviderError(`STATUS_PAGE_ID "${pageId}" is not a FlashDuty page id (digits)`);
  const page_id = Number(pageId);
  const write = (path: string, body: object) => guarded(() => api.callOnce(path, body, signal));
  /** The page's unresolved incident events. */
  const active = async () => {
    const data = (await guarded(() => api.get('/status-page/change/active/list', { page_id: pageId, type: 'incident' }, signal))) as { items?: unknown } | null;
    return Array.isArray(data?.items) ? (data.items as Array<Record<string, unknown>>) : [];
  };
  return {
    async components() {
      const data = (await guarded(() => api.get('/status-page/list', {}, signal))) as { items?: unknown } | null;
      const pages = Array.isArray(data?.items) ? (data.items as Array<Record<string, unknown>>) : [];
      const page = pages.find((p) => String(p.page_id) === pageId);
      if (!page) {
        const known = pages.map((p) => `${String(p.name ?? '?')} (${String(p.page_id)})`).join(', ') || 'none';
        throw new ProviderError(`status page ${pageId} is not on this FlashDuty account; pages: ${known}`);
      }
      const components = Array.isArray(page.components) ? (page.components as Array<Record<string, unknown>>) : [];
      return components.filter((c) => typeof c.component_id === 'string').map((c) => ({ id: c.component_id as string, name: String(c.name ?? '') }));
    },
    async findOpen(marker) {
      const found = (await active()).find((item) => [item.title, item.description].some((text) => typeof text === 'string' && text.includes(marker)));
      if (!found || found.change_id === undefined || found.change_id === null) return undefined;
      return { id: String(found.change_id), ...(typeof found.status === 'string' && { status: found.status }) };
    },
    async findUpdate(eventId) {
      // The active list shows an event's own title, description and status, not its updates, and no
      // other endpoint lists them: an open event's update cannot be looked for.
      return (await active()).some((item) => String(item.change_id) === eventId) ? 'cannot-look' : 'closed';
    },
    create: (opening) => createRequest(page_id, opening, write),
    update: (eventId, update) => updateRequest(page_id, eventId, update, write),
  };
}

type Write = (path: string, body: object) => Promise<unknown>;

/** A 200 without a change_id is an accepted create that named no event: undefined, for the action to look for it. */
function createRequest(page_id: number, opening: Opening, write: Write): Prepared<PublicEvent | undefined> {
  const body = {
    page_id,
    type: 'incident',
    title: truncate(opening.title, TITLE_MAX),
    description: `${opening.message}\n\n${opening.marker}`,
    status: opening.status,
    notify_subscribers: opening.notify,
    updates: [{ status: opening.status, description: opening.message, component_changes: changes(opening.components) }],
  };
  return {
    describe: `POST /status-page/change/create ${JSON.stringify(body)}`,
    send: async () => {
      const data = (await write('/status-page/change/create', body)) as { change_id?: unknown } | null;
      return data?.change_id === undefined || data.change_id === null ? undefined : { id: String(data.change_id) };
    },
  };
}

/** The click's marker is not put in the public text: no endpoint would show it back (findUpdate). */
function updateRequest(page_id: number, eventId: string, update: Update, write: Write): Prepared<void> {
  const body = {
    page_id,
    change_id: Number(eventId),
    status: update.status,
    description: update.message,
    ...(update.components.length > 0 && { component_changes: changes(update.components) }),
  };
  return {
    describe: `POST /status-page/change/timeline/create ${JSON.stringify(body)}`,
    send: async () => {
      await write('/status-page/change/timeline/create', body);
    },
  };
}

const changes = (components: ComponentChange[]) => components.map((c) => ({ component_id: c.id, status: c.status }));

/** FlashDuty errors a retry cannot fix become ProviderErrors; the rest are thrown on for a retry. */
async function guarded(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof FlashDutyError && !error.retryable) throw new ProviderError(`FlashDuty refused it: ${error.message}`);
    throw error;
  }
}
