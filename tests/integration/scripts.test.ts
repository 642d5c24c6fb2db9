import { ACTIONS } from '../../lib/actions/registry';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closedPort } from './helpers';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Runs `npm run <script> -- args` the way npm does (tsx), and returns its exit code and output. */
async function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [TSX, join(ROOT, 'scripts', `${script}.ts`), ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('the operations scripts say what to do when they cannot work', () => {
  it.each([['status', []], ['redrive', ['echo']]])('npm run %s with no local stack running says to start one, without a stack trace', async (script, args) => {
    const port = await closedPort();
    const { code, stderr } = await run(script, args, { SQS_PORT: String(port) });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `nothing answers on 127.0.0.1:${port} (SQS_PORT), so the local stack is not running: start it with \`npm start\` in another terminal (with the same SQS_PORT), or pass --stage <stage> for a deployed stack`,
    );
  }, 40_000);

  it.each([
    [['--only', 'nope'], 'bench: --only takes rows from ack, big, cold, sizes, e2e, drain, storm (comma-separated), got "nope"'],
    [['--big-request', '5'], 'bench: unknown option --big-request; the options are'],
    [['--requests', 'many'], 'bench: --requests takes a whole number, got "many"'],
  ])('npm run bench %j says what is wrong before measuring anything', async (args, message) => {
    const { code, stderr } = await run('bench', args);
    expect(code).toBe(1);
    expect(stderr.trim()).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 40_000);

  it('npm run redrive with an unknown action lists the known ones, before contacting anything', async () => {
    const { code, stderr } = await run('redrive', ['restart-hots'], { SQS_PORT: String(await closedPort()) });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`unknown action "restart-hots"; known: ${ACTIONS.map((a) => a.name).join(', ')}`);
  }, 40_000);

  it.each([
    ['redrive', ['echo', '--stag', 'prod'], 'unknown option --stag'],
    ['redrive', ['echo', '--stage'], '--stage needs a value'],
    ['redrive', ['echo', '--stage', '--region', 'eu-west-1'], '--stage needs a value'],
    ['redrive', ['echo', 'extra'], 'unexpected argument extra'],
    ['status', ['--stag', 'prod'], 'unknown option --stag'],
    ['status', ['bogus'], 'unexpected argument bogus'],
  ])('npm run %s %j refuses, with its usage, before contacting anything (a typo never falls back to the local stack)', async (script, args, why) => {
    const { code, stderr } = await run(script, args, { SQS_PORT: String(await closedPort()) });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`${why}\nusage: npm run ${script} ${script === 'redrive' ? '-- <action> [--stage <stage>] [--region <region>]' : '[-- --stage <stage>] [--region <region>]'}`);
  }, 40_000);

  it('npm run redrive without an action shows its usage', async () => {
    const { code, stderr } = await run('redrive', []);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('usage: npm run redrive -- <action> [--stage <stage>] [--region <region>]');
  }, 40_000);
});
