/**
 * Drain: a burst of clicks over many incidents through the whole local stack (receiver, SQS
 * emulator, WORKER_MAX_CONCURRENCY echo worker instances, DynamoDB emulator, stand-in FlashDuty),
 * timed from the first click sent to the last write-back. Every click must be written back exactly
 * once: comments are counted per event id. FlashDuty's rate limits are lifted here, so this measures
 * the stack; deployed, 1,000 write-backs a minute is FlashDuty's ceiling (README "Storms").
 */
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import sample from '../../tests/fixtures/custom-action.json';
import { stackSettings } from '../../deploy/stack';

/** Longest wait for the last write-back; what has not arrived by then counts as lost. */
const DRAIN_TIMEOUT_MS = 240_000;

export async function drain(clicks: number, incidents: number, token: string) {
  const { startLocalStack } = await import('../../deploy/local');
  const env = { ENABLED_ACTIONS: 'echo', WEBHOOK_TOKENS: token, ALLOWED_IPS: '127.0.0.1,::1', DRY_RUN: 'true', FLASHDUTY_RATE_PER_SECOND: '100000', FLASHDUTY_RATE_PER_MINUTE: '6000000' };
  const instances = stackSettings(env, 'local').workerMaxConcurrency;
  const stack = await startLocalStack({ env, port: 0, workerInstances: instances });
  const run = randomUUID().slice(0, 8);
  const ids = Array.from({ length: clicks }, (_, i) => `drain-${run}-${i}`);
  const pending = new Set(ids);
  let lastWriteBack = 0;
  let allWritten: () => void = () => undefined;
  const written = new Promise<void>((resolve) => (allWritten = resolve));
  stack.flashduty!.onCall = (call) => {
    const id = /event (drain-\S+)$/.exec(String(call.body.comment ?? ''))?.[1];
    if (id && call.status === 200 && pending.delete(id)) lastWriteBack = performance.now();
    if (pending.size === 0) allWritten();
  };
  try {
    const started = performance.now();
    const refused = await sendAll(stack.receiverUrl, ids, incidents, token);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([written, new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)))]);
    clearTimeout(timer);
    const seconds = ((pending.size === 0 ? lastWriteBack : performance.now()) - started) / 1000;
    await waitForEmpty(stack);
    const counts = new Map<string, number>();
    for (const comment of stack.flashduty!.comments()) {
      const id = /event (drain-\S+)$/.exec(comment)?.[1];
      if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const lost = ids.filter((id) => !counts.has(id)).length;
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    return { clicks, incidents, instances, seconds, perSecond: clicks / seconds, lost, duplicated, refused };
  } finally {
    await stack.stop();
  }
}

/** Sends every click (50 at a time, as a storm of responders would), over `incidents` incidents; returns how many were not answered 200. */
async function sendAll(receiverUrl: string, ids: string[], incidents: number, token: string): Promise<number> {
  let next = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < ids.length) {
        const i = next++;
        const incident = { ...sample.incident, incident_id: `5709${(i % incidents).toString(16).padStart(20, '0')}` };
        const response = await fetch(`${receiverUrl}/actions/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ ...sample, incident, event_id: ids[i], event_time: Date.now() }),
        });
        await response.text();
        if (response.status !== 200) refused++;
      }
    }),
  );
  return refused;
}

/** Waits (up to 30 s) until the queue holds nothing, so a late duplicate would still be counted. */
async function waitForEmpty(stack: Awaited<ReturnType<typeof import('../../deploy/local').startLocalStack>>): Promise<void> {
  const queue = stack.queues.get('echo')!;
  for (let waited = 0; waited < 30_000; waited += 200) {
    const { Attributes = {} } = await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    if (Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
