import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rollback } from '../../lib/actions/rollback';
import { labelView, selectTarget } from '../../lib/actions/rollback/select';
import { actionConfig } from '../../lib/config/worker';
import { secretParameters } from '../../lib/schema/secret';

const github = { provider: 'github', repo: 'acme/shop', workflow: 'rollback.yml', ref: 'main', token_param: '/flashduty-actions/prod/github-token' };
const read = (targets: unknown, env: NodeJS.ProcessEnv = {}) => actionConfig(rollback, { ROLLBACK_TARGETS: JSON.stringify(targets), ...env });

describe('rollback configuration', () => {
  it('reads a GitHub target with its defaults; its token is an SSM reference the package step grants', () => {
    const [target] = read([github]).ROLLBACK_TARGETS;
    expect(target).toMatchObject({ provider: 'github', api_url: 'https://api.github.com', match: {}, inputs: {}, timeout_seconds: 10 });
    expect(secretParameters(read([github]))).toEqual(['/flashduty-actions/prod/github-token']);
  });

  it('reads targets from a YAML file given as ROLLBACK_TARGETS_FILE', () => {
    const root = mkdtempSync(join(tmpdir(), 'rollback-'));
    writeFileSync(join(root, 'targets.yaml'), '- provider: webhook\n  url: https://deploy.example.com/hooks/rollback\n  body: {service: "{{ labels.service }}"}\n');
    const config = actionConfig(rollback, { ROLLBACK_TARGETS_FILE: 'targets.yaml' }, root);
    expect(config.ROLLBACK_TARGETS[0]).toMatchObject({ provider: 'webhook', method: 'POST' });
  });

  it('refuses no targets at cold start (and packaging): an enabled rollback with nowhere to go is a mistake', () => {
    expect(() => actionConfig(rollback, {})).toThrow(/ROLLBACK_TARGETS: set ROLLBACK_TARGETS \(JSON\) or ROLLBACK_TARGETS_FILE/);
    expect(() => actionConfig(rollback, { ROLLBACK_TARGETS: '[]' })).toThrow(/ROLLBACK_TARGETS: .*list at least one target, or leave rollback out of ENABLED_ACTIONS/);
  });

  it.each([
    [[{ ...github, provider: 'jenkins' }], '0.provider: expected ("github" | "gitlab" | "webhook")'],
    [[{ ...github, token: 'inline' }], 'set token (local use) or token_param (an SSM SecureString name), not both'],
    [[{ ...github, token_param: undefined }], 'set token (local use) or token_param'],
    [[{ ...github, repo: 'acme/shop/../evil' }], 'ROLLBACK_TARGETS: inline JSON: 0.repo: expected owner/name'],
    [[{ ...github, ref: '{{ labels.branch }}' }], '0.ref: expected a branch or tag name'],
    [[{ ...github, inputs: { service: '{{ labels.service ' } }], '0.inputs: service: template "{{ labels.service ": "{{" is never closed'],
    [[{ ...github, extra: 1 }], '0.extra: is not a known key'],
    [[{ provider: 'webhook', url: 'ftp://x' }], '0.url: expected an http(s) URL'],
    [[{ provider: 'gitlab', project: 'acme/shop', ref: 'main' }], 'set token (local use) or token_param'],
  ])('refuses %j with a message naming the problem', (targets, message) => {
    expect(() => read(targets)).toThrow(message);
  });

  it('never echoes an inline token in an error', () => {
    expect(() => read([{ ...github, token: 'ghp_supersecret', repo: 'bad' }])).toThrow(/^(?!.*ghp_supersecret)/s);
  });
});

describe('choosing a rollback target', () => {
  const targets = read([
    { ...github, name: 'a', match: { service: ['payments', 'billing'], env: 'prod' } },
    { ...github, name: 'b', match: { service: 'engine' } },
    { ...github, name: 'fallback' },
  ]).ROLLBACK_TARGETS;

  it('takes the first target all of whose match keys fit', () => {
    expect(selectTarget(targets, { service: 'billing', env: 'prod' })?.name).toBe('a');
    expect(selectTarget(targets, { service: 'billing', env: 'dev' })?.name).toBe('fallback');
    expect(selectTarget(targets, { service: 'engine' })?.name).toBe('b');
  });

  it('never matches a label on inherited object keys such as constructor or toString', () => {
    const strict = read([{ ...github, match: { constructor: 'x' } }, { ...github, match: { toString: ['y'] } }]).ROLLBACK_TARGETS;
    expect(selectTarget(strict, {})).toBeUndefined();
  });

  it("looks at the incident's labels first, then each alert's for keys the incident lacks", () => {
    const alerts = [{ labels: { env: 'dev', region: 'nj' } }, { labels: { env: 'prod', zone: 'a' } }];
    expect(labelView({ service: 'engine', env: 'prod' }, alerts)).toEqual({ service: 'engine', env: 'prod', region: 'nj', zone: 'a' });
    expect(labelView(undefined, alerts).env).toBe('dev');
  });
});
