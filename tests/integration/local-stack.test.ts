import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { loadEnvFiles } from '../../lib/local/env-files';
import { sampleClick } from '../fixtures/clicks';
import { click, eventually } from './helpers';

/** npm start's own configuration (deploy/local.env), on free ports. */
const exampleEnv = (): NodeJS.ProcessEnv => ({
  ...loadEnvFiles([join(__dirname, '..', '..', 'deploy', 'local.env')], {}),
  SQS_PORT: '0',
  DYNAMODB_PORT: '0',
  FLASHDUTY_PORT: '0',
  SSM_PORT: '0',
});

describe('the local stack with its example configuration (what npm start runs)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: exampleEnv(), port: 0 });
  });
  afterAll(() => stack.stop());

  const token = () => exampleEnv().WEBHOOK_TOKENS!.split(',')[0]!;
  async function commentFor(action: string): Promise<string> {
    const body = sampleClick();
    expect((await click(stack.receiverUrl, action, body, { token: token() })).status).toBe(200);
    return eventually(() => stack.flashduty!.comments().find((c) => c.includes(`event ${body.event_id}`)), 10_000, `the ${action} comment`);
  }

  it('answers the sample click on restart-host with a dry-run comment showing the exact command it would send', async () => {
    const comment = await commentFor('restart-host');
    expect(comment).toContain('[flashduty-actions] restart-host dry-run (nothing was changed) — clicked by zhangsan');
    expect(comment).toContain('"commands":["systemctl restart \'engine\'"]');
    expect(comment).toContain('"InstanceIds":["i-0a1b2c3d4e5f60718"]');
    expect(stack.ssm!.sent()).toHaveLength(0);
  });

  it('answers echo with a success comment', async () => {
    expect(await commentFor('echo')).toContain('echo succeeded');
  });

  it('opens a status page event on the first status-page click and updates it on the second (LOCAL_LIVE_ACTIONS)', async () => {
    expect(await commentFor('status-page')).toContain('status-page succeeded');
    const [event] = stack.flashduty!.statusPages.changes;
    expect(event).toMatchObject({ status: 'investigating', title: 'Service disruption' });
    expect(await commentFor('status-page')).toContain(`updated public event ${event!.change_id}`);
    expect(stack.flashduty!.statusPages.changes).toHaveLength(1);
    expect(event!.updates).toHaveLength(2);
  });

  it.each(['enrich', 'rollback'])('answers %s, not built yet, with a failed comment', async (action) => {
    const comment = await commentFor(action);
    expect(comment).toContain(`${action} FAILED`);
    expect(comment).toContain('not implemented yet');
  });
});
