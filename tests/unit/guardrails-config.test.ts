import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { configGroups, declaredKeys } from '../../deploy/config-catalog';
import { configReference, renderLocalEnv } from '../../deploy/config-docs';
import { serverlessFunctions, workerFunctionKey } from '../../deploy/serverless-parts';
import { stackSettings } from '../../deploy/stack';
import { ACTIONS } from '../../lib/actions/registry';
import { defineAction } from '../../lib/actions/types';
import { stringVar } from '../../lib/config/env';
import { guardrailKeys } from '../../lib/config/guardrails';
import { workerConfig } from '../../lib/config/worker';
import { probeAction } from '../fixtures/probe-action';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** A new action made the way the README says: echo's module copied and renamed, one key of its own, no guardrail code. */
const copiedEcho = defineAction({
  name: 'copied-echo',
  description: 'echo, copied under another name.',
  sideEffects: false,
  config: v.object({ COPIED_ECHO_NOTE: stringVar(undefined, 'A line added to every comment.') }),
  run: async ({ message }) => ({ status: 'succeeded', summary: `received the click on ${message.payload.incident.incident_id}` }),
});

const known = [...ACTIONS, probeAction, copiedEcho];
const base = { ENABLED_ACTIONS: 'echo,probe,copied-echo' };
const settingsFor = (env: NodeJS.ProcessEnv) => ({ ...stackSettings(env, 'test', known), moduleOf: (action: string) => `lib/actions/${action}` });
const functions = (env: NodeJS.ProcessEnv) => serverlessFunctions(settingsFor({ ...base, ...env }), { ...base, ...env }) as Record<string, { environment: Record<string, unknown> }>;
/** The README section of one action: from its heading to the next. */
const section = (text: string, action: string) => text.split(`#### Action \`${action}\``)[1]!.split('####')[0]!;

describe("the guardrail keys the platform derives from each action's name", () => {
  it('names them after the action, upper-cased with dashes as underscores', () => {
    expect(guardrailKeys('restart-host')).toEqual({ allowedPersons: 'RESTART_HOST_ALLOWED_PERSONS', maxRunsPerHour: 'RESTART_HOST_MAX_RUNS_PER_HOUR' });
  });

  it("lists both under each action in the README's generated reference, with their defaults", () => {
    for (const action of ACTIONS) {
      const { allowedPersons, maxRunsPerHour } = guardrailKeys(action.name);
      const own = section(readme, action.name);
      expect(own).toContain(`| \`${allowedPersons}\` | (none) | FlashDuty person ids or emails allowed to click ${action.name}; empty lets anyone.`);
      expect(own).toContain(`| \`${maxRunsPerHour}\` | \`0\` | Runs of ${action.name} allowed in any hour across all incidents`);
      for (const other of ACTIONS.filter((a) => a !== action)) expect(own).not.toContain(guardrailKeys(other.name).allowedPersons);
    }
  });

  it('copies them into that action\'s worker only, never into another worker or the receiver', () => {
    const env = { PROBE_ALLOWED_PERSONS: '1999632289504,oncall@example.com', PROBE_MAX_RUNS_PER_HOUR: '3', ECHO_MAX_RUNS_PER_HOUR: '5' };
    const all = functions(env);
    const probe = all[workerFunctionKey('probe')]!.environment;
    const echoEnv = all[workerFunctionKey('echo')]!.environment;
    expect(probe).toMatchObject({ PROBE_ALLOWED_PERSONS: '1999632289504,oncall@example.com', PROBE_MAX_RUNS_PER_HOUR: '3' });
    expect(probe).not.toHaveProperty('ECHO_MAX_RUNS_PER_HOUR');
    expect(echoEnv).toMatchObject({ ECHO_MAX_RUNS_PER_HOUR: '5' });
    for (const key of ['PROBE_ALLOWED_PERSONS', 'PROBE_MAX_RUNS_PER_HOUR']) expect(echoEnv).not.toHaveProperty(key);
    for (const key of Object.keys(env)) expect(all.receiver!.environment).not.toHaveProperty(key);
  });

  it.each([
    ['PROBE_ALLOWED_PERSONS', 'zhangsan,1999632289504', 'PROBE_ALLOWED_PERSONS: expected FlashDuty person ids (digits) or emails, got "zhangsan"'],
    ['PROBE_MAX_RUNS_PER_HOUR', '-1', 'PROBE_MAX_RUNS_PER_HOUR: expected an integer between 0 and 1000, got "-1"'],
  ])('fails the package on a bad %s, naming the key and what was expected', (key, value, message) => {
    expect(() => functions({ [key]: value })).toThrow(message);
  });

  it('reaches the worker config at cold start: person ids as strings, emails in lower case', () => {
    const env = { ACTION_NAME: 'probe', QUEUE_URL: 'q', IDEMPOTENCY_TABLE: 't', FLASHDUTY_APP_KEY: 'k', PROBE_ALLOWED_PERSONS: ' 42 , OnCall@Example.com ', PROBE_MAX_RUNS_PER_HOUR: '7' };
    expect(workerConfig(env, known).guardrails).toEqual({ allowedPersons: ['42', 'oncall@example.com'], maxRunsPerHour: 7, keys: guardrailKeys('probe') });
    expect(workerConfig({ ...env, PROBE_ALLOWED_PERSONS: '', PROBE_MAX_RUNS_PER_HOUR: '' }, known).guardrails).toMatchObject({ allowedPersons: [], maxRunsPerHour: 0 });
  });

  it('gives a new action copied from echo both keys, in the reference, local.env and its worker, with no code of its own', () => {
    const groups = configGroups([...ACTIONS, copiedEcho]);
    expect(section(configReference(groups), 'copied-echo')).toMatch(/COPIED_ECHO_NOTE[\s\S]*COPIED_ECHO_ALLOWED_PERSONS[\s\S]*COPIED_ECHO_MAX_RUNS_PER_HOUR/);
    expect(renderLocalEnv('', [copiedEcho])).toContain('# copied-echo\n#COPIED_ECHO_NOTE=\n#COPIED_ECHO_ALLOWED_PERSONS=\n#COPIED_ECHO_MAX_RUNS_PER_HOUR=0\n');
    expect(functions({ COPIED_ECHO_MAX_RUNS_PER_HOUR: '2' })[workerFunctionKey('copied-echo')]!.environment).toMatchObject({ COPIED_ECHO_MAX_RUNS_PER_HOUR: '2' });
  });

  it('refuses an action that declares one of its guardrail keys itself, so the key keeps one meaning', () => {
    const config = v.object({ COPIED_ECHO_ALLOWED_PERSONS: stringVar(undefined, 'Who may click.') });
    const own = defineAction({ name: 'copied-echo', description: 'd', config, run: async () => ({ status: 'succeeded', summary: '' }) });
    expect(() => declaredKeys(configGroups([own]))).toThrow('COPIED_ECHO_ALLOWED_PERSONS is declared twice (Action `copied-echo` and Action `copied-echo`)');
  });
});
