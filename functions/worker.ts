/**
 * Worker Lambda, one deployed per enabled action (ACTION_NAME): takes clicks off the action's FIFO
 * queue, runs the action once per click and writes the result onto the incident. Each worker's
 * bundle holds only its own action: deploy/worker-bundle.cjs builds this file per action module.
 */
import { ACTIONS } from '../lib/actions/registry';
import { workerConfig } from '../lib/config/worker';
import { makeWorker } from '../lib/worker/handler';
import { workerDeps } from '../lib/worker/wiring';

export const handler = makeWorker(workerDeps(workerConfig(process.env, ACTIONS)));
