import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors';

/**
 * The set of source addresses allowed to call the receiver: single IPs and CIDRs, IPv4 and IPv6.
 * Checked against the address API Gateway saw (`requestContext.http.sourceIp`), never a header.
 */
export class IpAllowlist {
  private readonly list = new BlockList();

  constructor(entries: readonly string[], variable = 'ALLOWED_IPS') {
    if (entries.length === 0) throw new ConfigError(`${variable}: must list at least one IP or CIDR`);
    for (const entry of entries) this.add(entry, variable);
  }

  allows(address: string | undefined): boolean {
    const ip = normalize(address ?? '');
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }

  private add(entry: string, variable: string): void {
    const [address = '', prefix, ...rest] = entry.split('/');
    const ip = normalize(address);
    const family = isIP(ip);
    const bits = family === 4 ? 32 : 128;
    const length = prefix === undefined ? bits : Number(prefix);
    if (family === 0 || rest.length > 0 || !Number.isInteger(length) || length < 0 || length > bits || prefix === '') {
      throw new ConfigError(`${variable}: "${entry}" is not an IP address or CIDR (e.g. 203.0.113.7 or 10.0.0.0/8)`);
    }
    this.list.addSubnet(ip, length, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:1.2.3.4` (how Node reports IPv4 peers on a dual-stack socket) is the IPv4 address. */
function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address.trim());
  return mapped?.[1] ?? address.trim();
}
