/**
 * `npm run package [-- --stage <stage>] [--region <region>] [--package <dir>]`: runs `osls package`
 * with these options (offline: no AWS call), then checks the generated CloudFormation template
 * against the CloudFormation resource specification and every function zip against its size
 * budget. Exits non-zero on any problem, including the deploy checks in deploy/preflight.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleSizes } from '../deploy/budgets';
import { validateTemplate } from '../deploy/validate-template';
import { ROOT } from './local-env';

import { checkNode } from './node-check';

const OSLS = join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

/** The value after `flag` in argv, if any. */
function option(argv: string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** Prints what the template and the zips look like; false when anything is wrong. */
function check(dir: string, stage: string): boolean {
  const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  const problems = validateTemplate(template);
  const sizes = bundleSizes(dir);
  const verdict = problems.length === 0 ? 'valid against the CloudFormation resource specification' : `${problems.length} problem(s)`;
  console.log(`stage ${stage}: ${Object.keys(template.Resources).length} resources, ${verdict}`);
  for (const problem of problems) console.log(`  ✗ ${problem}`);
  for (const size of sizes) {
    const budget = size.budget ? ` (budget ${(size.budget / 1024).toFixed(0)} KB${size.ok ? '' : ', EXCEEDED'})` : '';
    console.log(`${size.ok ? ' ' : '✗'} ${size.name}.zip ${(size.bytes / 1024).toFixed(1)} KB${budget}`);
  }
  return problems.length === 0 && sizes.every((s) => s.ok);
}

checkNode();
const argv = process.argv.slice(2);
const stage = option(argv, '--stage') ?? option(argv, '-s') ?? 'dev';
const osls = spawnSync(process.execPath, [OSLS, 'package', ...argv], { cwd: ROOT, stdio: 'inherit' });
if (osls.status !== 0) {
  console.error(`osls package failed for stage ${stage} (see above); nothing was checked`);
  process.exit(osls.status ?? 1);
}
process.exitCode = check(option(argv, '--package') ?? join(ROOT, '.serverless'), stage) ? 0 : 1;
