import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions } from '../../scripts/operator';
import { stageOptions } from '../../scripts/queues';

const ROOT = join(__dirname, '..', '..');

/**
 * The operator scripts (setup, smoke, status, redrive) reach a stage in the region its deploy
 * reads: `.env.<stage>` sets AWS_REGION as it sets everything else, and osls deploys there.
 */
describe("the operator scripts use the stage's region", () => {
  const stage = `regiontest${process.pid}`;
  const file = join(ROOT, `.env.${stage}`);
  beforeAll(() => writeFileSync(file, 'AWS_REGION=eu-west-1\n'));
  afterAll(() => rmSync(file, { force: true }));
  const spec = { usage: 'usage', values: [], switches: [] };

  it('setup and smoke: from .env.<stage>, under the environment and --region', () => {
    expect(parseOptions(['--stage', stage], spec, {}).region).toBe('eu-west-1');
    expect(parseOptions(['--stage', stage], spec, { AWS_REGION: 'ap-east-1' }).region).toBe('ap-east-1');
    expect(parseOptions(['--stage', stage, '--region', 'us-west-2'], spec, {}).region).toBe('us-west-2');
    expect(parseOptions(['--stage', 'nofile'], spec, {}).region).toBe('us-east-1');
  });

  it('status and redrive: from .env.<stage>, under the environment and --region', async () => {
    const region = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const { sqs } = stageOptions(argv, env, { line: 'usage', positional: 0 });
      try {
        return await sqs.config.region();
      } finally {
        sqs.destroy();
      }
    };
    expect(await region(['--stage', stage])).toBe('eu-west-1');
    expect(await region(['--stage', stage], { AWS_REGION: 'ap-east-1' })).toBe('ap-east-1');
    expect(await region(['--stage', stage, '--region', 'us-west-2'])).toBe('us-west-2');
  });
});
