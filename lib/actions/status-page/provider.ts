import { createHash } from 'node:crypto';
import type { ComponentStatus, EventStatus } from './config';

/** One component's new status in an update. */
export interface ComponentChange {
  id: string;
  status: ComponentStatus | 'operational';
}

/** What a click publishes: the public text, the status, and the component changes. */
export interface Update {
  status: EventStatus;
  message: string;
  components: ComponentChange[];
  notify: boolean;
}

/** The first update of a new public event, with its title and the marker that finds it again. */
export interface Opening extends Update {
  title: string;
  /** Carries the incident id; a retried create finds the event by it instead of creating another. */
  marker: string;
}

export interface PublicEvent {
  id: string;
  url?: string;
  /** Its current status, when the provider said (open events found by their marker). */
  status?: string;
}

/** A write ready to go: what it will send (for dry-run), and sending it. */
export interface Prepared<T> {
  describe: string;
  send: () => Promise<T>;
}

/**
 * What the page shows of an update whose answer was lost: `found` (the update carrying the click's
 * marker is there), `missing` (the event is open and has no such update), `closed` (the event is no
 * longer among the open ones), or `cannot-look` (the event is open, but its updates cannot be listed).
 */
export type UpdateSeen = 'found' | 'missing' | 'closed' | 'cannot-look';

/**
 * A status page provider. Reads may be retried; `create` and `update` are sent once (neither API
 * dedupes them): a lost answer is an error, the run is retried, and the retry looks for what the
 * lost write did (`findOpen`, `findUpdate`) before sending it again.
 */
export interface Provider {
  /** Every component on the page, to resolve names to ids. */
  components(): Promise<Array<{ id: string; name: string }>>;
  /** An unresolved event on the page carrying `marker`, if one exists. */
  findOpen(marker: string): Promise<PublicEvent | undefined>;
  /** What the page shows of the update sent to event `eventId` with `marker` (see UpdateSeen). */
  findUpdate(eventId: string, marker: string): Promise<UpdateSeen>;
  /** Undefined: the provider accepted the create but its answer named no event (it may well exist). */
  create(opening: Opening): Prepared<PublicEvent | undefined>;
  /** `marker` names the click; a provider whose updates can be listed keeps it in the update for `findUpdate`. */
  update(eventId: string, update: Update, marker: string): Prepared<void>;
}

/**
 * The provider refused the request for a reason a retry will not fix (bad page id, unknown
 * component, permission): the click ends in a failed outcome with this message instead of retrying.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

/**
 * A marker for the public text: a new event's description carries its incident id's (`findOpen`
 * matches it), a Statuspage update its click's (`findUpdate`). A hash, so the public text shows no
 * internal id; 12 hex digits will not collide among a page's open events.
 */
export const markerFor = (key: string): string => `(ref ${createHash('sha256').update(key).digest('hex').slice(0, 12)})`;
