/**
 * `npm run docs`: regenerates, from every schema's declarations, the tail of deploy/local.env (each
 * action's other settings, commented, with defaults), then the README's configuration reference and
 * its copy of deploy/local.env. `npm test` fails while either is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderLocalEnv, renderReadme } from '../deploy/config-docs';
import { ROOT } from './local-env';

/** Rewrites one file with `render` and says whether it changed. */
function regenerate(file: string, render: (text: string) => string): string {
  const path = join(ROOT, file);
  const before = readFileSync(path, 'utf8');
  const after = render(before);
  writeFileSync(path, after);
  return before === after ? `${file} was already up to date` : `${file} updated`;
}

console.log(regenerate(join('deploy', 'local.env'), (text) => renderLocalEnv(text)));
console.log(regenerate('README.md', (text) => renderReadme(text, readFileSync(join(ROOT, 'deploy', 'local.env'), 'utf8'))));
