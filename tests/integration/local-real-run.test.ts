import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { clickWithIncident } from '../fixtures/clicks';
import { click, eventually, testEnv, FREE_PORTS } from './helpers';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

describe('DRY_RUN=false on the local stack says that actions ran against stand-ins', () => {
  it('npm start says so when it starts', async () => {
    const child = spawn(process.execPath, [TSX, join(ROOT, 'scripts', 'start.ts')], { cwd: ROOT, env: { ...process.env, ...FREE_PORTS, DRY_RUN: 'false' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    try {
      await eventually(() => output.includes('Try it:') || undefined, 30_000, 'npm start to be ready');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
    }
    expect(output).toContain('flashduty-actions running locally (DRY_RUN=false: actions run for real, but against the local stand-ins below, not real machines)');
  }, 60_000);

  describe('restart-host', () => {
    let stack: LocalStack;
    beforeAll(async () => {
      stack = await startLocalStack({ env: testEnv({ ...FREE_PORTS, DRY_RUN: 'false', RESTART_ALLOWED_SERVICES: 'engine' }), port: 0 });
    }, 60_000);
    afterAll(() => stack.stop());

    it("labels the comment's console link as local: the command exists only on the stand-in", async () => {
      const body = clickWithIncident({});
      expect((await click(stack.receiverUrl, 'restart-host', body)).status).toBe(200);
      const comment = await eventually(() => stack.flashduty!.comments().find((c) => c.includes(`event ${body.event_id}`)), 30_000, 'the restart-host comment');
      expect(comment).toContain(`• AWS console (not in AWS: this command ran on the local stand-in ${stack.ssmEndpoint}): https://us-east-1.console.aws.amazon.com/systems-manager/run-command/`);
    }, 60_000);
  });
});
