import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { readConfig } from '../lib/schema/env';
import { inlineSecretPaths, SecretRef } from '../lib/schema/secret';
import { actionConfig } from '../lib/config/worker';
import { declaredKeys, describeUnread, unreadSettings } from './config-catalog';
import { DeployEnv, stackSettings } from './stack';
import { ConfigError } from '../lib/errors';

/**
 * Checks run before anything is packaged or deployed, by `osls package` and `osls deploy` alike
 * (deploy/serverless.js calls them). They stop local settings and plaintext secrets from reaching
 * a CloudFormation template, where anyone with read access to the stack could see them.
 */

/** Risks a deploy may take on purpose, named in DEPLOY_ALLOW. */
export const DEPLOY_RISKS = ['plaintext-secrets', 'dry-run'] as const;
type Risk = (typeof DEPLOY_RISKS)[number];

/** The stage `npm start` uses; osls would read `.env.local` (the local overrides) for it. */
export const LOCAL_STAGE = 'local';

export interface Preflight {
  problems: string[];
  warnings: string[];
}

/**
 * The dotenv file osls loads for `stage` (`.env.<stage>` if present, else `.env`) and what it sets.
 * osls never overrides a variable the environment already has, and neither do we when we say
 * where a value came from.
 */
export function dotenvFor(stage: string, serviceDir: string): { file: string; vars: Record<string, string | undefined> } | undefined {
  for (const file of [`.env.${stage}`, '.env']) {
    const path = join(serviceDir, file);
    if (existsSync(path)) return { file, vars: parseEnv(readFileSync(path, 'utf8')) };
  }
  return undefined;
}

/** What a deploy of `stage` with `env` would put at risk: problems stop it, warnings do not. */
export function deployPreflight(env: NodeJS.ProcessEnv, stage: string, serviceDir: string, region = 'us-east-1'): Preflight {
  const config = readConfig(DeployEnv, env, 'deploy configuration');
  const unknown = config.DEPLOY_ALLOW.filter((risk) => !(DEPLOY_RISKS as readonly string[]).includes(risk));
  if (unknown.length > 0) throw new ConfigError(`DEPLOY_ALLOW: unknown ${unknown.map((r) => `"${r}"`).join(', ')}; known: ${DEPLOY_RISKS.join(', ')}`);
  const allowed = (risk: Risk) => config.DEPLOY_ALLOW.includes(risk);
  const dotenv = dotenvFor(stage, serviceDir);
  const from = (key: string) => (dotenv && dotenv.vars[key] !== undefined && dotenv.vars[key] === env[key] ? dotenv.file : 'the environment');

  const problems: string[] = [];
  const warnings: string[] = [];
  if (stage === LOCAL_STAGE) problems.push(`stage "${LOCAL_STAGE}" is the one \`npm start\` runs, and osls would read its overrides from .env.local; deploy under another name`);
  // A risk DEPLOY_ALLOW takes on purpose is still said out loud, so nobody takes it unawares.
  for (const secret of plaintextSecrets(env, stage, serviceDir, from)) {
    if (allowed('plaintext-secrets')) warnings.push(`${secret.subject} in plain text; DEPLOY_ALLOW=plaintext-secrets lets it into the template or the worker's zip`);
    else problems.push(`${secret.subject} in plain text, ${secret.refusal}, or set DEPLOY_ALLOW=plaintext-secrets to package it anyway`);
  }
  // WAF web ACLs for CloudFront exist only in us-east-1, so the stack holding one must live there.
  if (isTrue(env.EDGE_FIREWALL) && region !== 'us-east-1') problems.push(`EDGE_FIREWALL=true needs the stack in us-east-1 (a CloudFront web ACL exists only there), not ${region}`);
  if (isTrue(env.DRY_RUN) && allowed('dry-run')) warnings.push(`DEPLOY_ALLOW=dry-run: the workers of stage "${stage}" describe what they would do and change nothing`);
  else if (isTrue(env.DRY_RUN)) {
    problems.push(`${from('DRY_RUN')} sets DRY_RUN=${env.DRY_RUN}, so the deployed workers would change nothing; remove it, or set DEPLOY_ALLOW=dry-run to deploy a dry-run stage on purpose`);
  }
  if (dotenv) warnings.push(...describeUnread(dotenv.file, unreadSettings(dotenv.vars)));
  for (const action of stackSettings(env, stage).actions) warnings.push(...(action.configWarnings?.(actionConfig(action, env, serviceDir)) ?? []));
  if (!env.ALARM_TOPIC_ARN?.trim()) warnings.push('ALARM_TOPIC_ARN is not set: the alarms (dead-lettered clicks, failing workers, queue unavailable) will notify no one');
  for (const key of ['ALLOWED_IPS', 'FLASHDUTY_API_URL'] as const) {
    if (/\b(127\.0\.0\.1|localhost)\b|::1/.test(env[key] ?? '')) warnings.push(`${from(key)} sets ${key}=${env[key]}, which looks like a local setting`);
  }
  return { problems, warnings };
}

/**
 * Every secret the deploy would carry in plain text: a declared secret (secretVar) given inline,
 * and a secret inline inside an enabled action's structured setting (a rollback target's `token`,
 * an enrich header's `secret_value`), which would ship in the template or the worker's zip. Named
 * by key and path, never by value.
 */
function plaintextSecrets(env: NodeJS.ProcessEnv, stage: string, serviceDir: string, from: (key: string) => string): Array<{ subject: string; refusal: string }> {
  const declared = declaredKeys()
    .filter(({ key, doc }) => doc.kind === 'secret' && env[key]?.trim())
    .map(({ key }) => ({
      subject: `${from(key)} sets ${key}`,
      refusal: `which would be written into the CloudFormation template; remove it and keep the secret in an SSM SecureString (${key}_PARAM)`,
    }));
  const structured = stackSettings(env, stage).actions.flatMap((action) =>
    Object.entries(actionConfig(action, env, serviceDir) as Record<string, unknown>)
      // A top-level secret (ECHO_SECRET) is a declared one, above; this looks inside values.
      .filter(([, value]) => !(value instanceof SecretRef))
      .map(([key, value]) => ({ key, paths: inlineSecretPaths(value) }))
      .filter(({ paths }) => paths.length > 0)
      .map(({ key, paths }) => ({
        subject: `${env[key]?.trim() ? key : `${key}_FILE (${env[`${key}_FILE`]})`} gives a secret at ${paths.join(', ')}`,
        refusal: `which would ship in the template or the worker's zip; name an SSM SecureString instead (secret_param, token_param, read_token_param)`,
      })),
  );
  return [...declared, ...structured];
}

/** The same reading of a boolean the builders use (lib/schema/env.ts boolVar). */
const isTrue = (value: string | undefined) => ['true', '1', 'yes'].includes(value?.trim().toLowerCase() ?? '');

/** Throws one ConfigError listing every problem; prints warnings once per process and stage. */
const warned = new Set<string>();
export function assertDeployable(
  env: NodeJS.ProcessEnv,
  where: { stage: string; region?: string; serviceDir: string },
  warn: (line: string) => void = console.warn,
): void {
  const { stage } = where;
  const { problems, warnings } = deployPreflight(env, stage, where.serviceDir, where.region);
  if (!warned.has(stage)) for (const line of warnings) warn(`WARNING: ${line}`);
  warned.add(stage);
  if (problems.length > 0) throw new ConfigError(`refusing to package stage "${stage}":\n  - ${problems.join('\n  - ')}`);
}
