/**
 * Runs after `osls package` (npm run package): checks the generated CloudFormation template against
 * the CloudFormation resource specification and every function zip against its size budget.
 * Exits non-zero on any problem. `--package <dir>` reads another package directory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleSizes } from '../deploy/budgets';
import { validateTemplate } from '../deploy/validate-template';
import { ROOT } from './local-env';

const args = process.argv.slice(2);
const at = args.indexOf('--package');
const dir = at >= 0 && args[at + 1] ? args[at + 1]! : join(ROOT, '.serverless');
const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
const problems = validateTemplate(template);
const sizes = bundleSizes(dir);

console.log(`template: ${Object.keys(template.Resources).length} resources, ${problems.length === 0 ? 'valid against the CloudFormation resource specification' : `${problems.length} problem(s)`}`);
for (const problem of problems) console.log(`  ✗ ${problem}`);
for (const size of sizes) {
  const budget = size.budget ? ` (budget ${(size.budget / 1024).toFixed(0)} KB${size.ok ? '' : ', EXCEEDED'})` : '';
  console.log(`${size.ok ? ' ' : '✗'} ${size.name}.zip ${(size.bytes / 1024).toFixed(1)} KB${budget}`);
}
process.exitCode = problems.length === 0 && sizes.every((s) => s.ok) ? 0 : 1;
