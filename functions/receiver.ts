/**
 * Receiver Lambda: API Gateway HTTP API `POST /actions/{action}`. Verifies the caller, validates
 * the FlashDuty push, puts it on the action's FIFO queue and answers inside the 1 s deadline.
 */
import { receiverConfig } from '../lib/config/receiver';
import { makeReceiver } from '../lib/receiver/handler';
import { receiverDeps } from '../lib/receiver/wiring';

export const handler = makeReceiver(receiverDeps(receiverConfig(process.env)));
