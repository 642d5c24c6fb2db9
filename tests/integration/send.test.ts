import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalStack, type LocalStack } from '../../deploy/local';
import { decodeQueueMessage } from '../../lib/queue/envelope';
import { answerHint } from '../../scripts/send-options';
import { drain, testEnv, TOKEN, FREE_PORTS } from './helpers';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const README = require('node:fs').readFileSync(join(ROOT, 'README.md'), 'utf8') as string;

async function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
const send = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [TSX, join(ROOT, 'scripts', 'send.ts'), ...args], env);

describe('npm run send', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ env: testEnv({ ...FREE_PORTS }), port: 0, workers: false });
  }, 60_000);
  afterAll(() => stack.stop());

  const queued = async (action: string) => (await drain(stack.sqs, stack.queues.get(action)!.url)).map((m) => decodeQueueMessage(m.Body!));

  it('posts to --url with --token, setting each --label on the incident, with a fresh event_time and event_id', async () => {
    const args = ['restart-host', '--url', stack.receiverUrl, '--token', TOKEN, '--label', 'service=nginx', '--label', 'query=a=b'];
    const before = Date.now();
    const [first, second] = [await send(args), await send(args)];
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.stdout).toMatch(new RegExp(`^POST ${stack.receiverUrl}/actions/restart-host -> 200 \\{"status":"queued"`));
    const messages = await queued('restart-host');
    expect(messages).toHaveLength(2);
    expect(messages[0]!.payload.incident.labels).toMatchObject({ service: 'nginx', query: 'a=b', resource: 'es.nj.01' });
    expect(messages[0]!.event_id).not.toBe(messages[1]!.event_id);
    expect(messages[0]!.payload.event_time).toBeGreaterThanOrEqual(before);
  }, 60_000);

  it('says what to check when the receiver answers 404 (an action not enabled) or 401 (a token it does not take)', async () => {
    const unknown = await send(['echoo', '--url', stack.receiverUrl, '--token', TOKEN], { ENABLED_ACTIONS: 'echo,restart-host' });
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('-> 404');
    expect(unknown.stdout).toContain('hint: actions enabled locally: echo,restart-host (ENABLED_ACTIONS)');
    const refused = await send(['echo', '--url', stack.receiverUrl, '--token', 'wrong']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('-> 401');
    expect(refused.stdout).toContain('hint: the receiver takes the tokens in WEBHOOK_TOKENS');
    // A deployed receiver's actions and tokens are not the local ones: no hint for it.
    expect(answerHint('https://abc123.execute-api.us-east-1.amazonaws.com/actions/echoo', 404, {})).toBeUndefined();
    expect(answerHint('http://localhost:3000/actions/echoo', 404, { ENABLED_ACTIONS: 'echo' })).toBe('actions enabled locally: echo (ENABLED_ACTIONS)');
  }, 60_000);

  it('posts the JSON object --file names, and takes an action URL as --url without an action name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'send-'));
    const file = join(dir, 'push.json');
    writeFileSync(file, JSON.stringify({ event_time: 1, event_id: 'old', incident: { incident_id: 'aaaaaaaaaaaaaaaaaaaaaaaa', title: 'from a file' } }));
    const sent = await send(['--file', file, '--url', `${stack.receiverUrl}/actions/echo`, '--token', TOKEN]);
    expect(sent.code).toBe(0);
    const [message] = await queued('echo');
    expect(message!.payload.incident).toMatchObject({ incident_id: 'aaaaaaaaaaaaaaaaaaaaaaaa', title: 'from a file' });
    expect(message!.event_id).not.toBe('old');
  }, 60_000);

  it('refuses an unknown option, a label without "=", or a file that is not a JSON object, with its usage', async () => {
    const cases: Array<[string[], string]> = [
      [['echo', '--lable', 'a=b'], 'unknown option --lable'],
      [['echo', '--label', 'service'], '--label takes key=value, got "service"'],
      [['echo', '--file', 'package-lock.json.missing'], `--file ${join(ROOT, 'package-lock.json.missing')}: ENOENT`],
    ];
    for (const [args, message] of cases) {
      const sent = await send(args);
      expect(sent.code).toBe(2);
      expect(sent.stderr).toContain(message);
      expect(sent.stderr).toContain('usage: npm run send -- <action> [options]');
    }
  }, 60_000);

  it("runs the README's equivalent curl, which the receiver accepts", async () => {
    const block = /<!-- send-curl:start -->\n```sh\n([\s\S]*?)```\n<!-- send-curl:end -->/.exec(README)?.[1];
    expect(block).toBeDefined();
    const curl = await run('bash', ['-euo', 'pipefail', '-c', block!], { URL: `${stack.receiverUrl}/actions/echo`, TOKEN });
    expect(curl.stderr).toBe('');
    expect(curl.stdout).toMatch(/^\{"status":"queued","action":"echo","event_id":"[0-9a-f]{32}"\}/);
    expect(await queued('echo')).toHaveLength(1);
  }, 60_000);
});
