import { ACTIONS } from '../lib/actions/registry';
import type { Action } from '../lib/actions/types';
import { describeSchema, envNames } from '../lib/config/env';
import { actionSchemas } from '../lib/config/guardrails';
import { configGroups, type DeclaredKey, declaredKeys } from './config-catalog';
import { SERVICE } from './stack';

/** Generates the README's configuration reference and local.env block (`npm run docs`; a test keeps them current). */

const cell = (text: string) => text.replace(/\|/g, '\\|');

function variableCell({ key, doc }: DeclaredKey): string {
  if (doc.kind === 'secret') return `\`${key}\` or \`${key}_PARAM\``;
  if (doc.kind === 'structured') return `\`${key}\` or \`${key}_FILE\``;
  return `\`${key}\``;
}

function defaultCell({ doc }: DeclaredKey): string {
  if (doc.setBy === 'stack' && doc.shown === undefined) return 'set by the stack';
  if (doc.kind === 'secret') return doc.parameter ? `\`/${SERVICE}/<stage>/${doc.parameter}\` (as \`_PARAM\`)` : '(none)';
  if (doc.shown === undefined || doc.shown === '') return '(none)';
  return doc.shown.startsWith('`') || doc.shown.startsWith('set by') ? doc.shown : `\`${doc.shown}\``;
}

function meaningCell({ doc, groups }: DeclaredKey): string {
  const form = { plain: '', secret: ' *Secret*: inline for local use, or an SSM SecureString name.', structured: ' *Structured*: JSON, or a JSON/YAML file.' }[doc.kind];
  const also = groups.length > 1 ? ` Also read by: ${groups.slice(1).join(', ')}.` : '';
  return cell(doc.meaning + form + also);
}

/** The tables between `<!-- config:start -->` and `<!-- config:end -->`, one per group. */
export function configReference(groups = configGroups()): string {
  const keys = declaredKeys(groups);
  const out: string[] = [];
  for (const group of groups) {
    const own = keys.filter((k) => k.groups[0] === group.title);
    out.push(`#### ${group.title}`, '', group.intro, '');
    if (own.length === 0) {
      out.push('No settings of its own.', '');
      continue;
    }
    out.push('| variable | default | meaning |', '|---|---|---|');
    for (const key of own) out.push(`| ${variableCell(key)} | ${cell(defaultCell(key))} | ${meaningCell(key)} |`);
    out.push('');
  }
  return out.join('\n');
}

const between = (text: string, start: string, end: string, body: string) => {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} ... ${end} block`);
  return text.slice(0, from + start.length) + body + text.slice(to);
};

/** README.md with both generated blocks brought up to date. */
export function renderReadme(readme: string, localEnv: string, groups = configGroups()): string {
  const withTable = between(readme, '<!-- config:start -->', '<!-- config:end -->', `\n${configReference(groups)}`);
  return between(withTable, '<!-- local.env:start -->', '<!-- local.env:end -->', `\n\`\`\`sh\n${localEnv}\`\`\`\n`);
}

const GENERATED = '# ---- npm run docs writes from here on: every other action setting, commented, with its default ----';

/**
 * deploy/local.env with its generated tail: each action's settings the hand-written part does not
 * set, commented out with their defaults, so a new action's keys show up there without an edit.
 */
export function renderLocalEnv(current: string, actions: ReadonlyArray<Action<any>> = ACTIONS): string {
  const written = current.split(`\n${GENERATED}\n`)[0]!.replace(/\n*$/, '\n');
  const set = new Set([...written.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  const lines: string[] = [];
  for (const action of actions) {
    const keys = actionSchemas(action).flatMap(([what, schema]) => describeSchema(schema, what)).filter(([key, doc]) => !envNames(key, doc).some((name) => set.has(name)));
    if (keys.length === 0) continue;
    lines.push(`# ${action.name}`);
    for (const [key, doc] of keys) {
      const other = { plain: '', secret: `  (or ${key}_PARAM=<SSM SecureString name>)`, structured: `  (or ${key}_FILE=<JSON or YAML file>)` }[doc.kind];
      lines.push(`#${key}=${doc.kind === 'secret' || doc.shown === undefined ? '' : doc.shown}${other}`);
    }
  }
  return lines.length === 0 ? written : `${written}\n${GENERATED}\n${lines.join('\n')}\n`;
}
