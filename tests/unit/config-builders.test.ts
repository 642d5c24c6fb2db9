import { join } from 'node:path';
import fc from 'fast-check';
import { inspect } from 'node:util';
import * as v from 'valibot';
import { actionConfig } from '../../lib/config/worker';
import { readConfig, secretVar } from '../../lib/schema/env';
import { inlineSecret, SecretRef, secretParameters } from '../../lib/schema/secret';
import { jsonVar } from '../../lib/schema/structured';
import { probeAction } from '../fixtures/probe-action';

const ROOT = join(__dirname, '..', '..');
const read = (env: NodeJS.ProcessEnv) => actionConfig(probeAction, env, ROOT);
const problem = (env: NodeJS.ProcessEnv) => {
  try {
    read(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('jsonVar: structured settings', () => {
  it('takes inline JSON', () => {
    const config = read({ PROBE_SOURCES: '[{"name":"a","url":"https://a.example"}]' });
    expect(config.PROBE_SOURCES).toEqual([{ name: 'a', url: 'https://a.example', headers: {} }]);
  });

  it('takes a JSON file relative to the project root', () => {
    expect(read({ PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.json' }).PROBE_SOURCES).toEqual([
      { name: 'logs', url: 'https://loki.example/query', headers: { 'x-scope': 'team-a' } },
    ]);
  });

  it('takes a YAML file, with a secret header resolved to a reference, not a value', () => {
    const [traces, cmdb] = read({ PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.yaml' }).PROBE_SOURCES;
    expect(traces!.headers.authorization).toBeInstanceOf(SecretRef);
    expect(traces!.headers.authorization).toMatchObject({ parameter: '/flashduty-actions/test/tempo-token', prefix: 'Bearer ' });
    expect(cmdb).toEqual({ name: 'cmdb', url: 'https://cmdb.example/hosts/{{ labels.host }}', headers: {} });
  });

  it('uses its default when neither form is given', () => {
    expect(read({}).PROBE_SOURCES).toEqual([]);
  });

  it.each([
    [{ PROBE_SOURCES: '[]', PROBE_SOURCES_FILE: 'x.json' }, 'PROBE_SOURCES: PROBE_SOURCES and PROBE_SOURCES_FILE are both set; set exactly one'],
    [{ PROBE_SOURCES: '[{"name":' }, 'PROBE_SOURCES: inline JSON does not parse ('],
    [{ PROBE_SOURCES_FILE: 'tests/fixtures/config/broken.json' }, 'PROBE_SOURCES: tests/fixtures/config/broken.json does not parse ('],
    [{ PROBE_SOURCES_FILE: 'tests/fixtures/config/missing.yaml' }, 'PROBE_SOURCES: cannot read tests/fixtures/config/missing.yaml (ENOENT)'],
    [{ PROBE_SOURCES_FILE: '../outside.json' }, 'PROBE_SOURCES: PROBE_SOURCES_FILE must be a path inside the project, got "../outside.json"'],
    [{ PROBE_SOURCES_FILE: 'tests/fixtures/config/wrong-shape.yaml' }, 'PROBE_SOURCES: tests/fixtures/config/wrong-shape.yaml: 0.url: expected string, got number'],
    [{ PROBE_SOURCES: '{"name":"a"}' }, 'PROBE_SOURCES: inline JSON: (value): expected Array, got object'],
    [{ PROBE_SOURCES: '[{"name":"a","url":"u","headers":{"x":{"secret_param":"/p","secret_value":"v"}}}]' }, 'PROBE_SOURCES: inline JSON: 0.headers.x: set exactly one of secret_param (an SSM SecureString name) or secret_value (local use)'],
    [{ PROBE_SOURCES: '[{"name":"a","url":"u","headers":{"x":{"secret_parm":"/p"}}}]' }, 'PROBE_SOURCES: inline JSON: 0.headers.x.secret_parm: is not a known key'],
  ])('refuses %j, naming the key, the file and the path inside the value', (env, message) => {
    expect(problem(env)).toContain(message);
  });

  it('never quotes the input of a JSON value that does not parse (it may hold a secret)', () => {
    expect(problem({ PROBE_SOURCES: '[{"secret_value": hunter2}]' })).not.toContain('hunter2');
  });

  it('requires a value when it has no default', () => {
    const schema = v.object({ PROBE_MAP: jsonVar(v.record(v.string(), v.string()), 'A map.') });
    expect(() => readConfig(schema, {}, 'probe configuration')).toThrow('PROBE_MAP: set PROBE_MAP (JSON) or PROBE_MAP_FILE (a JSON or YAML file)');
  });
});

describe('secretVar and secretRef: secrets', () => {
  it('takes an SSM parameter name from <KEY>_PARAM', () => {
    expect(read({ PROBE_TOKEN_PARAM: '/team/probe-token' }).PROBE_TOKEN).toMatchObject({ label: 'PROBE_TOKEN', parameter: '/team/probe-token' });
  });

  it('takes an inline value for local use, which no JSON, inspect or string form shows', () => {
    const ref = read({ PROBE_TOKEN: 'hunter2-inline' }).PROBE_TOKEN!;
    expect(inlineSecret(ref)).toBe('hunter2-inline');
    for (const shown of [JSON.stringify({ ref }), inspect(ref), String(ref), inspect({ nested: [ref] }, { depth: 5 })]) expect(shown).not.toContain('hunter2');
  });

  it('is optional unless required, and never echoes a value in an error', () => {
    expect(read({}).PROBE_TOKEN).toBeUndefined();
    expect(problem({ PROBE_TOKEN: 'hunter2-inline', PROBE_TOKEN_PARAM: '/p' })).toBe('invalid probe configuration: PROBE_TOKEN: PROBE_TOKEN and PROBE_TOKEN_PARAM are both set; set exactly one');
    const required = v.object({ PROBE_KEY: secretVar('A key.', { required: true }) });
    expect(() => readConfig(required, {})).toThrow('PROBE_KEY: set PROBE_KEY (local use) or PROBE_KEY_PARAM (an SSM SecureString name)');
  });

  it('finds every SSM parameter a parsed config refers to, at any depth, once each', () => {
    const config = read({ PROBE_SOURCES_FILE: 'tests/fixtures/config/sources.yaml', PROBE_TOKEN_PARAM: '/team/probe-token' });
    expect(secretParameters(config).sort()).toEqual(['/flashduty-actions/test/tempo-token', '/team/probe-token']);
    expect(secretParameters(read({ PROBE_TOKEN: 'inline' }))).toEqual([]);
  });
});

describe('config errors never carry a secret (property)', () => {
  const secret = fc.stringMatching(/^[A-Za-z0-9+/=_-]{12,60}$/).map((value) => `S3cr-${value}`);

  it('holds for a secret given both ways, and for a secret inside structured JSON that does not parse or fit', () => {
    fc.assert(
      fc.property(secret, fc.constantFrom('', '}', ']', ',"x":', '"'), (value, tail) => {
        expect(problem({ PROBE_TOKEN: value, PROBE_TOKEN_PARAM: '/p' })).not.toContain(value);
        expect(problem({ PROBE_SOURCES: `[{"name":"a","url":"u","headers":{"h":{"secret_value":"${value}"${tail}` })).not.toContain(value);
        expect(problem({ PROBE_SOURCES: `[{"name":"a","url":"u","headers":{"h":{"secret_value":"${value}","secret_param":"/p"}}}]` })).not.toContain(value);
      }),
    );
  });
});
