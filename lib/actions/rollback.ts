import { notYetImplemented } from './not-yet';

/** rollback: undoes the change behind the incident. Not built yet; its worker refuses every click clearly. */
export const rollback = notYetImplemented('rollback', 'Rolls back the change behind the incident through the deploy platform.');
