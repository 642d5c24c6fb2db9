import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type GetCommandInvocationCommandOutput,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';

/** Invocation statuses after which nothing more will happen. */
const FINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated', 'InvalidPlatform', 'AccessDenied']);

/**
 * The marker in a command's Comment (max 100 characters) that ties it to one click (its click key:
 * action, incident, event id), so a redelivered click finds its command instead of sending another.
 */
export function commandMarker(clickKey: string): string {
  const id = clickKey.length <= 70 ? clickKey : createHash('sha256').update(clickKey).digest('hex').slice(0, 40);
  return `flashduty-actions ${id}`;
}

/** A command this click sent: its id, the instances it went to and the shell command it ran. */
export interface SentCommand {
  commandId: string;
  instanceIds: string[];
  command: string;
}

/** The command already sent for this click since `since`, if any (newest first, paged). */
export async function findSentCommand(ssm: SSMClient, input: { marker: string; document: string; since: Date }, signal: AbortSignal): Promise<SentCommand | undefined> {
  let token: string | undefined;
  do {
    const page = await ssm.send(
      new ListCommandsCommand({
        Filters: [
          // In the form SSM's documentation gives (2024-07-07T00:00:00Z): whole seconds, rounded down.
          { key: 'InvokedAfter', value: input.since.toISOString().replace(/\.\d{3}Z$/, 'Z') },
          { key: 'DocumentName', value: input.document },
        ],
        MaxResults: 50,
        NextToken: token,
      }),
      { abortSignal: signal },
    );
    const match = page.Commands?.find((command) => command.Comment === input.marker);
    if (match?.CommandId) return { commandId: match.CommandId, instanceIds: match.InstanceIds ?? [], command: match.Parameters?.commands?.join('; ') ?? '' };
    token = page.NextToken;
  } while (token);
  return undefined;
}

/**
 * SendCommand, which has no idempotency token: `ssm` must not retry it (maxAttempts 1), since a
 * timeout, a 5xx or a lost answer may follow a command SSM carried out. Those are thrown, and the
 * worker's retry looks for the command (findSentCommand) before sending again. Only throttling,
 * which SSM answers without running anything, is tried again here.
 */
export async function sendCommand(ssm: SSMClient, input: SendCommandCommandInput, signal: AbortSignal): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { Command } = await ssm.send(new SendCommandCommand(input), { abortSignal: signal });
      if (!Command?.CommandId) throw new Error('SendCommand returned no command id');
      return Command.CommandId;
    } catch (error) {
      const throttled = (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true || (error as Error).name === 'ThrottlingException';
      if (!throttled || attempt >= SEND_ATTEMPTS) throw error;
      // Stopped while waiting to try again: what nothing was sent for is the throttling, not the abort.
      const waited = await sleep(200 * 2 ** attempt * Math.random(), true, { signal }).catch(() => false);
      if (!waited) throw error;
    }
  }
}

const SEND_ATTEMPTS = 4;

export type Invocation = Pick<GetCommandInvocationCommandOutput, 'InstanceId' | 'Status' | 'ResponseCode' | 'StandardOutputContent' | 'StandardErrorContent'>;

/**
 * Waits up to `waitSeconds` for the command to finish on every instance. Throws when it is still
 * running then, so the worker retries later (and finds the same command again).
 */
export async function waitForCommand(ssm: SSMClient, commandId: string, instanceIds: string[], waitSeconds: number, signal: AbortSignal): Promise<Invocation[]> {
  const until = Date.now() + waitSeconds * 1000;
  const results = new Map<string, Invocation>();
  for (let delay = 500; ; delay = Math.min(delay * 1.5, 3000)) {
    for (const instanceId of instanceIds.filter((id) => !results.has(id))) {
      try {
        const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }), { abortSignal: signal });
        if (FINAL.has(invocation.Status ?? '')) results.set(instanceId, invocation);
      } catch (error) {
        // Right after SendCommand the invocation may not exist yet.
        if ((error as Error).name !== 'InvocationDoesNotExist') throw error;
      }
    }
    if (results.size === instanceIds.length) return instanceIds.map((id) => results.get(id)!);
    if (Date.now() + delay > until) {
      throw new Error(`command ${commandId} was still running after ${waitSeconds} s; will check again`);
    }
    await sleep(delay, undefined, { signal });
  }
}

/** The first and last lines of a command's output, so the comment shows how it started and ended. */
export function outputExcerpt(text: string | undefined, lines = 3): string {
  const all = (text ?? '').trim().split('\n').filter(Boolean);
  if (all.length === 0) return '(no output)';
  if (all.length <= lines * 2) return all.join(' ⏎ ');
  return [...all.slice(0, lines), '…', ...all.slice(-lines)].join(' ⏎ ');
}
