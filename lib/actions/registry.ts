import { echo } from './echo';
import { enrich } from './enrich';
import { notYetImplemented } from './not-yet';
import { restartHost } from './restart-host';
import type { Action } from './types';

/** Every action this bundle knows. To add one: write its module, add one line here. */
export const ACTIONS: ReadonlyArray<Action<any>> = [
  echo,
  restartHost,
  enrich,
  notYetImplemented('rollback', 'Rolls back the change behind the incident through the deploy platform.'),
  notYetImplemented('status-page', 'Opens or updates a FlashDuty status page event for the incident.'),
];
