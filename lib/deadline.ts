/**
 * Deadlines that travel as AbortSignals. A plain `AbortSignal.timeout` cannot say how much time is
 * left, and a caller that sleeps (a Retry-After, a backoff) must know that to never sleep past it.
 */
const deadlines = new WeakMap<AbortSignal, number>();

/** A signal that aborts at `at` (ms since epoch) and remembers when, for `remainingMs`. */
export function deadlineSignal(at: number): AbortSignal {
  const signal = AbortSignal.timeout(Math.max(0, Math.round(at - Date.now())));
  deadlines.set(signal, at);
  return signal;
}

/** Milliseconds left before `signal` aborts: 0 once aborted, Infinity when it has no known deadline. */
export function remainingMs(signal: AbortSignal | undefined): number {
  if (!signal) return Infinity;
  if (signal.aborted) return 0;
  const at = deadlines.get(signal);
  return at === undefined ? Infinity : Math.max(0, at - Date.now());
}
