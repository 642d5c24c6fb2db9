import type * as v from 'valibot';
import type { SecretRef } from '../schema/secret';
import type { FlashDutyApi } from '../flashduty/client';
import type { HttpClient } from '../http/outbound';
import type { Log } from '../observability';
import type { QueueMessage } from '../queue/envelope';

/** How a run ended. Every run ends in exactly one comment on the incident built from this. */
export interface Outcome {
  /** `skipped`: not run, because the same action just ran (or is running) on the incident. */
  status: 'succeeded' | 'failed' | 'dry-run' | 'skipped';
  /** One sentence: what happened, or what would have happened. */
  summary: string;
  /** Key facts for responders, in order: targets, ids, statuses. */
  facts?: Array<[label: string, value: string]>;
  links?: Array<{ label: string; url: string }>;
  /** Set on a refusal before anything outside was touched ("nothing was restarted"): the run gives back its place in the hour's run budget. */
  untouched?: true;
}

/** Where an action's AWS SDK clients point: the region, and endpoint overrides (local stack, tests). */
export interface AwsSettings {
  region: string;
  endpoints: { ssm?: string; sqs?: string; dynamodb?: string };
}

export interface ActionContext<Config> {
  /** This action's settings, validated at cold start. */
  config: Config;
  /** The click: event id, and FlashDuty's payload (incident, person). */
  message: QueueMessage;
  /** When true, change nothing outside FlashDuty: describe the exact request instead. */
  dryRun: boolean;
  log: Log;
  flashduty: FlashDutyApi;
  /** Aborts shortly before the worker's own timeout. */
  signal: AbortSignal;
  aws: AwsSettings;
  /**
   * Outbound HTTP bound to `signal` (lib/http/outbound.ts): timeouts, size cap, safe retries,
   * secrets redacted. Optional until the worker passes `makeHttp({ signal, log })`; until then use
   * `ctx.http ?? makeHttp({ signal: ctx.signal, log: ctx.log })`.
   */
  http?: HttpClient;
  /**
   * The value of a secret from this action's config: a `secretVar` key (`config.GITHUB_TOKEN`) or a
   * `secretRef()` inside structured config. Read from SSM at first use and cached for
   * SECRET_MAX_AGE_SECONDS. Never log it or put it in an outcome.
   */
  secret: (ref: SecretRef) => Promise<string>;
  /**
   * Runs `fn` holding the lock `key` across all workers (e.g. one host), waiting up to
   * `waitSeconds` for it; throws a retryable BusyError if it stays taken.
   */
  exclusive: <T>(key: string, fn: () => Promise<T>, options?: { waitSeconds?: number; holdSeconds?: number }) => Promise<T>;
  /**
   * Durable notes for this action (DynamoDB, kept 14 days): write down an outside side effect
   * (a dispatched run, a created page event) the moment it happens, and look for it first, so a
   * run repeated after a crash or a lost answer reports what was done instead of doing it again.
   * Keys are the action's own; include the event id for per-click notes.
   */
  memory: Memory;
}

/**
 * What an action keeps across deliveries of a click (see ActionContext.memory). Declared here, with
 * the rest of what an action sees; the worker implements it on DynamoDB (lib/worker/memory.ts).
 */
export interface Memory {
  /** The value last remembered under `key` by this action, or undefined. */
  recall<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores `value` (JSON) under `key`, replacing what was there; kept as long as a click can be redriven. */
  remember(key: string, value: unknown): Promise<void>;
}

/**
 * One IAM policy statement, as CloudFormation takes it. Resource strings may use
 * `${AWS::Partition}`, `${AWS::Region}` and `${AWS::AccountId}`.
 */
export interface IamStatement {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

/**
 * An action: one module in `lib/actions/`, one line in the registry. `run` is called once per click;
 * it may be called again for the same click after a crash, so any outside side effect must carry
 * `clickKeyOf(message)` (action, incident, event id) as its idempotency key. Refusals and "nothing to do" are outcomes with
 * status `failed`; throw only for trouble worth retrying (timeouts, throttling, outages).
 */
export interface Action<Config = unknown> {
  name: string;
  /** One line for the README and the comment. */
  description: string;
  /**
   * Whether `run` changes anything outside FlashDuty (default true). An action with side effects
   * runs at most once per incident within the cool-down (COOLDOWN_SECONDS): a second click on the
   * same incident is written back as skipped instead of run again.
   */
  sideEffects?: boolean;
  /**
   * Whether that cool-down applies (default: when it has side effects). An action whose repeat is
   * harmless by design (status-page: each click moves the one public event along) turns it off.
   */
  cooldown?: boolean;
  /** Schema of this action's environment variables, read at the worker's cold start. */
  config: v.GenericSchema<unknown, Config>;
  /** A check across settings that one schema entry cannot make ("this provider needs that key"): the problem, or undefined. Run wherever `config` is read, packaging included. */
  checkConfig?: (config: Config) => string | undefined;
  /** What `npm run package` should warn about in a config that is valid but likely not meant (it does not stop the deploy). */
  configWarnings?: (config: Config) => string[];
  /** Lambda settings for this action's worker. */
  worker?: {
    timeoutSeconds?: number;
    memorySize?: number;
    /** Extra permissions beyond the shared worker ones, scoped as tightly as the config allows. */
    iam?: (config: Config) => IamStatement[];
  };
  run(context: ActionContext<Config>): Promise<Outcome>;
}

/**
 * Any action, whatever its config type: what registries and lists hold. `any`, not `unknown`: an
 * action takes its config in `run` and `iam`, so an Action<X> is not an Action<unknown>.
 */
// biome-ignore lint/suspicious/noExplicitAny: the one place an action's config type is let go (see above)
export type AnyAction = Action<any>;

/** Declares an action with its config type inferred from the schema. */
export function defineAction<Config>(action: Action<Config>): Action<Config> {
  return action;
}
