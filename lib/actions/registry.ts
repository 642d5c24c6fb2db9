import { echo } from './echo';
import { notYetImplemented } from './not-yet';
import { restartHost } from './restart-host';
import { rollback } from './rollback';
import type { Action } from './types';

/** Every action this bundle knows. To add one: write its module, add one line here. */
export const ACTIONS: ReadonlyArray<Action<any>> = [
  echo,
  restartHost,
  notYetImplemented('enrich', 'Adds traces, logs and topology to the incident.'),
  rollback,
  notYetImplemented('status-page', 'Opens or updates a FlashDuty status page event for the incident.'),
];
