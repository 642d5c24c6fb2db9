/**
 * Naming shared by the receiver, the workers, the deploy template and the local stack, so that all
 * four agree on which queue belongs to which action.
 */

/** `restart-host` -> `QUEUE_URL_RESTART_HOST`: where the receiver finds an action's queue. */
export function queueUrlVariable(action: string): string {
  return `QUEUE_URL_${action.toUpperCase().replace(/-/g, '_')}`;
}

/** Queue and dead-letter queue names for an action, e.g. `flashduty-actions-prod-restart-host.fifo`. */
export function queueNames(prefix: string, action: string): { queue: string; dlq: string } {
  return { queue: `${prefix}-${action}.fifo`, dlq: `${prefix}-${action}-dlq.fifo` };
}

/** Action names are URL path segments and env var suffixes: lowercase words joined by dashes. */
export const ACTION_NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
