import { DescribeInstanceInformationCommand, type InstanceInformation, type InstanceInformationStringFilter, type SSMClient } from '@aws-sdk/client-ssm';
import * as v from 'valibot';
import { type FlashDutyApi, FlashDutyError } from '../../flashduty/client';
import { Alert, type IncidentPayload, withoutNulls } from '../../flashduty/payload';
import { SAFE_VALUE, type RestartHostConfig } from './config';

const INSTANCE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;

export interface Target {
  instanceId: string;
  name: string;
  pingStatus: string;
}

export type Resolution = { ok: true; label: string; value: string; targets: Target[] } | { ok: false; problem: string };

/** Alerts fetched when the push carried none: the target is one label, and a storm's incident can hold hundreds. */
const ALERTS_FETCHED = 100;

/**
 * The incident with its alerts fetched from FlashDuty when the push carried none (incident
 * webhooks never do, nor manual incidents) and no target label is on the incident itself, so a run
 * an event rule started finds the host a click on the same incident would. A refused lookup leaves
 * the incident as it is (the "no label" refusal follows); FlashDuty being unavailable is thrown, so
 * the run is retried rather than refused for want of a label. `fetched`: how many were listed.
 */
export async function withAlerts(incident: IncidentPayload, keys: readonly string[], flashduty: FlashDutyApi, signal: AbortSignal): Promise<{ incident: IncidentPayload; fetched?: number }> {
  if ((incident.alerts?.length ?? 0) > 0 || keys.some((key) => incident.labels?.[key] !== undefined)) return { incident };
  let items: Array<Record<string, unknown>>;
  try {
    ({ items } = await flashduty.listAlerts(incident.incident_id, { limit: ALERTS_FETCHED }, signal));
  } catch (error) {
    if (error instanceof FlashDutyError && !error.retryable) return { incident };
    throw error;
  }
  // Read as the worker reads a pushed alert: nulls dropped, a field of the wrong type left out.
  const alerts = items.flatMap((item) => {
    const read = v.safeParse(Alert, withoutNulls(item));
    return read.success ? [read.output] : [];
  });
  return { incident: { ...incident, alerts }, fetched: items.length };
}

/** The value of `key`: from the incident's labels, else the first alert that has it. */
export function labelOf(incident: IncidentPayload, key: string): string | undefined {
  return valuesOf(incident, key)[0];
}

/**
 * The instances a click targets. The first label key (in configured order) that the incident or
 * its alerts carry names the target: an instance id is used as is; anything else is looked up
 * among SSM managed instances by computer name, IP or the lookup tag. Only instances carrying the
 * allow tag are ever returned; a refusal says why, and never guesses.
 */
export async function resolveTargets(ssm: SSMClient, incident: IncidentPayload, config: RestartHostConfig, signal: AbortSignal): Promise<Resolution> {
  const keys = config.RESTART_TARGET_LABELS;
  const found = keys.map((key) => ({ key, values: valuesOf(incident, key) })).find((entry) => entry.values.length > 0);
  if (!found) return { ok: false, problem: `no label ${keys.join('/')} on this incident or its alerts, so there is no host to restart` };

  const { key } = found;
  const allow = config.RESTART_ALLOW_TAG;
  const allowFilter = { Key: `tag:${allow.key}`, Values: [allow.value] };
  const targets = new Map<string, Target>();
  for (const value of found.values) {
    if (!SAFE_VALUE.test(value)) return { ok: false, problem: `label ${key} is ${JSON.stringify(value.slice(0, 60))}, which is not a plain host name, IP or instance id` };
    let matches: InstanceInformation[];
    if (INSTANCE_ID.test(value)) {
      matches = await describe(ssm, [{ Key: 'InstanceIds', Values: [value] }, allowFilter], signal);
      if (matches.length === 0) {
        const managed = await describe(ssm, [{ Key: 'InstanceIds', Values: [value] }], signal);
        return {
          ok: false,
          problem: managed.length
            ? `${value} does not carry the tag ${allow.key}=${allow.value}, so it may not be restarted from FlashDuty`
            : `${value} is not an SSM managed instance in this account and region`,
        };
      }
    } else {
      const byTag = await describe(ssm, [allowFilter, { Key: `tag:${config.RESTART_LOOKUP_TAG}`, Values: [value] }], signal);
      const allowed = await describe(ssm, [allowFilter], signal);
      const lower = value.toLowerCase();
      const byHost = allowed.filter((i) => {
        const computer = (i.ComputerName ?? '').toLowerCase();
        return computer === lower || computer.split('.')[0] === lower || i.IPAddress === value;
      });
      matches = [...byTag, ...byHost];
      if (matches.length === 0) {
        return { ok: false, problem: `no SSM managed instance tagged ${allow.key}=${allow.value} has the computer name, IP or ${config.RESTART_LOOKUP_TAG} tag "${value}" (label ${key})` };
      }
    }
    for (const match of matches) {
      targets.set(match.InstanceId!, { instanceId: match.InstanceId!, name: match.ComputerName ?? value, pingStatus: match.PingStatus ?? 'Unknown' });
    }
  }
  return { ok: true, label: key, value: found.values.join(', '), targets: [...targets.values()] };
}

/** The incident's own value for `key`, else every distinct value its alerts carry. */
function valuesOf(incident: IncidentPayload, key: string): string[] {
  const own = incident.labels?.[key];
  if (own !== undefined) return [own];
  return [...new Set((incident.alerts ?? []).map((alert) => alert.labels?.[key]).filter((v): v is string => v !== undefined))];
}

async function describe(ssm: SSMClient, filters: InstanceInformationStringFilter[], signal: AbortSignal): Promise<InstanceInformation[]> {
  const all: InstanceInformation[] = [];
  let token: string | undefined;
  do {
    const page = await ssm.send(new DescribeInstanceInformationCommand({ Filters: filters, MaxResults: 50, NextToken: token }), { abortSignal: signal });
    all.push(...(page.InstanceInformationList ?? []));
    token = page.NextToken;
  } while (token);
  return all;
}
