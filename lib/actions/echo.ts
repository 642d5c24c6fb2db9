import * as v from 'valibot';
import { secretVar, stringVar } from '../schema/env';
import { jsonVar } from '../schema/structured';
import { defineAction } from './types';

/**
 * A harmless action that changes nothing and reports the click back to the incident. Enable it
 * first to prove the wiring (FlashDuty -> receiver -> queue -> worker -> comment) end to end; its
 * optional settings prove that a config file and an SSM secret reach a worker. Copy it to start a
 * new action: one line per setting in `config`.
 */
export const echo = defineAction({
  name: 'echo',
  description: 'Writes the click back to the incident; changes nothing.',
  sideEffects: false,
  config: v.object({
    ECHO_NOTE: stringVar(undefined, 'A line added to every echo comment, e.g. which stage answered.'),
    ECHO_FACTS: jsonVar(v.array(v.object({ label: v.string(), value: v.string() })), 'Extra `{label, value}` facts shown in every echo comment.', []),
    ECHO_SECRET: secretVar('A secret echo reads on every click to prove the worker can; the comment says only that it was read.'),
  }),
  async run({ message, config, secret }) {
    const { payload } = message;
    const alerts = payload.incident.alerts?.length ?? 0;
    const facts: Array<[string, string]> = [
      ['incident', payload.incident.incident_id],
      ['alerts in payload', String(alerts)],
      ...config.ECHO_FACTS.map(({ label, value }): [string, string] => [label, value]),
    ];
    if (config.ECHO_NOTE) facts.push(['note', config.ECHO_NOTE]);
    if (config.ECHO_SECRET) facts.push(['secret', `${config.ECHO_SECRET.label} read (${(await secret(config.ECHO_SECRET)) ? 'not empty' : 'empty'})`]);
    const summary = payload.incident.title === undefined ? 'received the click (the push carried no incident title)' : `received the click on "${payload.incident.title}"`;
    return { status: 'succeeded', summary, facts };
  },
});
