// A SidecarConfig compiled for deciding: CIDRs parsed once, services resolved. Built
// once per config load; every association keeps the Policy it started with.
import type { PeerConfig, SidecarConfig } from '../config/schema.ts';
import { compileIpBlock, type Address, type AddressRange } from './address.ts';

export interface Peer {
  readonly name: string;
  /** Calling AE titles, or undefined for "*" (any). */
  readonly aeTitles: ReadonlySet<string> | undefined;
  /** Undefined: any source address. */
  readonly ipBlocks: readonly AddressRange[] | undefined;
  readonly users: ReadonlySet<string> | undefined;
  readonly groups: ReadonlySet<string> | undefined;
  readonly clientCertificateNames: ReadonlySet<string> | undefined;
  /** Service names and raw SOP class UIDs; undefined: all. */
  readonly services: readonly string[] | undefined;
  /** C-MOVE destinations (AE titles, trimmed); undefined: any. */
  readonly moveDestinations: ReadonlySet<string> | undefined;
  readonly config: PeerConfig;
}

export interface Policy {
  readonly config: SidecarConfig;
  readonly calledAETitles: ReadonlySet<string>;
  readonly peers: readonly Peer[];
  /** True when every peer is bound to ipBlocks, so an address outside all of them can never be admitted. */
  readonly addressBound: boolean;
}

const optionalSet = (values: readonly string[] | undefined) => (values ? new Set(values) : undefined);

export function compilePolicy(config: SidecarConfig): Policy {
  const peers = config.peers.map(
    (peer): Peer => ({
      name: peer.name,
      aeTitles: peer.aeTitles.includes('*') ? undefined : new Set(peer.aeTitles.map((t) => t.trim())),
      ipBlocks: peer.ipBlocks?.map(compileIpBlock),
      users: optionalSet(peer.users),
      groups: optionalSet(peer.groups),
      clientCertificateNames: optionalSet(peer.clientCertificateNames?.map((n) => n.toLowerCase())),
      services: peer.services,
      moveDestinations: optionalSet(peer.moveDestinations?.map((t) => t.trim())),
      config: peer,
    }),
  );
  return {
    config,
    calledAETitles: new Set(config.calledAETitles.map((t) => t.trim())),
    peers,
    addressBound: peers.every((p) => p.ipBlocks !== undefined),
  };
}

export function peerAllowsAddress(peer: Peer, address: Address): boolean {
  return peer.ipBlocks === undefined || peer.ipBlocks.some((block) => block.contains(address));
}

/**
 * Whether a connection from this address can ever be admitted. When it cannot, the
 * sidecar closes it before reading a byte (api.md: "closed before any byte is read").
 */
export function mayConnect(policy: Policy, address: Address): boolean {
  return policy.peers.some((peer) => peerAllowsAddress(peer, address));
}
