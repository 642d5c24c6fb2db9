import * as v from 'valibot';
import { intVar, listVar, readConfig } from '../schema/env';

/**
 * The guardrails every action gets from config, with no code in the action: who may click it
 * (`<ACTION>_ALLOWED_PERSONS`) and how many runs it may start in any hour across all incidents
 * (`<ACTION>_MAX_RUNS_PER_HOUR`). The schema is derived from the action's name, so the README's
 * reference, local.env's tail and each worker's environment list them under that action alone.
 */

/** The most runs an hour's budget may allow: each run in the last hour is one entry of one DynamoDB item (400 KB). */
const MAX_RUNS_LIMIT = 1000;

const PERSON_ID = /^\d+$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** `restart-host` -> `RESTART_HOST`: the prefix of an action's guardrail keys. */
const guardrailPrefix = (action: string) => action.toUpperCase().replace(/-/g, '_');

/** The names of an action's two guardrail keys. */
export function guardrailKeys(action: string) {
  const prefix = guardrailPrefix(action);
  return { allowedPersons: `${prefix}_ALLOWED_PERSONS`, maxRunsPerHour: `${prefix}_MAX_RUNS_PER_HOUR` };
}

const personList = (action: string) =>
  v.pipe(
    listVar([], `FlashDuty person ids or emails allowed to click ${action}; empty lets anyone. A click naming no person (an automatic trigger) is refused when set.`),
    v.check(
      (entries: string[]) => entries.every((entry) => PERSON_ID.test(entry) || EMAIL.test(entry)),
      (issue) => `expected FlashDuty person ids (digits) or emails, got ${(issue.input as string[]).filter((e) => !PERSON_ID.test(e) && !EMAIL.test(e)).map((e) => `"${e}"`).join(', ')}`,
    ),
    // Ids as strings and emails in lower case, as a click is compared.
    v.transform((entries: string[]) => entries.map((entry) => entry.toLowerCase())),
  );

const schemas = new Map<string, v.GenericSchema<unknown, Record<string, unknown>>>();

/**
 * The guardrail schema of one action. The same object each time for the same action, so the
 * config catalog sees one declaration per key (and refuses an action that declares one of these
 * keys itself).
 */
export function guardrailSchema(action: string): v.GenericSchema<unknown, Record<string, unknown>> {
  let schema = schemas.get(action);
  if (!schema) {
    const keys = guardrailKeys(action);
    schema = v.object({
      [keys.allowedPersons]: personList(action),
      [keys.maxRunsPerHour]: intVar(0, 0, MAX_RUNS_LIMIT, `Runs of ${action} allowed in any hour across all incidents (a blast-radius budget; dry runs do not count); 0 = unlimited.`),
    }) as unknown as v.GenericSchema<unknown, Record<string, unknown>>;
    schemas.set(action, schema);
  }
  return schema;
}

/** Every schema of one action's own environment: its declared config, then the platform's guardrails. */
export function actionSchemas(action: { name: string; config: unknown }): Array<[what: string, schema: unknown]> {
  return [
    [action.name, action.config],
    [action.name, guardrailSchema(action.name)],
  ];
}

export interface GuardrailConfig {
  /** Person ids and lower-case emails allowed to click; empty allows anyone. */
  allowedPersons: string[];
  /** Runs allowed in any hour across all incidents; 0 = unlimited. */
  maxRunsPerHour: number;
  /** The keys, as refusals name them. */
  keys: { allowedPersons: string; maxRunsPerHour: string };
}

/** Reads an action's guardrails at cold start; errors name the variable. */
export function guardrailConfig(action: string, env: NodeJS.ProcessEnv): GuardrailConfig {
  const keys = guardrailKeys(action);
  const read = readConfig(guardrailSchema(action), env, `${action} guardrails`);
  return { allowedPersons: read[keys.allowedPersons] as string[], maxRunsPerHour: read[keys.maxRunsPerHour] as number, keys };
}
