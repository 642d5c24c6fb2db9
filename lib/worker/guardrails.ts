import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { personText, runBudgetFact } from '../actions/comment';
import type { Outcome } from '../actions/types';
import type { GuardrailConfig } from '../config/guardrails';
import { describeError } from '../errors';
import { emitMetric, log } from '../observability';
import { clickKeyOf, type QueueMessage } from '../queue/envelope';
import { utc } from '../text';
import { isConditionFailed } from './lock';

const HOUR_MS = 3_600_000;
/** Writers racing for the budget item retry this often before the click is retried from the queue. */
const CONTENDED_TRIES = 8;

type Facts = Array<[string, string]>;

/** The guardrails the worker applies to every click of its action (lib/config/guardrails.ts). */
export interface Guardrails {
  /** The refusal to write back when the click's person may not run the action; undefined when they may. */
  checkPerson(message: QueueMessage): Outcome | undefined;
  /** Takes one run of the hour's budget for this click (its redeliveries take none); the refusal when it is used up. */
  spend(message: QueueMessage): Promise<Outcome | undefined>;
  /** Gives back the run this click took: the action refused it before touching anything. Never throws. */
  giveBack(message: QueueMessage): Promise<void>;
  /** For a dry run's comment: where the budget stands, without taking from it. */
  dryRunFacts(): Promise<Facts>;
}

/** A click's try at the budget: taken (now or by an earlier delivery), or refused with when it frees up. */
export type Taken = { taken: true } | { taken: false; used: number; freesAt: number };

export interface RunBudget {
  take(click: string): Promise<Taken>;
  /** Removes the click's run, if it holds one. */
  giveBack(click: string): Promise<void>;
  /** Runs in the last hour, and when the budget frees up if it is used up now. */
  look(): Promise<{ used: number; freesAt?: number }>;
}

/** Builds the worker's guardrails; `budget` is undefined when `<ACTION>_MAX_RUNS_PER_HOUR` is 0 (unlimited). */
export function makeGuardrails(action: string, config: GuardrailConfig, budget: RunBudget | undefined): Guardrails {
  const { keys, allowedPersons, maxRunsPerHour: max } = config;
  const refused = (rule: string, summary: string, facts: Facts): Outcome => {
    log.info('a guardrail refused the click; the action was not run', { rule, summary });
    emitMetric('ActionRefused', { action, rule });
    return { status: 'failed', summary, facts };
  };
  return {
    checkPerson(message) {
      if (allowedPersons.length === 0) return undefined;
      const person = message.payload.person;
      const facts: Facts = [['rule', `${keys.allowedPersons} (${allowedPersons.length} listed)`]];
      if (!person || (person.person_id === undefined && !person.email)) {
        const summary = `the click names no person (an automatic trigger, or a push without "person"), and ${keys.allowedPersons} lets only listed people run ${action}; it was not run`;
        return refused(keys.allowedPersons, summary, facts);
      }
      if (isListed(allowedPersons, person)) return undefined;
      return refused(keys.allowedPersons, `${describePerson(person)} is not in ${keys.allowedPersons}, so ${action} was not run; ask someone listed there to click it`, facts);
    },

    async spend(message) {
      if (!budget) return undefined;
      const taken = await budget.take(clickKeyOf(message));
      if (taken.taken) return undefined;
      const summary =
        `the run budget of ${action} is used up: ${keys.maxRunsPerHour} allows ${max} run${max === 1 ? '' : 's'} in any hour across all incidents, ` +
        `and ${taken.used} started in the last hour, so it was not run; the budget frees up at ${utc(taken.freesAt)}, click again then if it is still needed`;
      return refused(keys.maxRunsPerHour, summary, [['rule', `${keys.maxRunsPerHour} = ${max}`], ['budget frees up', utc(taken.freesAt)]]);
    },

    async giveBack(message) {
      await budget?.giveBack(clickKeyOf(message)).catch((error: unknown) => log.warn('could not give back the run of a refused click; it counts until it ages out', { error: describeError(error) }));
    },

    async dryRunFacts() {
      if (!budget) return [];
      const { used, freesAt } = await budget.look();
      return [runBudgetFact(used, max, freesAt)];
    },
  };
}

/**
 * By person id, or by email in any case. An email is compared only when it looks like one, so a
 * push whose `email` is all digits can never pass for a listed person id.
 */
function isListed(allowed: string[], person: { person_id?: number; email?: string }): boolean {
  if (person.person_id !== undefined && allowed.includes(String(person.person_id))) return true;
  return person.email?.includes('@') === true && allowed.includes(person.email.trim().toLowerCase());
}

/** The person as a refusal names them, with name and email shortened for the comment (personText). */
function describePerson(person: { person_id?: number; person_name?: string; email?: string }): string {
  const also = [person.email && personText(person.email), person.person_id === undefined ? undefined : `person ${person.person_id}`].filter(Boolean).join(', ');
  return person.person_name ? `${personText(person.person_name)} (${also})` : also;
}

/**
 * A sliding-hour run budget per action, kept as one item of the idempotency table (`id` =
 * `budget#<action>`): the click key and start time of each run in the last hour. A click takes a
 * run by rewriting the item on the condition that nobody else did in between (a version number),
 * so racing workers cannot both take the last run; a click already listed (a redelivery, a retry
 * after a crash) is admitted without taking another. The item is pruned on each write and expires
 * (TTL) an hour after the last run.
 */
export function makeRunBudget(client: DynamoDBClient, tableName: string, action: string, max: number, now: () => number = Date.now): RunBudget {
  const id = { S: `budget#${action}` };

  async function read(): Promise<{ runs: Array<[string, number]>; version: number }> {
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }));
    const since = now() - HOUR_MS;
    const runs = Object.entries(Item?.runs?.M ?? {})
      .map(([click, at]): [string, number] => [click, Number(at.N)])
      .filter(([, at]) => at > since)
      .sort((a, b) => a[1] - b[1]);
    return { runs, version: Number(Item?.version?.N ?? 0) };
  }

  /** When enough of `runs` (oldest first) have aged out of the hour for one more to fit. */
  const freesAt = (runs: Array<[string, number]>) => runs[runs.length - max]![1] + HOUR_MS;

  async function write(runs: Array<[string, number]>, version: number): Promise<void> {
    const latest = runs.at(-1)?.[1] ?? now();
    const Item = {
      id,
      runs: { M: Object.fromEntries(runs.map(([click, at]) => [click, { N: String(at) }])) },
      version: { N: String(version + 1) },
      expiration: { N: String(Math.ceil((latest + HOUR_MS) / 1000) + 60) },
    };
    const condition = version === 0 ? { ConditionExpression: 'attribute_not_exists(id)' } : { ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': { N: String(version) } } };
    await client.send(new PutItemCommand({ TableName: tableName, Item, ...condition }));
  }

  const update = <T>(change: Change<T>) => updateRuns({ read, write }, action, change);

  return {
    take: (click) =>
      update<Taken>((runs) => {
        if (runs.some(([listed]) => listed === click)) return { done: { taken: true } };
        if (runs.length >= max) return { done: { taken: false, used: runs.length, freesAt: freesAt(runs) } };
        return { write: [...runs, [click, now()]], answer: { taken: true } };
      }),

    giveBack: (click) =>
      update<void>((runs) => {
        const kept = runs.filter(([listed]) => listed !== click);
        return kept.length === runs.length ? { done: undefined } : { write: kept, answer: undefined };
      }),

    async look() {
      const { runs } = await read();
      return runs.length >= max ? { used: runs.length, freesAt: freesAt(runs) } : { used: runs.length };
    },
  };
}

type Runs = Array<[click: string, at: number]>;
/** What to do with the runs read: answer at once (`done`), or write `write` (on the version read) and answer `answer`. */
type Change<T> = (runs: Runs) => { done: T } | { write: Runs; answer: T };

/**
 * Reads the runs and applies `change`. Another worker writing in between (the version moved) means
 * reading again after a short, spread-out pause; a few times, then the click is retried from the queue.
 */
async function updateRuns<T>(store: { read(): Promise<{ runs: Runs; version: number }>; write(runs: Runs, version: number): Promise<void> }, action: string, change: Change<T>): Promise<T> {
  for (let tries = 0; tries < CONTENDED_TRIES; tries++) {
    const { runs, version } = await store.read();
    const next = change(runs);
    if ('done' in next) return next.done;
    try {
      await store.write(next.write, version);
      return next.answer;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    await sleep(20 + Math.random() * 80 * (tries + 1));
  }
  throw new Error(`the run budget of ${action} stayed contended by other clicks; will retry`);
}
