import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { serverlessFunctions, serverlessResources, workerFunctionKey, workerRoleId } from '../../deploy/serverless-parts';
import { stackSettings } from '../../deploy/stack';
import { ACTIONS } from '../../lib/actions/registry';
import { actionConfig } from '../../lib/config/worker';
import { probeAction } from '../fixtures/probe-action';

const ROOT = join(__dirname, '..', '..');

/** Deploy-time derivation, from the schemas alone: what each function gets, ships and may read. */
const known = [...ACTIONS, probeAction];
const base = { ENABLED_ACTIONS: 'echo,probe' };
// The probe action lives in tests/fixtures, not lib/actions, so it names its own module.
const settingsFor = (env: NodeJS.ProcessEnv) => ({ ...stackSettings(env, 'test', known), moduleOf: () => 'tests/fixtures/probe-action' });
const functions = (env: NodeJS.ProcessEnv) => serverlessFunctions(settingsFor(env), env) as Record<string, any>;
const probeWorker = (env: NodeJS.ProcessEnv) => functions({ ...base, ...env })[workerFunctionKey('probe')];
const parametersOf = (env: NodeJS.ProcessEnv, action: string) => {
  const resources = serverlessResources(settingsFor({ ...base, ...env }), { ...base, ...env }).Resources as Record<string, any>;
  return resources[workerRoleId(action)].Properties.Policies[0].PolicyDocument.Statement.filter((s: any) => s.Action.includes('ssm:GetParameter')).map((s: any) =>
    s.Resource['Fn::Sub'].replace('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter', ''),
  );
};

describe('what the package step derives from the declarations', () => {
  it("refuses a stage name that would make a function or queue name longer than AWS allows, saying how long it may be", () => {
    const env = { ENABLED_ACTIONS: 'status-page' };
    const long = { ...stackSettings(env, 'customer-acme-production-eu-west-1', ACTIONS) };
    expect(() => serverlessFunctions(long, env)).toThrow(
      'stage "customer-acme-production-eu-west-1" makes the name flashduty-actions-customer-acme-production-eu-west-1-statusPageWorker 69 characters long, over Lambda\'s function name limit of 64; use a stage name at most 29 characters long',
    );
  });

  it('suggests a stage length that fits every name, not only the first one over', () => {
    const env = { ENABLED_ACTIONS: 'echo,restart-host' };
    const refusal = (stage: string) => {
      try {
        serverlessFunctions(stackSettings(env, stage, ACTIONS), env);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };
    const suggested = Number(/at most (\d+) characters/.exec(refusal('s'.repeat(36)) ?? '')?.[1]);
    expect(suggested).toBe(28);
    expect(refusal('s'.repeat(suggested))).toBeUndefined();
  });

  it('gives a worker the operator keys its schemas declare, and nothing another function or the local stack reads', () => {
    const env = probeWorker({ PROBE_LIMIT: '4', RESTART_COMMAND: 'reboot', ALLOWED_IPS: '10.0.0.1', DRY_RUN: 'true', AWS_ENDPOINT_URL_SSM: 'http://x', SQS_PORT: '1' }).environment;
    expect(env).toMatchObject({ PROBE_LIMIT: '4', DRY_RUN: 'true', ACTION_NAME: 'probe', FLASHDUTY_APP_KEY_PARAM: '/flashduty-actions/test/flashduty-app-key' });
    for (const key of ['RESTART_COMMAND', 'ALLOWED_IPS', 'AWS_ENDPOINT_URL_SSM', 'SQS_PORT']) expect(env).not.toHaveProperty(key);
    expect(functions({ ...base, ALLOWED_IPS: '10.0.0.1', PROBE_LIMIT: '4' }).receiver.environment).toMatchObject({ ALLOWED_IPS: '10.0.0.1' });
    expect(functions({ ...base, PROBE_LIMIT: '4' }).receiver.environment).not.toHaveProperty('PROBE_LIMIT');
  });

  it('ships a structured setting given as a YAML file in that worker only, converted to JSON, and passes its path', () => {
    const all = functions({ ...base, PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.yaml' });
    const shipped = '.build/config/test/probe/PROBE_SOURCES.json';
    expect(all[workerFunctionKey('probe')]).toMatchObject({ environment: { PROBE_SOURCES_FILE: shipped }, package: { patterns: [shipped] } });
    expect(all[workerFunctionKey('echo')].package).toBeUndefined();
    expect(JSON.parse(readFileSync(join(ROOT, shipped), 'utf8'))).toEqual(parseYaml(readFileSync(join(ROOT, 'tests/fixtures/config/sources.yaml'), 'utf8')));
    // What the worker reads at cold start validates the same as the operator's file.
    expect(actionConfig(probeAction, { PROBE_SOURCES_FILE: shipped }, ROOT)).toEqual(actionConfig(probeAction, { PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.yaml' }, ROOT));
  });

  it('ships EVENT_RULES_FILE in the receiver as JSON, and fails the package on a rule running an action it does not deploy', () => {
    const rulesFile = 'tests/fixtures/config/event-rules.yaml';
    const receiver = functions({ ...base, EVENT_RULES_FILE: rulesFile }).receiver;
    const shipped = '.build/config/test/receiver/EVENT_RULES.json';
    expect(receiver).toMatchObject({ environment: { EVENT_RULES_FILE: shipped }, package: { patterns: [shipped] } });
    expect(JSON.parse(readFileSync(join(ROOT, shipped), 'utf8'))).toEqual(parseYaml(readFileSync(join(ROOT, rulesFile), 'utf8')));
    expect(receiver.events).toContainEqual({ httpApi: { method: 'POST', path: '/events' } });
    expect(() => functions({ ...base, EVENT_RULES: '[{"name":"enrich-new","on":["i_new"],"run":"enrich"}]' })).toThrow(
      'EVENT_RULES: rule "enrich-new" runs "enrich", which is not an enabled action (ENABLED_ACTIONS: echo, probe)',
    );
  });

  it('fails the package on a bad structured setting, naming the key, the file and the path inside it', () => {
    expect(() => probeWorker({ PROBE_SOURCES_FILE: 'tests/fixtures/config/wrong-shape.yaml' })).toThrow(
      'invalid probe configuration: PROBE_SOURCES: tests/fixtures/config/wrong-shape.yaml: 0.url: expected string, got number',
    );
  });

  it("fails the package when a worker's environment passes Lambda's 4 KB, pointing at the _FILE form", () => {
    const sources = JSON.stringify(Array.from({ length: 60 }, (_, i) => ({ name: `source-${i}`, url: `https://observability.example/api/v1/search/${i}` })));
    expect(() => probeWorker({ PROBE_SOURCES: sources })).toThrow(/probe worker: its environment would be \d+ bytes, over Lambda's 4096-byte limit; largest: PROBE_SOURCES \(\d+ bytes\).*PROBE_SOURCES_FILE=config\/probe-sources\.yaml/);
    expect(() => probeWorker({ PROBE_SOURCES: JSON.stringify(JSON.parse(sources).slice(0, 3)) })).not.toThrow();
  });

  it('lets each worker read exactly its declared secret parameters: its own, those in its structured config, and the app key', () => {
    const env = { PROBE_TOKEN_PARAM: '/team/probe-token', PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.yaml' };
    expect(parametersOf(env, 'probe').sort()).toEqual(['/flashduty-actions/test/flashduty-app-key', '/flashduty-actions/test/tempo-token', '/team/probe-token']);
    expect(parametersOf(env, 'echo')).toEqual(['/flashduty-actions/test/flashduty-app-key']);
    expect(parametersOf({ PROBE_TOKEN: 'local-only', FLASHDUTY_APP_KEY_PARAM: '/ops/app-key' }, 'probe')).toEqual(['/ops/app-key']);
  });

  it('passes an inline secret through (local use) and refuses both forms at once', () => {
    expect(probeWorker({ PROBE_TOKEN: 'local-only' }).environment).toMatchObject({ PROBE_TOKEN: 'local-only' });
    expect(() => probeWorker({ PROBE_TOKEN: 'a', PROBE_TOKEN_PARAM: '/p' })).toThrow('PROBE_TOKEN and PROBE_TOKEN_PARAM are both set; set exactly one');
  });
});
