import { notYetImplemented } from './not-yet';

/** status-page: tells customers about the incident. Not built yet; its worker refuses every click clearly. */
export const statusPage = notYetImplemented('status-page', 'Opens or updates a FlashDuty status page event for the incident.');
