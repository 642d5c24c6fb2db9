import { IpAllowlist } from '../../lib/auth/ip-allowlist';
import { FLASHDUTY_SOURCE_IPS } from '../../lib/flashduty/facts';

describe('IpAllowlist', () => {
  it('allows exactly the listed single addresses', () => {
    const list = new IpAllowlist(FLASHDUTY_SOURCE_IPS);
    expect(list.allows('47.94.95.118')).toBe(true);
    expect(list.allows('1.13.19.96')).toBe(true);
    expect(list.allows('47.94.95.119')).toBe(false);
  });

  it('allows addresses inside a CIDR and refuses those outside it', () => {
    const list = new IpAllowlist(['10.1.0.0/16', '2001:db8::/32']);
    expect(list.allows('10.1.255.3')).toBe(true);
    expect(list.allows('10.2.0.1')).toBe(false);
    expect(list.allows('2001:db8:0:1::5')).toBe(true);
    expect(list.allows('2001:db9::1')).toBe(false);
  });

  it('treats an IPv4-mapped IPv6 peer address as the IPv4 address', () => {
    const list = new IpAllowlist(['127.0.0.1']);
    expect(list.allows('::ffff:127.0.0.1')).toBe(true);
  });

  it('refuses missing and malformed addresses', () => {
    const list = new IpAllowlist(['0.0.0.0/0']);
    expect(list.allows(undefined)).toBe(false);
    expect(list.allows('')).toBe(false);
    expect(list.allows('not-an-ip')).toBe(false);
    expect(list.allows('1.2.3.4, 5.6.7.8')).toBe(false);
  });

  it.each(['1.2.3', '10.0.0.0/33', '10.0.0.0/', 'fe80::/129', 'host.example.com', '1.2.3.4/8/9'])(
    'names the variable and the bad entry "%s" at construction',
    (entry) => {
      expect(() => new IpAllowlist([entry])).toThrow(`ALLOWED_IPS: "${entry}" is not an IP address or CIDR`);
    },
  );

  it('refuses an empty list rather than allowing everyone', () => {
    expect(() => new IpAllowlist([])).toThrow('ALLOWED_IPS: must list at least one IP or CIDR');
  });
});
