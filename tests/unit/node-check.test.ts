import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NODE_MAJOR, nodeProblem } from '../../scripts/node-check';

describe('the Node check every script makes first', () => {
  it('accepts the Lambda runtime major and later ones', () => {
    expect(nodeProblem(`v${NODE_MAJOR}.0.0`, '/x/node')).toBeUndefined();
    expect(nodeProblem(process.version, process.execPath)).toBeUndefined();
    expect(nodeProblem('v26.1.0', '/x/node')).toBeUndefined();
  });

  it("names an older Node and where it runs from, and says how to get node_modules' Node 24 back", () => {
    expect(nodeProblem('v20.20.2', '/usr/bin/node')).toBe(
      [
        'this is Node v20.20.2 (/usr/bin/node), but flashduty-actions needs Node 24, the Lambda runtime\'s.',
        "`npm ci` installs it into node_modules, whatever Node the machine has, through the `node` package's install script.",
        'If you ran `npm ci --ignore-scripts`, run `npm rebuild node` (that one script), or run `npm ci` again;',
        'or install Node 24 on the machine (e.g. `nvm install 24`).',
      ].join('\n'),
    );
  });

  it('is the Lambda runtime major in serverless.yml', () => {
    expect(NODE_MAJOR).toBe(Number(/nodejs(\d+)\.x/.exec(require('node:fs').readFileSync(join(__dirname, '..', '..', 'serverless.yml'), 'utf8'))![1]));
  });

  it('stops a script before it does anything, with exit code 1', () => {
    const script = `require('${join(__dirname, '..', '..', 'scripts', 'node-check.ts').replace(/\\/g, '/')}').checkNode(); console.log('ran on')`;
    // Pretend to be an old Node: process.version is what the check reads.
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', `Object.defineProperty(process, 'version', { value: 'v18.0.0' }); ${script}`], { encoding: 'utf8', cwd: join(__dirname, '..', '..') });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('this is Node v18.0.0');
  });
});
