import { ACTIONS } from '../lib/actions/registry';
import type { AnyAction } from '../lib/actions/types';
import { describeSchema, type EnvDoc, envNames } from '../lib/schema/env';
import { actionSchemas } from '../lib/config/guardrails';
import { ReceiverEnv, ReceiverQueueEnv } from '../lib/config/receiver';
import { WorkerEnv } from '../lib/config/worker';
import { ConfigError } from '../lib/errors';
import { LocalEnv } from './local';
import { ServerlessEnv } from './serverless-parts';
import { DeployEnv } from './stack';

/** One group of the configuration reference: who reads these keys. */
export interface ConfigGroup {
  title: string;
  intro: string;
  schemas: unknown[];
}

/** Every schema of environment keys, grouped by who reads them: the source of the README's reference. */
export function configGroups(actions: ReadonlyArray<AnyAction> = ACTIONS): ConfigGroup[] {
  return [
    { title: 'Receiver', intro: 'The receiver function.', schemas: [ReceiverEnv, ReceiverQueueEnv] },
    { title: 'Every worker', intro: 'Every worker function, whatever its action.', schemas: [WorkerEnv] },
    ...actions.map((a) => ({ title: `Action \`${a.name}\``, intro: `The ${a.name} worker. ${a.description}`, schemas: actionSchemas(a).map(([, schema]) => schema) })),
    { title: 'Deploy time', intro: 'Read by `npm run package` and `osls deploy`; copied into the functions that read them.', schemas: [DeployEnv, ServerlessEnv] },
    { title: 'Local stack and scripts', intro: '`npm start`, `npm run send`, `status`, `redrive`.', schemas: [LocalEnv] },
  ];
}

export interface DeclaredKey {
  key: string;
  doc: EnvDoc;
  /** Titles of every group that reads it; the first one documents it. */
  groups: string[];
}

/**
 * Every declared key once, in group order. A key may appear in several schemas only as the very
 * same declaration (one of lib/config/platform.ts's), so it has one meaning and one default.
 */
export function declaredKeys(groups = configGroups()): DeclaredKey[] {
  const found = new Map<string, DeclaredKey & { entry: unknown }>();
  for (const group of groups) {
    for (const schema of group.schemas) {
      for (const [key, doc, entry] of describeSchema(schema, group.title)) {
        const seen = found.get(key);
        if (!seen) found.set(key, { key, doc, groups: [group.title], entry });
        else if (seen.entry !== entry) throw new ConfigError(`${key} is declared twice (${seen.groups[0]} and ${group.title}); declare it once in lib/config/platform.ts and use it in both`);
        else if (!seen.groups.includes(group.title)) seen.groups.push(group.title);
      }
    }
  }
  return [...found.values()].map(({ key, doc, groups: titles }) => ({ key, doc, groups: titles }));
}

/** Every variable name the declarations allow, with the `_PARAM` and `_FILE` forms. */
export function declaredNames(groups = configGroups()): Set<string> {
  return new Set(declaredKeys(groups).flatMap(({ key, doc }) => envNames(key, doc)));
}

/**
 * Variables the AWS SDK, Powertools, Node and the deploy tool read: never reported as unread
 * (osls takes a proxy, a CA bundle and a client timeout from the environment, in either case).
 */
const FOREIGN = /^(AWS_|POWERTOOLS_|NODE_|SLS_|SERVERLESS_)|^((https?_)?proxy|no_proxy|(https_)?ca(file)?|aws_client_timeout)$/i;

/**
 * The variables a settings file sets that nothing in the project reads, each with the declared
 * name one or two typing slips away, if any: a misspelt setting (DRYRUN=false) is otherwise
 * ignored in silence.
 */
export function unreadSettings(vars: Record<string, unknown>, names = declaredNames()): Array<{ key: string; near?: string }> {
  return Object.keys(vars)
    .filter((key) => !names.has(key) && !FOREIGN.test(key))
    .map((key) => {
      const near = [...names].find((name) => editDistance(key, name) <= 2);
      return near ? { key, near } : { key };
    });
}

/** One line per unread setting of `file` (see unreadSettings). */
export const describeUnread = (file: string, unread: Array<{ key: string; near?: string }>): string[] =>
  unread.map(({ key, near }) => `${file} sets ${key}, which nothing reads${near ? ` (did you mean ${near}?)` : ''}`);

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3; // more than anything asked for
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
