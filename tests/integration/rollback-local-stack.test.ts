import { startLocalStack, type LocalStack } from '../../deploy/local';
import { sampleClick } from '../fixtures/clicks';
import { click, eventually, localEnv } from './helpers';

/** npm start's configuration with DRY_RUN=false: the click reaches the stand-in platform. */
const env = (): NodeJS.ProcessEnv =>
  localEnv({
    ENABLED_ACTIONS: 'rollback',
    // The example event rules run enrich and status-page, which this stack does not enable.
    EVENT_RULES_FILE: '',
    DRY_RUN: 'false',
  });

describe('rollback end to end in the local stack (npm start, DRY_RUN=false, npm run send -- rollback)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: env(), port: 0 });
  });
  afterAll(() => stack.stop());

  it('dispatches the GitHub workflow once, records the change and comments with the run, even when FlashDuty pushes the click twice', async () => {
    const body = sampleClick();
    const token = env().WEBHOOK_TOKENS!.split(',')[0]!;
    expect((await click(stack.receiverUrl, 'rollback', body, { token })).status).toBe(200);
    expect((await click(stack.receiverUrl, 'rollback', body, { token })).status).toBe(200);
    const comment = await eventually(() => stack.flashduty!.comments().find((c) => c.includes(`event ${body.event_id}`)), 15_000, 'the rollback comment');
    const [run] = stack.deploy!.runs;
    expect(comment).toContain('[flashduty-actions] rollback succeeded — clicked by zhangsan');
    expect(comment).toContain('started the rollback shop (GitHub stand-in) on github');
    expect(comment).toContain(`• run id: ${run!.id}`);
    expect(comment).toContain(`• run: ${run!.html_url}`);
    expect(comment).toContain(`• change record: rollback/${body.incident.incident_id}/${body.event_id}`);
    const clickKey = `rollback/${body.incident.incident_id}/${body.event_id}`;
    expect(run!.inputs).toEqual({ service: 'engine', incident: body.incident.incident_id, reason: `FlashDuty: ${body.incident.title}`, click: clickKey });
    expect(comment).toContain(`• inputs: ${JSON.stringify(run!.inputs)}`);
    // The example target passes the click key and the stand-in workflow shows it, so a lost answer finds this run.
    expect(run!.display_title).toBe(`Rollback ${clickKey}`);
    expect(stack.flashduty!.changes()).toEqual([expect.objectContaining({ change_key: `rollback/${body.incident.incident_id}/${body.event_id}`, change_status: 'Processing', link: run!.html_url })]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(stack.deploy!.dispatches()).toHaveLength(1);
    expect(stack.flashduty!.comments().filter((c) => c.includes(`event ${body.event_id}`))).toHaveLength(1);
  });
});
