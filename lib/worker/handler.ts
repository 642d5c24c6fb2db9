import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Action, AwsSettings, Memory, Outcome } from '../actions/types';
import type { SecretReader } from '../aws/secrets';
import { describeError, UnderWayError, ValidationError } from '../errors';
import { deadlineSignal, remainingMs } from '../deadline';
import { type CommentOptions, type FlashDutyApi, withDeadline } from '../flashduty/client';
import { INCIDENT_ID_PATTERN } from '../flashduty/facts';
import { emitMetric, log, type Log, withCorrelation } from '../observability';
import { clickKeyOf, decodeQueueMessage, type QueueMessage } from '../queue/envelope';
import { LOG_MESSAGES } from '../telemetry-names';
import { raisedByOurWrites } from '../triggers/rules';
import { commentMarker, formatComment, unreadableComment } from '../actions/comment';
import { type Cooldown, skippedOutcome } from './cooldown';
import type { Guardrails } from './guardrails';
import type { Exclusive } from './lock';
import { wasReplayed } from './once';

/** What the worker does to its own queue: acknowledge early, or push a retry into the future. */
export interface QueueControl {
  acknowledge(receiptHandle: string): Promise<void>;
  retryAfter(receiptHandle: string, seconds: number): Promise<void>;
}

/** Makes a step happen at most once per event id (see once.ts); `register` feeds it the Lambda deadline. */
export interface Once {
  step<Args extends [QueueMessage, ...unknown[]], R>(name: string, fn: (...args: Args) => Promise<R>): (...args: Args) => Promise<R>;
  registerContext(context: Context): void;
}

export interface WorkerDeps {
  action: Action<unknown>;
  aws: AwsSettings;
  /** Locks owned by one click (its click key: action, incident, event id). */
  exclusiveFor: (owner: string) => Exclusive;
  /** The action's durable notes (memory.ts). */
  memory: Memory;
  actionConfig: unknown;
  /** Resolves a secret declared with secretVar or secretRef (SSM, cached with an expiry). */
  secret: SecretReader;
  dryRun: boolean;
  /** Per incident and action, for actions with side effects; undefined when COOLDOWN_SECONDS is 0. */
  cooldown: Cooldown | undefined;
  cooldownSeconds: number;
  /** Per incident and rule, for runs rules on self-raised event types start (loopGuard). */
  loops: Cooldown;
  /** Who may click the action, and its run budget across incidents (guardrails.ts). */
  guardrails: Guardrails;
  maxReceiveCount: number;
  retryBaseSeconds: number;
  flashduty: FlashDutyApi;
  queue: QueueControl;
  once: Once;
}

/** Lambda's longest timeout (15 min). */
const LAMBDA_MAX_MS = 900_000;
/** SQS allows a message to stay invisible for at most 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;
/** Time kept back from the Lambda deadline: the action stops this early, to leave time to write back. */
const WRITE_BACK_MARGIN_MS = 3000;
/** ...and the write-back stops this early, to leave time to report the batch. */
const REPORT_MARGIN_MS = 1000;

/** How long a claim taken before a run must hold to cover it: as long as this invocation may still last. */
const runHoldSeconds = (signal: AbortSignal) => Math.min(remainingMs(signal) + WRITE_BACK_MARGIN_MS, LAMBDA_MAX_MS) / 1000;

/**
 * Two deadlines per record, taken from what is left of the invocation: one for the action, and a
 * later one for writing back, so a FlashDuty that never answers cannot keep the record busy past
 * the Lambda timeout (where the failure comment would be lost with the invocation).
 */
function deadlinesFor(context: Context): { action: AbortSignal; writeBack: AbortSignal } {
  const left = context.getRemainingTimeInMillis();
  const end = Date.now() + left;
  return {
    action: deadlineSignal(end - Math.min(WRITE_BACK_MARGIN_MS, left / 2)),
    writeBack: deadlineSignal(end - Math.min(REPORT_MARGIN_MS, left / 4)),
  };
}

/**
 * The worker for one action: for each SQS record, run the action once per click, write exactly one
 * comment on the incident, and acknowledge. Records fail one by one (partial batch response), FIFO
 * order is kept within an incident, and a failed record is retried later with a growing delay. On
 * the last delivery before the DLQ, the incident is told the click failed.
 */
export function makeWorker(deps: WorkerDeps) {
  const worker = workerSteps(deps);
  return async function handle(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    deps.once.registerContext(context);
    const processor = new SqsFifoPartialProcessorAsync();
    const processed = new Set<string>();
    const handleRecord = (record: SQSRecord) => {
      processed.add(record.messageId);
      return processRecord(worker, record, context);
    };
    const response = await processPartialResponse(event, handleRecord, processor, { context, skipGroupOnError: true, throwOnFullBatchFailure: false });
    const skipped = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier).filter((id) => !processed.has(id)));
    for (const record of event.Records) if (skipped.has(record.messageId)) await heldBehind(worker, record, context);
    return response;
  };
}

/**
 * A record skipped because one before it on the same incident failed (FIFO order: Powertools'
 * skipGroupOnError). Its receive count rises with the one it waits behind, so when this was its
 * last delivery it goes to the DLQ without having run: the incident is told, as for a failure.
 */
async function heldBehind(worker: Worker, record: SQSRecord, context: Context): Promise<void> {
  const { deps } = worker;
  if (Number(record.attributes.ApproximateReceiveCount || '1') < deps.maxReceiveCount) return;
  let message: QueueMessage;
  try {
    message = decodeQueueMessage(record.body);
  } catch {
    return; // its own delivery says it is unreadable
  }
  await withCorrelation({ action: deps.action.name, event_id: message.event_id, incident_id: message.payload.incident.incident_id }, async () => {
    log.error('a click waiting behind a failed one on the same incident reached its last delivery without running; moving to the dead-letter queue');
    emitMetric('ActionDeadLettered', { action: deps.action.name });
    const outcome: Outcome = {
      status: 'failed',
      summary: 'not run: a click before it on this incident failed on its last attempt, and this one, waiting behind it, goes to the dead-letter queue too',
      facts: [REDRIVE_RUNS_IT],
    };
    await postFailureNotice(worker, record, message, outcome, deadlinesFor(context).writeBack);
  });
}

type WriteBack = (message: QueueMessage, text: string, options: CommentOptions) => Promise<{ commented: boolean }>;

/** One worker's dependencies and the steps it makes at most once per click (see once.ts). */
interface Worker {
  deps: WorkerDeps;
  /** The cool-down, when this action takes it (not in a dry run). */
  cooldown: Cooldown | undefined;
  run: (message: QueueMessage, extras: { log: Log; signal: AbortSignal }) => Promise<Outcome>;
  comment: WriteBack;
  failureComment: WriteBack;
}

function workerSteps(deps: WorkerDeps): Worker {
  const { action, once } = deps;
  const cooldown = !deps.dryRun && (action.cooldown ?? action.sideEffects !== false) ? deps.cooldown : undefined;
  const writeBack: WriteBack = async (message, text, options) => {
    await deps.flashduty.comment(message.payload.incident.incident_id, text, options);
    return { commented: true };
  };
  const worker: Worker = {
    deps,
    cooldown,
    run: once.step('run', (message: QueueMessage, extras: { log: Log; signal: AbortSignal }) => runAction(worker, message, extras)),
    comment: once.step('comment', writeBack),
    failureComment: once.step('failure-comment', writeBack),
  };
  return worker;
}

// A run an event rule started is held back only by runs for the same kind of event: two rules on
// one event, or a flapping severity, are; the resolve that follows an open is not.
const cooldownScope = (action: Action<unknown>, message: QueueMessage) => (message.trigger ? `${action.name}@${message.trigger.event_type}` : action.name);
const cooldownKey = (action: Action<unknown>, message: QueueMessage) => ({
  action: cooldownScope(action, message),
  incidentId: message.payload.incident.incident_id,
  eventId: message.event_id,
});

/** Runs the action for one click, unless another click on the incident holds the cool-down. */
async function runAction({ deps, cooldown }: Worker, message: QueueMessage, extras: { log: Log; signal: AbortSignal }): Promise<Outcome> {
  const { action } = deps;
  // A refused person takes neither the cool-down nor the budget; a dry run is refused the same way.
  const notAllowed = deps.guardrails.checkPerson(message);
  if (notAllowed) return notAllowed;
  const key = cooldownKey(action, message);
  if (cooldown) {
    // Held through the run (as long as this invocation may last), then for the cool-down.
    const claim = await cooldown.claim(key, runHoldSeconds(extras.signal) + deps.cooldownSeconds);
    if (claim.held) {
      log.info('another click on this incident holds the cool-down; not running the action again', { holder_event_id: claim.by.eventId });
      return skippedOutcome(action.name, claim.by, deps.cooldownSeconds, message.trigger);
    }
  }
  // After the cool-down claim, so a click skipped for another click's run does not spend a run.
  const overBudget = deps.dryRun ? undefined : await deps.guardrails.spend(message);
  if (overBudget) {
    await cooldown?.release(key);
    return overBudget;
  }
  const outcome = await action.run({
    config: deps.actionConfig,
    message,
    dryRun: deps.dryRun,
    flashduty: withDeadline(deps.flashduty, extras.signal),
    aws: deps.aws,
    secret: deps.secret,
    exclusive: deps.exclusiveFor(clickKeyOf(message)),
    memory: deps.memory,
    ...extras,
  });
  // A run that failed or refused frees the incident at once: clicking again is then deliberate.
  if (outcome.status === 'succeeded') await cooldown?.finish(key);
  else await cooldown?.release(key);
  // A refusal that touched nothing (a mislabelled incident) does not use up the hour's runs.
  if (outcome.untouched && !deps.dryRun) await deps.guardrails.giveBack(message);
  return deps.dryRun ? { ...outcome, facts: [...(outcome.facts ?? []), ...(await deps.guardrails.dryRunFacts())] } : outcome;
}

async function processRecord(worker: Worker, record: SQSRecord, context: Context): Promise<void> {
  const { action, maxReceiveCount } = worker.deps;
  const receiveCount = Number(record.attributes.ApproximateReceiveCount || '1');
  const lastAttempt = receiveCount >= maxReceiveCount;
  let message: QueueMessage;
  try {
    message = decodeQueueMessage(record.body);
    if (message.action !== action.name) throw new ValidationError(`message is for action "${message.action}", not "${action.name}"`, []);
  } catch (error) {
    await poisoned(worker.deps, record, error, lastAttempt, deadlinesFor(context).writeBack);
    throw error;
  }

  const keys = { action: action.name, event_id: message.event_id, incident_id: message.payload.incident.incident_id };
  await withCorrelation(keys, () => runRecord(worker, record, message, context, { receiveCount, lastAttempt }));
}

interface Attempt {
  receiveCount: number;
  lastAttempt: boolean;
}

async function runRecord(worker: Worker, record: SQSRecord, message: QueueMessage, context: Context, at: Attempt): Promise<void> {
  const { action, queue } = worker.deps;
  const started = performance.now();
  const deadlines = deadlinesFor(context);
  let ran: Outcome | undefined;
  try {
    const loop = await loopGuard(worker.deps, message, deadlines.action);
    if (loop.held) return;
    const outcome = await worker.run(message, { log, signal: deadlines.action });
    ran = outcome;
    if (wasReplayed(outcome)) {
      log.info('duplicate delivery: the action already ran for this event; not running it again');
    } else {
      const ms = performance.now() - started;
      log.info(LOG_MESSAGES.actionFinished, { status: outcome.status, summary: outcome.summary, duration_ms: Math.round(ms), attempt: at.receiveCount });
      emitMetric('ActionOutcome', { action: action.name, status: outcome.status });
      emitMetric('ActionDuration', { action: action.name }, ms, 'Milliseconds');
    }
    // A later delivery may follow a post whose answer was lost: look on the timeline first. Later
    // means a receive count above 1, or an action that already ran: a redriven click is a new
    // message, whose count starts again at 1.
    const options = { signal: deadlines.writeBack, marker: commentMarker(message, 'result'), checkFirst: at.receiveCount > 1 || wasReplayed(outcome) };
    const written = await worker.comment(message, formatComment(message, outcome), options);
    if (wasReplayed(written)) log.info('duplicate delivery: the result is already on the incident');
    await loop.finished?.();
    await queue.acknowledge(record.receiptHandle).catch((error: unknown) => log.warn('early acknowledge failed; the batch response will delete it', { error: describeError(error) }));
  } catch (error) {
    await failed(worker, record, message, error, { ...at, signal: deadlines.writeBack, ran });
    throw error;
  }
}

/** How long a rule on a self-raised event type stays quiet on an incident after a run there ended. */
export const LOOP_WINDOW_SECONDS = 60;

/** Events older than this are not part of a loop (each turn is raised by the comment just written): a retry or a redrive. */
const LOOP_EVENT_MAX_AGE_MS = 15 * 60_000;

/**
 * Whether this run is held back to stop a loop. A rule on an event type our own writes raise
 * (`i_comm`, `i_r_field`) runs at most once per incident until LOOP_WINDOW_SECONDS after its last
 * run there ended (`finished`, called after the write-back): with EVENT_SELF_PERSON_IDS wrong, the
 * receiver takes our comment for a person's, and each run's comment would start the next (a review
 * counted 932 in 20 s). A run held back is not written back, since that comment would start
 * another; the log line and RuleLoopStopped say so. Not held back: a redelivery of the run that
 * holds the window, an event older than LOOP_EVENT_MAX_AGE_MS, and any run when the guard's table
 * cannot be read (the run itself needs that table and will say so).
 */
async function loopGuard(deps: WorkerDeps, message: QueueMessage, signal: AbortSignal): Promise<{ held: boolean; finished?: () => Promise<void> }> {
  const { trigger } = message;
  if (!trigger || !raisedByOurWrites(trigger.event_type) || Date.now() - message.payload.event_time > LOOP_EVENT_MAX_AGE_MS) return { held: false };
  const key = { action: `${deps.action.name}@rule:${trigger.rule}`, incidentId: message.payload.incident.incident_id, eventId: message.event_id };
  const claim = await deps.loops.claim(key, runHoldSeconds(signal) + LOOP_WINDOW_SECONDS).catch((error: unknown) => {
    log.warn('could not check the rule loop guard; running the rule', { error: describeError(error) });
    return undefined;
  });
  if (!claim?.held) {
    const finished = () => deps.loops.finish(key).catch((error: unknown) => log.warn('could not start the rule loop window', { error: describeError(error) }));
    return { held: false, ...(claim && { finished }) };
  }
  log.warn(`rule "${trigger.rule}" ran on this incident less than ${LOOP_WINDOW_SECONDS} s ago on ${trigger.event_type}, which our own writes raise; not running or writing back, so our comments cannot loop (is EVENT_SELF_PERSON_IDS the app key owner's person id?)`, {
    holder_event_id: claim.by.eventId,
  });
  emitMetric('RuleLoopStopped', { action: deps.action.name });
  return { held: true };
}

/**
 * A record that threw: retry later, or on the last attempt tell the incident and let it go to the
 * DLQ. `ran` is the action's outcome when only writing it back failed: then the action did run, so
 * its cool-down stays and the incident is told what ran, not that it failed.
 */
async function failed(worker: Worker, record: SQSRecord, message: QueueMessage, error: unknown, at: Attempt & { signal: AbortSignal; ran?: Outcome }): Promise<void> {
  const { deps } = worker;
  const { receiveCount, lastAttempt, ran } = at;
  log.error(lastAttempt ? 'action failed on its last attempt; moving to the dead-letter queue' : 'action failed; will retry', {
    error: describeError(error),
    attempt: receiveCount,
    max_attempts: deps.maxReceiveCount,
    ...(ran && { action_ran: ran.status }),
  });
  if (lastAttempt) {
    emitMetric('ActionDeadLettered', { action: deps.action.name });
    // An action that ran, or whose effect is under way, keeps the cool-down: a second click would do it twice.
    if (!ran && !(error instanceof UnderWayError)) await worker.cooldown?.release(cooldownKey(deps.action, message));
    const outcome = ran ? resultNotWritten(ran, receiveCount, error) : error instanceof UnderWayError ? resultNotSeen(error, receiveCount) : gaveUp(receiveCount, error);
    await postFailureNotice(worker, record, message, outcome, at.signal);
  } else {
    emitMetric('ActionRetried', { action: deps.action.name });
  }
  await retryLater(deps, record, lastAttempt ? 0 : backoffSeconds(deps, receiveCount));
}

/** The dead-letter notice: once per queue message, not per click, so a redriven click that fails again says so again. */
async function postFailureNotice(worker: Worker, record: SQSRecord, message: QueueMessage, outcome: Outcome, signal: AbortSignal): Promise<void> {
  const options = { signal, marker: commentMarker(message, 'final-failure') };
  const delivery = { ...message, event_id: `${message.event_id}@${record.messageId}` };
  await worker.failureComment(delivery, formatComment(message, outcome, 'final-failure'), options).catch((commentError: unknown) =>
    log.error('could not write the failure to the incident', { error: describeError(commentError) }),
  );
}

const gaveUp = (attempts: number, error: unknown): Outcome => ({
  status: 'failed',
  summary: `gave up after ${attempts} attempts: ${describeError(error)}`,
  facts: [REDRIVE_RUNS_IT],
});

const REDRIVE_RUNS_IT: [string, string] = ['next step', 'the click is in the dead-letter queue; `npm run redrive` runs it again'];

const resultNotWritten = (ran: Outcome, attempts: number, error: unknown): Outcome => ({
  status: ran.status,
  summary: ran.summary,
  facts: [
    ['write-back', `this result could not be written to the incident in ${attempts} attempts: ${describeError(error)}`],
    ['next step', 'the click is in the dead-letter queue; `npm run redrive` writes the result back without running the action again'],
  ],
});

const resultNotSeen = (error: UnderWayError, attempts: number): Outcome => ({
  status: 'failed',
  summary: `${error.started}, but its result could not be seen in ${attempts} attempts: ${describeError(error.cause)}`,
  facts: [['next step', 'the click is in the dead-letter queue; `npm run redrive` looks for what was started first, and starts it again only if it is not there']],
});

/** A message no worker can read goes to the DLQ fast, and the incident is told if we can find it. */
async function poisoned(deps: WorkerDeps, record: SQSRecord, error: unknown, lastAttempt: boolean, signal: AbortSignal): Promise<void> {
  const { action } = deps;
  const incidentId = incidentIdIn(record.body);
  await withCorrelation({ action: action.name, incident_id: incidentId }, async () => {
    log.error('unreadable queue message; it will go to the dead-letter queue', { message_id: record.messageId, error: describeError(error) });
    emitMetric('PoisonMessage', { action: action.name });
    if (lastAttempt && incidentId) {
      // Its marker lets a retry after a lost answer find the comment on the timeline instead of posting it again.
      const text = unreadableComment(action.name, record.messageId, describeError(error));
      const options = { signal, marker: commentMarker({ action: action.name, event_id: record.messageId }, 'unreadable') };
      await deps.flashduty.comment(incidentId, text, options).catch((commentError: unknown) => log.error('could not write the failure to the incident', { error: describeError(commentError) }));
    }
    await retryLater(deps, record, 0);
  });
}

async function retryLater(deps: WorkerDeps, record: SQSRecord, seconds: number): Promise<void> {
  await deps.queue.retryAfter(record.receiptHandle, seconds).catch((error: unknown) =>
    log.warn('could not set the retry delay; the queue visibility timeout applies', { error: describeError(error) }),
  );
}

function backoffSeconds(deps: WorkerDeps, receiveCount: number): number {
  return Math.min(deps.retryBaseSeconds * 2 ** (receiveCount - 1), MAX_VISIBILITY_SECONDS);
}

/** The incident id in a message we could not otherwise read, if there is a valid one. */
function incidentIdIn(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { payload?: { incident?: { incident_id?: unknown } } })?.payload?.incident?.incident_id;
    return typeof id === 'string' && INCIDENT_ID_PATTERN.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
