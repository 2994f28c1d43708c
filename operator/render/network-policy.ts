// The NetworkPolicy of a policy: the selected pods accept DICOM on listen.port only, from
// the peers' ipBlocks and `from` selectors, plus the extraIngress rules; every other port,
// the PACS's own above all, stays closed (a NetworkPolicy with policyTypes [Ingress]
// denies what its rules do not allow).
//
// The types are client-node's models in the wire format (kube/wire.ts): its model calls
// `from` "_from", and its ObjectSerializer drops a `from` it does not expect, which would
// leave a rule open to every source. These objects go to the API server as JSON.
import type { V1NetworkPolicy, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer, V1NetworkPolicySpec } from '@kubernetes/client-node';
import type { DicomAccessPolicy, PeerSpec } from '../api/v1alpha1.ts';
import type { Wire, With } from '../kube/wire.ts';
import { objectNames } from './mounts.ts';
import { ownedMetadata } from './owned.ts';

export type NetworkPolicyPeer = Wire<V1NetworkPolicyPeer>;
export type NetworkPolicyIngressRule = Wire<V1NetworkPolicyIngressRule>;
export type NetworkPolicy = With<Wire<V1NetworkPolicy>, 'apiVersion' | 'kind' | 'metadata'> & { spec: With<Wire<V1NetworkPolicySpec>, 'ingress' | 'policyTypes'> };

function networkPeers(peer: PeerSpec): NetworkPolicyPeer[] {
  return [
    ...(peer.ipBlocks ?? []).map((block) => ({ ipBlock: { cidr: block.cidr, ...(block.except?.length ? { except: block.except } : {}) } })),
    ...(peer.from ?? []).map((source) => ({
      ...(source.namespaceSelector ? { namespaceSelector: source.namespaceSelector } : {}),
      ...(source.podSelector ? { podSelector: source.podSelector } : {}),
    })),
  ];
}

/** The ingress rule for listen.port, or none when there are no peers (the sidecar admits no one). */
function dicomRule(policy: Pick<DicomAccessPolicy, 'spec'>): NetworkPolicyIngressRule[] {
  const peers = policy.spec.peers ?? [];
  if (peers.length === 0) return [];
  const ports = [{ protocol: 'TCP' as const, port: policy.spec.listen.port }];
  // A peer bound to no address admits any source: so must the network.
  if (peers.some((peer) => !peer.ipBlocks && !peer.from)) return [{ ports }];
  const seen = new Set<string>();
  const from = peers.flatMap(networkPeers).filter((entry) => {
    const key = JSON.stringify(entry);
    return !seen.has(key) && seen.add(key);
  });
  return [{ ports, from }];
}

/** The NetworkPolicy, or undefined when spec.networkPolicy.enabled is false. */
export function renderNetworkPolicy(policy: Pick<DicomAccessPolicy, 'metadata' | 'spec'>): NetworkPolicy | undefined {
  const { networkPolicy } = policy.spec;
  if (!networkPolicy.enabled) return undefined;
  // The CRD's extraIngress items are NetworkPolicy ingress rules as they stand (the compiler checks it).
  const extraIngress: NetworkPolicyIngressRule[] = networkPolicy.extraIngress ?? [];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: ownedMetadata(policy, objectNames(policy.metadata.name).networkPolicy),
    spec: {
      podSelector: policy.spec.selector,
      policyTypes: ['Ingress'],
      ingress: [...dicomRule(policy), ...extraIngress],
    },
  };
}
