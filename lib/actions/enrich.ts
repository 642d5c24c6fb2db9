import { notYetImplemented } from './not-yet';

/** enrich: adds context to the incident. Not built yet; its worker refuses every click clearly. */
export const enrich = notYetImplemented('enrich', 'Adds traces, logs and topology to the incident.');
