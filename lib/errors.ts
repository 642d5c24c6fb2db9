/** Typed errors shared across the project. Each has a stable `name` so catch blocks can narrow. */

/** Configuration is missing or malformed. Raised at cold start so a bad deploy fails before any request. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Input from outside (request body, queue message) does not match its schema. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

/** A dependency (queue, parameter store, FlashDuty) could not be reached in time. Safe to retry. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/**
 * Thrown by an action whose effect is under way (a command sent, a job started) when its result
 * cannot be seen yet. The worker retries as usual (the action then finds its effect, not starting
 * another), keeps the click's locks and cool-down meanwhile, and when the retries run out tells the
 * incident what was started rather than that the action failed. `started` says what, for the incident.
 */
export class UnderWayError extends Error {
  override readonly name = 'UnderWayError';
  constructor(
    readonly started: string,
    cause: unknown,
  ) {
    super(`${started}; its result could not be seen: ${describeError(cause)}`, { cause });
  }
}

/** Narrows an unknown thrown value to a message that is safe to log (no stack, no request data). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * The first `code` along an error's cause chain (undici nests it, sometimes in an AggregateError).
 * Duck-typed: errors from Node's internals may come from another realm than this code's `Error`.
 */
export function networkCause(error: unknown): string {
  type Link = { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown; message?: unknown };
  let current = error as Link | undefined;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    if (typeof current.code === 'string' && current.code !== '') return current.code;
    const nested = Array.isArray(current.errors) ? (current.errors[0] as Link) : undefined;
    if (current.cause === undefined && nested === undefined) break;
    current = (current.cause as Link | undefined) ?? nested;
  }
  const last = current !== null && typeof current === 'object' ? current : (error as Link);
  return typeof last?.message === 'string' ? `${String(last.name ?? 'Error')}: ${last.message}` : String(error);
}
