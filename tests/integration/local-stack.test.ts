import { execFile } from 'node:child_process';
import { createServer, type Server, Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listenLocal } from '../../local/listen';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { sampleClick } from '../fixtures/clicks';
import { click, eventually, localEnv } from './helpers';

/** npm start's own configuration (deploy/local.env, its example enrich sources), on free ports (the stack points the sources at theirs). */
const exampleEnv = (): NodeJS.ProcessEnv => localEnv();

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

  it('listens on 127.0.0.1 only, every server, emulators and stand-ins included', async () => {
    const urls = [stack.receiverUrl, stack.sqsEndpoint, stack.dynamodbEndpoint, stack.flashdutyUrl, stack.ssmEndpoint].map((u) => new URL(u));
    expect(urls.map((u) => u.hostname)).toEqual(Array(5).fill('127.0.0.1'));
    // And from another interface of this machine (if it has one) nothing answers on those ports.
    const external = Object.values(networkInterfaces()).flat().filter((i) => i && !i.internal).map((i) => i!.address);
    for (const address of external) {
      for (const url of urls) expect(await connects(address, Number(url.port))).toBe(false);
    }
  });

  it('answers echo with a success comment', async () => {
    expect(await commentFor('echo')).toContain('echo succeeded');
  });

  it('answers enrich for real (LOCAL_LIVE_ACTIONS): asks the three local sources on whatever port they got, writes the fields and one comment from them', async () => {
    const comment = await commentFor('enrich');
    expect(comment).toContain('[flashduty-actions] enrich succeeded — clicked by zhangsan');
    expect(comment).toContain('3 of 3 sources answered; set 5 fields');
    expect(comment).toContain('• traces slowest: POST /search took 4210 ms');
    expect(comment).toContain('• logs latest: ERROR search thread pool rejected execution');
    expect(comment).toContain('• cmdb owner: search-platform / search-platform-primary');
    expect(comment.length).toBeLessThanOrEqual(1024);
    expect(stack.flashduty!.fieldValues('6551f3888713372ad1054d57')).toMatchObject({
      trace_id: '2f3e0cee77ae5dc9c17ade3689eb2e54',
      owner_team: 'search-platform',
      impacted_services: ['order', 'passport'],
      tier_1: true,
    });
    expect(stack.sources.calls.map((c) => c.rawPath)).toEqual(expect.arrayContaining(['/tempo/api/search', '/loki/api/v1/query_range', '/cmdb/api/v1/hosts/es.nj.01']));
  });

  it('dispatches the sample rollback to the local GitHub stand-in for real (it touches only stand-ins) and writes back the run', async () => {
    const comment = await commentFor('rollback');
    expect(comment).toContain('[flashduty-actions] rollback succeeded — clicked by zhangsan');
    expect(comment).toContain('started the rollback shop (GitHub stand-in) on github');
    expect(comment).toContain(`• run: ${stack.deploy!.origin}/github-web/acme/shop/actions/runs/`);
    expect(stack.deploy!.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it('opens a status page event on the first status-page click and updates it on the second (LOCAL_LIVE_ACTIONS)', async () => {
    expect(await commentFor('status-page')).toContain('status-page succeeded');
    const [event] = stack.flashduty!.statusPages.changes;
    expect(event).toMatchObject({ status: 'investigating', title: 'Service disruption' });
    expect(await commentFor('status-page')).toContain(`updated public event ${event!.change_id}`);
    expect(stack.flashduty!.statusPages.changes).toHaveLength(1);
    expect(event!.updates).toHaveLength(2);
  });

  it('runs the example event rules on the sample events `npm run send -- --event` posts, each writing back: i_new opens, i_rslv resolves', async () => {
    const root = join(__dirname, '..', '..');
    const sendEvent = async (type: string, ...options: string[]) => {
      const send = [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'scripts', 'send.ts'), '--event', type, ...options, '--url', stack.receiverUrl];
      const { stdout } = await promisify(execFile)(process.execPath, send, { cwd: root, timeout: 30_000 });
      const answer = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { runs: Array<{ rule: string; event_id: string }> };
      const comments = [];
      for (const run of answer.runs) {
        const comment = await eventually(() => stack.flashduty!.comments().find((c) => c.endsWith(` event ${run.event_id}`)), 10_000, `the ${run.rule} comment`);
        expect(comment).toContain(`run automatically by rule "${run.rule}" on ${type}`);
        comments.push(comment);
      }
      return { rules: answer.runs.map((run) => run.rule), comments };
    };
    expect((await sendEvent('i_new')).rules).toEqual(['enrich-new', 'status-page-open']);
    // The README's example: the resolve rule resolves the public event, and marks nothing as an outage.
    const resolved = await sendEvent('i_rslv', '--label', 'service=checkout');
    expect(resolved.rules).toEqual(['status-page-resolve']);
    expect(resolved.comments[0]).toContain('resolved public event');
    expect(resolved.comments[0]).not.toContain('outage');
  }, 60_000);
});

/** Whether a TCP connection to host:port is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, host);
  });
}

describe('the local stack with rollback targets of your own', () => {
  it('keeps rollback in dry-run: only the local stand-in platforms are dispatched to for real', async () => {
    const targets = JSON.stringify([{ name: 'real', provider: 'webhook', url: 'https://deploy.example.com/rollback' }]);
    const stack = await startLocalStack({ env: { ...exampleEnv(), ROLLBACK_TARGETS: targets }, port: 0, workers: false });
    try {
      expect(stack.deploy).toBeUndefined();
      expect(stack.workerEnv.get('rollback')).toMatchObject({ DRY_RUN: 'true', ROLLBACK_TARGETS: targets });
    } finally {
      await stack.stop();
    }
  });
});

describe('the local stack when a port is taken', () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    port = await listenLocal(busy, 0);
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it.each(['SQS_PORT', 'DYNAMODB_PORT', 'FLASHDUTY_PORT', 'SSM_PORT'])('says to change %s, and stops what it started', async (variable) => {
    const start = startLocalStack({ env: { ...exampleEnv(), [variable]: String(port) }, port: 0, workers: false });
    await expect(start).rejects.toThrow(`port ${port} (${variable}) on 127.0.0.1 is already in use, perhaps by another \`npm start\`; stop that, or set ${variable} to a free port in .env.local or the environment`);
  });

  it('says to change PORT when the receiver\'s port is taken', async () => {
    await expect(startLocalStack({ env: exampleEnv(), port, workers: false })).rejects.toThrow(`port ${port} (PORT) on 127.0.0.1 is already in use`);
  });
});
