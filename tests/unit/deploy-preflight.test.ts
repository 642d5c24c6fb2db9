import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDeployable, deployPreflight } from '../../deploy/preflight';
import { localEnv } from '../../scripts/local-env';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:oncall';

/** A service directory holding the given dotenv files. */
function serviceDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('the checks before a package or deploy', () => {
  it('refuses plaintext secrets and says which file each came from', () => {
    const dir = serviceDir({ '.env': 'WEBHOOK_TOKENS=local-dev-token-change-me\nFLASHDUTY_APP_KEY=k\n' });
    // osls loads .env without overriding the environment: here the app key came from the environment.
    const { problems } = deployPreflight({ WEBHOOK_TOKENS: 'local-dev-token-change-me', FLASHDUTY_APP_KEY: 'other', ALARM_TOPIC_ARN: TOPIC }, 'prod', dir);
    expect(problems).toEqual([
      expect.stringMatching(/^\.env sets WEBHOOK_TOKENS in plain text, .*WEBHOOK_TOKENS_PARAM.*DEPLOY_ALLOW=plaintext-secrets/),
      expect.stringMatching(/^the environment sets FLASHDUTY_APP_KEY in plain text, .*FLASHDUTY_APP_KEY_PARAM/),
    ]);
    expect(problems.join('\n')).not.toContain('local-dev-token-change-me');
  });

  it('refuses a secret given inline inside an action\'s structured setting, naming the key and where in it', () => {
    const target = { provider: 'github', match: {}, repo: 'acme/shop', workflow: 'rollback.yml', ref: 'main' };
    const env = {
      ENABLED_ACTIONS: 'rollback,enrich',
      ALARM_TOPIC_ARN: TOPIC,
      ROLLBACK_TARGETS: JSON.stringify([{ ...target, token_param: '/prod/github' }, { ...target, token: 'ghp_plaintext' }]),
      ENRICH_SOURCES_FILE: 'sources.json',
    };
    const dir = serviceDir({ 'sources.json': JSON.stringify([{ name: 'cmdb', url: 'https://cmdb.internal/x', headers: { authorization: { secret_value: 'cmdb-plaintext' } } }]) });
    const { problems } = deployPreflight(env, 'prod', dir);
    expect(problems).toEqual([
      expect.stringMatching(/^ROLLBACK_TARGETS gives a secret at 1\.token in plain text, .*DEPLOY_ALLOW=plaintext-secrets/),
      expect.stringMatching(/^ENRICH_SOURCES_FILE \(sources\.json\) gives a secret at 0\.headers\.authorization in plain text, /),
    ]);
    expect(problems.join('\n')).not.toMatch(/ghp_plaintext|cmdb-plaintext/);
    expect(deployPreflight({ ...env, DEPLOY_ALLOW: 'plaintext-secrets' }, 'prod', dir).problems).toEqual([]);
  });

  it('names .env.<stage> when osls would read that file instead of .env', () => {
    const dir = serviceDir({ '.env': 'DRY_RUN=false\n', '.env.prod': 'DRY_RUN=true\n' });
    const { problems } = deployPreflight({ DRY_RUN: 'true', ALARM_TOPIC_ARN: TOPIC }, 'prod', dir);
    expect(problems).toEqual([expect.stringMatching(/^\.env\.prod sets DRY_RUN=true, so the deployed workers would change nothing; .*DEPLOY_ALLOW=dry-run/)]);
  });

  it('lets DEPLOY_ALLOW take each risk on purpose, and only the ones it names, still warning of each', () => {
    const env = { WEBHOOK_TOKENS: 't', DRY_RUN: 'yes', ALARM_TOPIC_ARN: TOPIC };
    expect(deployPreflight({ ...env, DEPLOY_ALLOW: 'plaintext-secrets,dry-run' }, 'staging', serviceDir())).toEqual({
      problems: [],
      warnings: [
        "the environment sets WEBHOOK_TOKENS in plain text; DEPLOY_ALLOW=plaintext-secrets lets it into the template or the worker's zip",
        'DEPLOY_ALLOW=dry-run: the workers of stage "staging" describe what they would do and change nothing',
      ],
    });
    expect(deployPreflight({ ...env, DEPLOY_ALLOW: 'dry-run' }, 'staging', serviceDir()).problems).toEqual([expect.stringContaining('WEBHOOK_TOKENS')]);
    expect(() => deployPreflight({ DEPLOY_ALLOW: 'everything' }, 'prod', serviceDir())).toThrow('DEPLOY_ALLOW: unknown "everything"; known: plaintext-secrets, dry-run');
  });

  it('refuses the stage npm start uses, whose overrides osls would read from .env.local', () => {
    expect(deployPreflight({ ALARM_TOPIC_ARN: TOPIC }, 'local', serviceDir()).problems).toEqual([expect.stringContaining('stage "local" is the one `npm start` runs')]);
  });

  it('warns about a setting in the dotenv file that nothing reads, naming the one it is a slip away from (not the SDK, proxy or osls settings)', () => {
    const dir = serviceDir({ '.env': 'ALARM_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:x\nDRYRUN=false\nMY_TEAM_NOTE=x\nAWS_PROFILE=prod\nHTTPS_PROXY=http://proxy:3128\nno_proxy=localhost\nRESTART_ALLOWED_SERVICE=nginx\n' });
    const result = deployPreflight({ ALARM_TOPIC_ARN: TOPIC }, 'prod', dir);
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([
      '.env sets DRYRUN, which nothing reads (did you mean DRY_RUN?)',
      '.env sets MY_TEAM_NOTE, which nothing reads',
      '.env sets RESTART_ALLOWED_SERVICE, which nothing reads (did you mean RESTART_ALLOWED_SERVICES?)',
    ]);
  });

  it('warns, without refusing, when alarms would notify no one or a value looks local', () => {
    const result = deployPreflight({ ALLOWED_IPS: '127.0.0.1,::1', FLASHDUTY_API_URL: 'http://127.0.0.1:9326' }, 'prod', serviceDir());
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^ALARM_TOPIC_ARN is not set: the alarms .* will notify no one$/),
      'the environment sets ALLOWED_IPS=127.0.0.1,::1, which looks like a local setting',
      'the environment sets FLASHDUTY_API_URL=http://127.0.0.1:9326, which looks like a local setting',
    ]);
  });

  it('warns when restart-host would refuse every click: its command takes a label value no allowlist lets in', () => {
    const env = { ALARM_TOPIC_ARN: TOPIC, ENABLED_ACTIONS: 'restart-host', RESTART_COMMAND: 'systemctl restart {service} {unit}', RESTART_ALLOWED_VALUES: 'other=x*' };
    expect(deployPreflight(env, 'prod', serviceDir()).warnings).toEqual([
      'RESTART_COMMAND takes {service} from a label, but RESTART_ALLOWED_SERVICES is empty: every restart-host click will be refused; list the values it may take',
      'RESTART_COMMAND takes {unit} from a label, but RESTART_ALLOWED_VALUES has no unit=<glob> entry: every restart-host click will be refused; list the values it may take',
    ]);
    expect(deployPreflight({ ...env, RESTART_ALLOWED_SERVICES: 'engine', RESTART_ALLOWED_VALUES: 'unit=app-*' }, 'prod', serviceDir()).warnings).toEqual([]);
  });

  it('throws one error listing every problem, after printing the warnings', () => {
    const warnings: string[] = [];
    expect(() => assertDeployable({ WEBHOOK_TOKENS: 't', DRY_RUN: 'true' }, { stage: 'prod-a', serviceDir: serviceDir() }, (line) => warnings.push(line))).toThrow(
      /^refusing to package stage "prod-a":\n {2}- the environment sets WEBHOOK_TOKENS .*\n {2}- the environment sets DRY_RUN=true/,
    );
    expect(warnings).toEqual([expect.stringMatching(/^WARNING: ALARM_TOPIC_ARN is not set/)]);
  });

  it('refuses EDGE_FIREWALL outside us-east-1, where no CloudFront web ACL can be created', () => {
    const env = { EDGE_FIREWALL: 'true', ALARM_TOPIC_ARN: TOPIC };
    expect(deployPreflight(env, 'prod', serviceDir(), 'eu-west-1').problems).toEqual(['EDGE_FIREWALL=true needs the stack in us-east-1 (a CloudFront web ACL exists only there), not eu-west-1']);
    expect(deployPreflight(env, 'prod', serviceDir(), 'us-east-1').problems).toEqual([]);
  });
});

describe('the local configuration', () => {
  it('reads deploy/local.env and .env.local, never the deploy configuration in .env', () => {
    const root = serviceDir({ '.env': 'DRY_RUN=false\nWEBHOOK_TOKENS_PARAM=/prod/tokens\n', '.env.local': 'PORT=4000\n' });
    mkdirSync(join(root, 'deploy'));
    writeFileSync(join(root, 'deploy', 'local.env'), 'DRY_RUN=true\nPORT=3000\n');
    const env = localEnv(root, { SQS_PORT: '9999' });
    expect(env).toEqual({ DRY_RUN: 'true', PORT: '4000', SQS_PORT: '9999' });
  });
});
