// In-cluster peers: a peer's `from` selectors resolved to the pods they pick now, and
// those pods' addresses as single-address ipBlocks for the sidecar (which sees source
// addresses, not labels). The NetworkPolicy keeps the selectors themselves.
import ipaddr from 'ipaddr.js';
import type { DicomAccessPolicy, PeerSource } from '../api/v1alpha1.ts';
import { labelSelectorMatches, type Labels } from './selection.ts';

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels?: Labels;
  /** status.podIPs (one per family on a dual-stack cluster). */
  readonly ips: readonly string[];
  /** status.phase; Succeeded and Failed pods hold no address any more. */
  readonly phase?: string;
  /** spec.hostNetwork: such a pod's address is its node's, shared with everything on the node. */
  readonly hostNetwork?: boolean;
}

/** A pod whose containers are done (phase Succeeded or Failed): it runs nothing and holds no address. */
export const finished = (pod: Pick<PodInfo, 'phase'>): boolean => pod.phase === 'Succeeded' || pod.phase === 'Failed';

export interface NamespaceInfo {
  readonly name: string;
  readonly labels?: Labels;
}

/** For each peer with `from` entries (by name), the pods those entries select now. */
export type PeerPods = Readonly<Record<string, readonly PodInfo[]>>;

/** NetworkPolicy peer semantics: podSelector alone is the policy's namespace; namespaceSelector picks namespaces. */
function sourceSelects(source: PeerSource, policyNamespace: string, pod: PodInfo, namespaceLabels: ReadonlyMap<string, Labels>): boolean {
  if (source.namespaceSelector) {
    const labels = namespaceLabels.get(pod.namespace);
    if (!labels || !labelSelectorMatches(source.namespaceSelector, labels)) return false;
  } else if (pod.namespace !== policyNamespace) {
    return false;
  }
  return !source.podSelector || labelSelectorMatches(source.podSelector, pod.labels);
}

/** Whether a pod's addresses may stand for it: it has some, they are its own, and it still runs. */
function addressable(pod: PodInfo): boolean {
  return pod.ips.length > 0 && !pod.hostNetwork && !finished(pod);
}

/**
 * Resolves every peer's `from` entries against the pods and namespaces the operator's
 * caches hold. Pods without addresses, finished pods and hostNetwork pods are left out
 * (a node address would admit every process on that node).
 */
export function resolvePeerPods(
  policy: Pick<DicomAccessPolicy, 'metadata' | 'spec'>,
  pods: readonly PodInfo[],
  namespaces: readonly NamespaceInfo[],
): PeerPods {
  const namespaceLabels = new Map(namespaces.map((n) => [n.name, n.labels ?? {}]));
  const result: Record<string, PodInfo[]> = {};
  for (const peer of policy.spec.peers ?? []) {
    if (!peer.from) continue;
    result[peer.name] = pods.filter((pod) => addressable(pod) && peer.from!.some((source) => sourceSelects(source, policy.metadata.namespace, pod, namespaceLabels)));
  }
  return result;
}

/** Pod addresses as /32 and /128 blocks: deduplicated, IPv4 before IPv6, in numeric order. */
export function podAddressBlocks(pods: readonly PodInfo[]): string[] {
  const parsed = new Map<string, ipaddr.IPv4 | ipaddr.IPv6>();
  for (const pod of pods) {
    for (const ip of pod.ips) {
      if (!ipaddr.isValid(ip)) continue;
      const address = ipaddr.process(ip); // ::ffff:a.b.c.d is the IPv4 address a.b.c.d
      parsed.set(address.toString(), address);
    }
  }
  const bytes = (a: ipaddr.IPv4 | ipaddr.IPv6) => a.toByteArray();
  return [...parsed.values()]
    .sort((a, b) => {
      const x = bytes(a);
      const y = bytes(b);
      if (x.length !== y.length) return x.length - y.length;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return 0;
    })
    .map((a) => `${a.toString()}/${a.kind() === 'ipv4' ? 32 : 128}`);
}
