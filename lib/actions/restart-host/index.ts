import { SSMClient, type SendCommandCommandInput } from '@aws-sdk/client-ssm';
import { clickKeyOf } from '../../queue/envelope';
import { networkCause, UnderWayError } from '../../errors';
import { type ActionContext, defineAction, type AwsSettings, type Outcome } from '../types';
import { commandMarker, findSentCommand, type Invocation, outputExcerpt, type SentCommand, sendCommand, waitForCommand } from './command';
import { RestartHostConfig, renderCommand, unfillablePlaceholders } from './config';
import { labelOf, resolveTargets, type Target, withAlerts } from './targets';

const clients = new Map<string, SSMClient>();
/**
 * One SSM client per region, endpoint and retry count, created on first use and kept for the life
 * of the worker. SendCommand goes through one that never retries (`sendCommand`): a lost answer may
 * follow a command SSM ran, and the SDK would send it again.
 */
function ssmFor(aws: AwsSettings, maxAttempts = 4): SSMClient {
  const key = `${aws.region} ${aws.endpoints.ssm ?? ''} ${maxAttempts}`;
  let client = clients.get(key);
  if (!client) {
    client = new SSMClient({ region: aws.region, endpoint: aws.endpoints.ssm, maxAttempts });
    clients.set(key, client);
  }
  return client;
}

/** Worker timeout: the longest wait (90 s), the lock wait (20 s) and room to write back. */
const TIMEOUT_SECONDS = 120;

/**
 * restart-host: restart a service (or reboot) on the host behind the incident through AWS Systems
 * Manager Run Command, with guardrails: allow-tagged instances only, at most RESTART_MAX_TARGETS
 * per click, a command chosen by config with label values checked and quoted, one command per
 * click even when the click is delivered again, and one restart at a time per host.
 */
export const restartHost = defineAction({
  name: 'restart-host',
  description: 'Restarts a service or reboots the host behind the incident through AWS Systems Manager.',
  sideEffects: true,
  config: RestartHostConfig,
  configWarnings: (config) =>
    unfillablePlaceholders(config).map(
      (key) => `RESTART_COMMAND takes {${key}} from a label, but ${key === 'service' ? 'RESTART_ALLOWED_SERVICES is empty' : `RESTART_ALLOWED_VALUES has no ${key}=<glob> entry`}: every restart-host click will be refused; list the values it may take`,
    ),
  worker: {
    timeoutSeconds: TIMEOUT_SECONDS,
    iam: (config) => {
      const document = config.RESTART_DOCUMENT;
      const owner = document.startsWith('AWS-') ? '' : '${AWS::AccountId}';
      return [
        // Run the configured document only...
        { Effect: 'Allow', Action: ['ssm:SendCommand'], Resource: `arn:\${AWS::Partition}:ssm:\${AWS::Region}:${owner}:document/${document}` },
        // ...and only on instances that carry the allow tag.
        {
          Effect: 'Allow',
          Action: ['ssm:SendCommand'],
          Resource: ['arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*', 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:managed-instance/*'],
          Condition: { StringEquals: { [`ssm:resourceTag/${config.RESTART_ALLOW_TAG.key}`]: config.RESTART_ALLOW_TAG.value } },
        },
        // These three take no resource-level scope in IAM.
        { Effect: 'Allow', Action: ['ssm:DescribeInstanceInformation', 'ssm:ListCommands', 'ssm:GetCommandInvocation'], Resource: '*' },
      ];
    },
  },

  async run(ctx): Promise<Outcome> {
    const { config, message, dryRun, log } = ctx;
    const marker = commandMarker(clickKeyOf(message));
    const since = new Date(message.received_at - 60_000);
    // A delivery after this click sent its command (a retry, a redrive) goes by that command, before
    // any check: the host may be offline because it is rebooting, or its tags and labels changed.
    const earlier = dryRun ? undefined : await lookForSent(ctx, marker, since);
    if (earlier) {
      log.info('this click already sent its command; waiting for it instead of sending another', { command_id: earlier.commandId });
      const facts: Facts = [['target', earlier.instanceIds.join(', ')], ['command', earlier.command]];
      return oneAtATime(ctx, earlier.instanceIds, () => waitAndReport(ctx, earlier, earlier.instanceIds.join(', '), facts));
    }
    const checked = await checkedCommand(ctx, marker);
    if ('outcome' in checked) return checked.outcome;
    const { input, facts, described, rendered } = checked;
    if (dryRun) {
      return { status: 'dry-run', summary: `would run \`${rendered}\` on ${described} with ${config.RESTART_DOCUMENT}`, facts: [...facts, ['SendCommand input', JSON.stringify(input)]] };
    }
    return oneAtATime(ctx, input.InstanceIds!, async () => {
      const sent = await sendOnce(ctx, input, since, described);
      if ('refused' in sent) return checked.refuse(`Systems Manager refused the command for ${config.RESTART_DOCUMENT}: ${sent.refused}`);
      return waitAndReport(ctx, { commandId: sent.commandId, instanceIds: input.InstanceIds!, command: rendered }, described, facts);
    });
  },
});

type Ctx = ActionContext<RestartHostConfig>;
type Facts = Array<[string, string]>;

/**
 * The SendCommand this click would make, after every check: the target (allow-tagged, within
 * RESTART_MAX_TARGETS, online) and the command rendered from allowed label values. Or the refusal.
 */
async function checkedCommand(ctx: Ctx, marker: string): Promise<{ outcome: Outcome } | { input: SendCommandCommandInput; facts: Facts; described: string; rendered: string; refuse: (why: string) => Outcome }> {
  const { config, signal, flashduty } = ctx;
  const { incident, fetched } = await withAlerts(ctx.message.payload.incident, config.RESTART_TARGET_LABELS, flashduty, signal);
  const refuse = refusal(fetched);
  const resolution = await resolveTargets(ssmFor(ctx.aws), incident, config, signal);
  if (!resolution.ok) return { outcome: refuse(resolution.problem) };
  const { targets } = resolution;
  const described = targets.map(describeTarget).join(', ');
  if (targets.length > config.RESTART_MAX_TARGETS) {
    return { outcome: refuse(`${resolution.label}=${resolution.value} matches ${targets.length} instances (${described}), more than RESTART_MAX_TARGETS=${config.RESTART_MAX_TARGETS}`) };
  }
  const offline = targets.filter((t) => t.pingStatus !== 'Online');
  if (offline.length > 0) return { outcome: refuse(`${offline.map((t) => `${t.instanceId} is ${t.pingStatus}`).join(', ')} in SSM, so the command cannot be delivered`) };
  const rendered = renderCommand(config, (key) => labelOf(incident, key));
  if (!rendered.ok) return { outcome: refuse(rendered.problem) };
  const input: SendCommandCommandInput = {
    DocumentName: config.RESTART_DOCUMENT,
    InstanceIds: targets.map((t) => t.instanceId),
    Parameters: { commands: [rendered.command], executionTimeout: [String(config.RESTART_WAIT_SECONDS)] },
    Comment: marker,
    TimeoutSeconds: Math.max(30, config.RESTART_WAIT_SECONDS),
  };
  const facts: Facts = [
    ['target', `${described} (label ${resolution.label}=${resolution.value})`],
    ['command', rendered.command], ...(fetched === undefined ? [] : [['alerts', fetchedAlerts(fetched)] as [string, string]]),
  ];
  return { input, facts, described, rendered: rendered.command, refuse };
}

/**
 * One restart at a time per host, across every worker; sorted so two clicks never deadlock. A run
 * that throws UnderWayError (its command still running) keeps the locks until its retry, the
 * click's own, takes them back, or they expire.
 */
function oneAtATime(ctx: Ctx, instanceIds: string[], fn: () => Promise<Outcome>): Promise<Outcome> {
  const lockKeys = instanceIds.map((id) => `restart-host#${id}`).sort();
  const holding = (i: number): Promise<Outcome> => (i < lockKeys.length ? ctx.exclusive(lockKeys[i]!, () => holding(i + 1), { waitSeconds: 20, holdSeconds: TIMEOUT_SECONDS + 60 }) : fn());
  return holding(0);
}

/** Waits for the command and reports each instance's result. Once sent, a failure to see it is UnderWayError. */
async function waitAndReport(ctx: Ctx, sent: SentCommand, described: string, facts: Facts): Promise<Outcome> {
  const { commandId, instanceIds, command } = sent;
  let invocations: Invocation[];
  try {
    invocations = await waitForCommand(ssmFor(ctx.aws), commandId, instanceIds, ctx.config.RESTART_WAIT_SECONDS, ctx.signal);
  } catch (error) {
    throw new UnderWayError(`the restart was sent to ${described} (command ${commandId}: \`${command}\`)`, error);
  }
  const ok = invocations.every((inv) => inv.Status === 'Success');
  const results = invocations.map((inv) => `${inv.InstanceId}: ${inv.Status}, exit ${inv.ResponseCode}`).join('; ');
  return {
    status: ok ? 'succeeded' : 'failed',
    summary: ok ? `ran \`${command}\` on ${described}: ${results}` : `\`${command}\` did not succeed on ${described}: ${results}`,
    facts: [
      ...facts,
      ['command id', commandId],
      ...invocations.flatMap((inv): Facts => [
        [`output ${inv.InstanceId}`, outputExcerpt(inv.StandardOutputContent)],
        ...(inv.StandardErrorContent?.trim() ? [[`errors ${inv.InstanceId}`, outputExcerpt(inv.StandardErrorContent)] as [string, string]] : []),
      ]),
    ],
    links: [consoleLink(ctx.aws, commandId)],
  };
}

/** The note of a click's SendCommand in ctx.memory: written before it is sent, so a later attempt knows it may have run. */
const noteKey = (ctx: Ctx) => `send#${clickKeyOf(ctx.message)}`;
interface SendNote {
  /** The instances it went to, for the incident. */
  to: string;
}

/**
 * This click's command, if it sent one: found by its marker. When the lookup fails after an
 * attempt of this click sent (or may have sent) its command, that is UnderWayError: the restart
 * may be running, so the cool-down and the host lock stay.
 */
async function lookForSent(ctx: Ctx, marker: string, since: Date): Promise<SentCommand | undefined> {
  const note = await ctx.memory.recall<SendNote | null>(noteKey(ctx));
  try {
    return await findSentCommand(ssmFor(ctx.aws), { marker, document: ctx.config.RESTART_DOCUMENT, since }, ctx.signal);
  } catch (error) {
    if (note) throw new UnderWayError(`the restart may already have been sent to ${note.to} by an earlier attempt of this click`, error);
    throw error;
  }
}

/**
 * The command this click sent before (found by its marker: another delivery may have sent it since
 * the look in run), else a new one, through a client that never retries it. SSM refusing it (the
 * document's allowedPattern, or any 4xx such as throttling) is certain: the command did not run.
 * No answer, a timeout or a 5xx is not: SSM may have run it, so that is UnderWayError, and the
 * click's next attempt looks for the command first.
 */
async function sendOnce(ctx: Ctx, input: SendCommandCommandInput, since: Date, described: string): Promise<{ commandId: string } | { refused: string }> {
  const found = await findSentCommand(ssmFor(ctx.aws), { marker: input.Comment!, document: input.DocumentName!, since }, ctx.signal);
  if (found) {
    ctx.log.info('this click already sent its command; waiting for it instead of sending another', { command_id: found.commandId });
    return { commandId: found.commandId };
  }
  await ctx.memory.remember(noteKey(ctx), { to: described } satisfies SendNote);
  try {
    return { commandId: await sendCommand(ssmFor(ctx.aws, 1), input, ctx.signal) };
  } catch (error) {
    if (!certainlyNotSent(error)) throw new UnderWayError(`the restart may have been sent to ${described} (SendCommand got no clear answer)`, error);
    await ctx.memory.remember(noteKey(ctx), null);
    if ((error as Error).name === 'InvalidParameters') return { refused: (error as Error).message };
    throw error;
  }
}

/** Network errors that mean the request never reached SSM: no connection was made. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether a failed SendCommand certainly did not run: SSM refused it (a 4xx, throttling included),
 * no connection was made, or there were no credentials to sign it with. Anything else (a 5xx, a
 * timeout, a reset, a 2xx whose body could not be read) may follow a command SSM ran.
 */
function certainlyNotSent(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 400 && status < 500;
  return NEVER_CONNECTED.has(networkCause(error)) || (error as Error).name === 'CredentialsProviderError';
}

const fetchedAlerts = (count: number) => `the push carried none; ${count} listed by FlashDuty`;

/** A refusal's outcome (nothing was sent: it gives back its run of the budget), saying where the labels came from when the alerts had to be fetched. */
const refusal =
  (fetched: number | undefined) =>
  (summary: string): Outcome => ({ status: 'failed', summary: `${summary}${fetched === undefined ? '' : ` (alerts: ${fetchedAlerts(fetched)})`}; nothing was restarted`, untouched: true });

function describeTarget(target: Target): string {
  return target.name && target.name !== target.instanceId ? `${target.instanceId} (${target.name})` : target.instanceId;
}

/**
 * Where to see the command in the AWS console. Against an SSM endpoint override (the local stand-in
 * of `npm start`, DRY_RUN=false), no such command exists in AWS, and the link says so.
 */
function consoleLink(aws: AwsSettings, commandId: string): { label: string; url: string } {
  const url = `https://${aws.region}.console.aws.amazon.com/systems-manager/run-command/${commandId}?region=${aws.region}`;
  if (aws.endpoints.ssm) return { label: `AWS console (not in AWS: this command ran on the local stand-in ${aws.endpoints.ssm})`, url };
  return { label: 'AWS console', url };
}

