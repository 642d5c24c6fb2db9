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
 * A status page provider. Reads may be retried; `create` and `update` are sent once (neither API
 * dedupes them): a lost answer is an error, the run is retried, and the retry finds the event.
 */
export interface Provider {
  /** Every component on the page, to resolve names to ids. */
  components(): Promise<Array<{ id: string; name: string }>>;
  /** An unresolved event on the page carrying `marker`, if one exists. */
  findOpen(marker: string): Promise<PublicEvent | undefined>;
  create(opening: Opening): Prepared<PublicEvent>;
  update(eventId: string, update: Update): Prepared<void>;
}

/**
 * The provider refused the request for a reason a retry will not fix (bad page id, unknown
 * component, permission): the click ends in a failed outcome with this message instead of retrying.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

/**
 * The marker put in a new event's description; `findOpen` matches it. A hash, so the public text
 * does not show the internal incident id; 12 hex digits will not collide among a page's open events.
 */
export const markerFor = (incidentId: string): string => `(ref ${createHash('sha256').update(incidentId).digest('hex').slice(0, 12)})`;
