import { SSMClient, type SendCommandCommandInput } from '@aws-sdk/client-ssm';
import type { Log } from '../../observability';
import { clickKeyOf } from '../../queue/envelope';
import { defineAction, type AwsSettings, type Outcome } from '../types';
import { commandMarker, findSentCommand, outputExcerpt, sendCommand, waitForCommand } from './command';
import { RestartHostConfig, renderCommand } from './config';
import { labelOf, resolveTargets, type Target, withAlerts } from './targets';

const clients = new Map<string, SSMClient>();
/** One SSM client per region and endpoint, created on first use and kept for the life of the worker. */
function ssmFor(aws: AwsSettings): SSMClient {
  const key = `${aws.region} ${aws.endpoints.ssm ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    client = new SSMClient({ region: aws.region, endpoint: aws.endpoints.ssm, maxAttempts: 4 });
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

  async run({ config, message, dryRun, aws, signal, exclusive, log, flashduty }): Promise<Outcome> {
    const ssm = ssmFor(aws);
    const { incident, fetched } = await withAlerts(message.payload.incident, config.RESTART_TARGET_LABELS, flashduty, signal);
    const refuse = refusal(fetched);

    const resolution = await resolveTargets(ssm, incident, config, signal);
    if (!resolution.ok) return refuse(resolution.problem);
    const { targets } = resolution;
    const described = targets.map(describeTarget).join(', ');
    if (targets.length > config.RESTART_MAX_TARGETS) {
      return refuse(`${resolution.label}=${resolution.value} matches ${targets.length} instances (${described}), more than RESTART_MAX_TARGETS=${config.RESTART_MAX_TARGETS}`);
    }
    const offline = targets.filter((t) => t.pingStatus !== 'Online');
    if (offline.length > 0) return refuse(`${offline.map((t) => `${t.instanceId} is ${t.pingStatus}`).join(', ')} in SSM, so the command cannot be delivered`);

    const rendered = renderCommand(config, (key) => labelOf(incident, key));
    if (!rendered.ok) return refuse(rendered.problem);
    const input: SendCommandCommandInput = {
      DocumentName: config.RESTART_DOCUMENT,
      InstanceIds: targets.map((t) => t.instanceId),
      Parameters: { commands: [rendered.command], executionTimeout: [String(config.RESTART_WAIT_SECONDS)] },
      Comment: commandMarker(clickKeyOf(message)),
      TimeoutSeconds: Math.max(30, config.RESTART_WAIT_SECONDS),
    };
    const facts: Array<[string, string]> = [
      ['target', `${described} (label ${resolution.label}=${resolution.value})`],
      ['command', rendered.command], ...(fetched === undefined ? [] : [['alerts', fetchedAlerts(fetched)] as [string, string]]),
    ];
    if (dryRun) {
      return { status: 'dry-run', summary: `would run \`${rendered.command}\` on ${described} with ${config.RESTART_DOCUMENT}`, facts: [...facts, ['SendCommand input', JSON.stringify(input)]] };
    }

    // One restart at a time per host, across every worker; sorted so two clicks never deadlock.
    const lockKeys = targets.map((t) => `restart-host#${t.instanceId}`).sort();
    const holding = (i: number): Promise<Outcome> =>
      i < lockKeys.length ? exclusive(lockKeys[i]!, () => holding(i + 1), { waitSeconds: 20, holdSeconds: TIMEOUT_SECONDS + 60 }) : sendAndWait();

    const sendAndWait = async (): Promise<Outcome> => {
      const sent = await sendOnce(ssm, input, new Date(message.received_at - 60_000), signal, log);
      if ('refused' in sent) return refuse(`Systems Manager refused the command for ${config.RESTART_DOCUMENT}: ${sent.refused}`);
      const { commandId } = sent;
      const invocations = await waitForCommand(ssm, commandId, input.InstanceIds!, config.RESTART_WAIT_SECONDS, signal);
      const ok = invocations.every((inv) => inv.Status === 'Success');
      const results = invocations.map((inv) => `${inv.InstanceId}: ${inv.Status}, exit ${inv.ResponseCode}`).join('; ');
      return {
        status: ok ? 'succeeded' : 'failed',
        summary: ok ? `ran \`${rendered.command}\` on ${described}: ${results}` : `\`${rendered.command}\` did not succeed on ${described}: ${results}`,
        facts: [
          ...facts,
          ['command id', commandId],
          ...invocations.flatMap((inv): Array<[string, string]> => [
            [`output ${inv.InstanceId}`, outputExcerpt(inv.StandardOutputContent)],
            ...(inv.StandardErrorContent?.trim() ? [[`errors ${inv.InstanceId}`, outputExcerpt(inv.StandardErrorContent)] as [string, string]] : []),
          ]),
        ],
        links: [consoleLink(aws, commandId)],
      };
    };
    return holding(0);
  },
});

/**
 * The command this click sent before (found by its marker), else a new one. SSM refusing the
 * parameters (the document's allowedPattern) is final: returned, not thrown, so it is not retried.
 */
async function sendOnce(ssm: SSMClient, input: SendCommandCommandInput, since: Date, signal: AbortSignal, log: Log): Promise<{ commandId: string } | { refused: string }> {
  const found = await findSentCommand(ssm, { marker: input.Comment!, document: input.DocumentName!, since }, signal);
  if (found) {
    log.info('this click already sent its command; waiting for it instead of sending another', { command_id: found });
    return { commandId: found };
  }
  try {
    return { commandId: await sendCommand(ssm, input, signal) };
  } catch (error) {
    if ((error as Error).name === 'InvalidParameters') return { refused: (error as Error).message };
    throw error;
  }
}

const fetchedAlerts = (count: number) => `the push carried none; ${count} listed by FlashDuty`;

/** A refusal's outcome, saying where the labels came from when the alerts had to be fetched. */
const refusal =
  (fetched: number | undefined) =>
  (summary: string): Outcome => ({ status: 'failed', summary: `${summary}${fetched === undefined ? '' : ` (alerts: ${fetchedAlerts(fetched)})`}; nothing was restarted` });

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

