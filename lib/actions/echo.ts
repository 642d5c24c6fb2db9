import * as v from 'valibot';
import { defineAction } from './types';

/**
 * A harmless action that changes nothing and reports the click back to the incident. Enable it
 * first to prove the wiring (FlashDuty -> receiver -> queue -> worker -> comment) end to end.
 */
export const echo = defineAction({
  name: 'echo',
  description: 'Writes the click back to the incident; changes nothing.',
  sideEffects: false,
  config: v.object({}),
  async run({ message }) {
    const { payload } = message;
    const alerts = payload.incident.alerts?.length ?? 0;
    return {
      status: 'succeeded',
      summary: payload.incident.title === undefined ? 'received the click (the push carried no incident title)' : `received the click on "${payload.incident.title}"`,
      facts: [
        ['incident', payload.incident.incident_id],
        ['alerts in payload', String(alerts)],
      ],
    };
  },
});
