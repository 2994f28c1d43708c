// Source addresses and the peers' ipBlocks. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d,
// what a dual-stack listener reports for IPv4 clients) are compared as IPv4.
import ipaddr from 'ipaddr.js';
import type { IpBlockConfig } from '../config/schema.ts';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

export interface AddressRange {
  readonly cidr: string;
  contains(address: Address): boolean;
}

function range(cidr: string): Range {
  const [address, bits] = ipaddr.parseCIDR(cidr);
  // A block written as ::ffff:10.0.0.0/104 means the IPv4 block 10.0.0.0/8.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [address, bits];
}

function inRange(address: Address, [base, bits]: Range): boolean {
  return address.kind() === base.kind() && address.match(base, bits);
}

/** An ipBlock with its except list, compiled once per config. */
export function compileIpBlock(block: IpBlockConfig): AddressRange {
  const include = range(block.cidr);
  const exclude = block.except.map(range);
  return {
    cidr: block.except.length ? `${block.cidr} except ${block.except.join(', ')}` : block.cidr,
    contains: (address) => inRange(address, include) && !exclude.some((r) => inRange(address, r)),
  };
}

/** Parse a socket's remoteAddress; undefined when it is not an IP address at all. */
export function parseSourceAddress(text: string | undefined): Address | undefined {
  if (!text) return undefined;
  // Link-local IPv6 may carry a zone ("fe80::1%eth0"); the zone does not change the address.
  const withoutZone = text.replace(/%.*$/, '');
  if (!ipaddr.isValid(withoutZone)) return undefined;
  return ipaddr.process(withoutZone);
}

export type { Address };
