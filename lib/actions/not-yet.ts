import * as v from 'valibot';
import { type Action, defineAction } from './types';

/**
 * An action that is wired to the queue and the write-back but does not do its work yet. It refuses
 * clearly: the click gets a failed outcome on the incident, never a silent success.
 */
export function notYetImplemented(name: string, description: string): Action<Record<string, never>> {
  return defineAction({
    name,
    description,
    sideEffects: false,
    config: v.object({}) as v.GenericSchema<unknown, Record<string, never>>,
    async run() {
      return {
        status: 'failed',
        summary: `${name} is not implemented yet in this version of flashduty-actions; nothing was changed`,
      };
    },
  });
}
