/**
 * `npm run docs`: regenerates the README's configuration reference (from every schema's
 * declarations) and its copy of deploy/local.env. `npm test` fails while the README is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReadme } from '../deploy/config-docs';
import { ROOT } from './local-env';

const path = join(ROOT, 'README.md');
const before = readFileSync(path, 'utf8');
const after = renderReadme(before, readFileSync(join(ROOT, 'deploy', 'local.env'), 'utf8'));
writeFileSync(path, after);
console.log(before === after ? 'README.md was already up to date' : 'README.md updated');
