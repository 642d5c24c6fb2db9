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

/** Narrows an unknown thrown value to a message that is safe to log (no stack, no request data). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
