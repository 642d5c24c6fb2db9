import fc from 'fast-check';
import { restartHost } from '../../lib/actions/restart-host';
import { ALWAYS_REFUSED, globMatches } from '../../lib/actions/restart-host/allowlist';
import { renderCommand } from '../../lib/actions/restart-host/config';
import { actionConfig } from '../../lib/config/worker';

const configWith = (env: NodeJS.ProcessEnv) => actionConfig(restartHost, env);

describe('restart-host label allowlist', () => {
  it('never lets a hostile label value into the command, even with RESTART_ALLOWED_SERVICES=*', () => {
    const config = configWith({ RESTART_ALLOWED_SERVICES: '*' });
    const hostile = fc.oneof(
      fc.string(),
      fc.constantFrom('poweroff', 'reboot', 'halt', 'rescue', 'emergency', 'amazon-ssm-agent', 'snap.amazon-ssm-agent.amazon-ssm-agent').map((u) => `${u}.TARGET`),
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,20}$/).map((u) => `${u}.target`),
    );
    fc.assert(
      fc.property(hostile, (value) => {
        const rendered = renderCommand(config, () => value);
        if (!rendered.ok) return void expect(rendered.problem).toMatch(/^the command needs|^label "service"/);
        expect(rendered.command).toBe(`systemctl restart '${value}'`);
        expect(value).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/);
        expect(ALWAYS_REFUSED.some((rule) => globMatches(rule.glob, value, 'i'))).toBe(false);
      }),
    );
  });

  it('refuses the systemd services that power off, reboot or suspend the host, with or without .service, whatever the patterns say', () => {
    const config = configWith({ RESTART_ALLOWED_SERVICES: '*' });
    for (const unit of ['systemd-poweroff', 'systemd-reboot.service', 'systemd-halt', 'systemd-kexec.service', 'systemd-suspend', 'SYSTEMD-HIBERNATE.SERVICE', 'rescue', 'emergency.service', 'systemd-exit', 'systemd-exit.service']) {
      const rendered = renderCommand(config, () => unit);
      expect(rendered).toEqual({ ok: false, problem: expect.stringMatching(new RegExp(`^label "service" is "${unit}", refused by the built-in rule`)) });
    }
    expect(renderCommand(config, () => 'systemd-journald')).toMatchObject({ ok: true });
  });

  it('matches globs on the whole value, with regular-expression characters taken literally', () => {
    expect(globMatches('api-*.service', 'api-orders.service')).toBe(true);
    expect(globMatches('api-*.service', 'api-orders.service.evil')).toBe(false);
    expect(globMatches('api-?', 'api-1')).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('engine', 'Engine')).toBe(false);
  });
});
