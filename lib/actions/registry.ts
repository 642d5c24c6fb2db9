import { echo } from './echo';
import { notYetImplemented } from './not-yet';
import { restartHost } from './restart-host';
import { statusPage } from './status-page';
import type { Action } from './types';

/** Every action this bundle knows. To add one: write its module, add one line here. */
export const ACTIONS: ReadonlyArray<Action<any>> = [
  echo,
  restartHost,
  notYetImplemented('enrich', 'Adds traces, logs and topology to the incident.'),
  notYetImplemented('rollback', 'Rolls back the change behind the incident through the deploy platform.'),
  statusPage,
];
