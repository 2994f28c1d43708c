// The NetworkPolicy of a policy: the selected pods accept DICOM on listen.port only, from
// the peers' ipBlocks and `from` selectors, plus the extraIngress rules; every other port,
// the PACS's own above all, stays closed (a NetworkPolicy with policyTypes [Ingress]
// denies what its rules do not allow).
//
// The types below are the wire format (what the API server reads), not client-node's
// models: client-node's V1NetworkPolicyIngressRule calls `from` "_from", and its
// ObjectSerializer drops a `from` it does not expect, which would leave a rule open to
// every source. These objects go to the API server as JSON, as they are.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { DicomAccessPolicy, LabelSelector, PeerSpec } from '../api/v1alpha1.ts';
import { objectNames } from './mounts.ts';
import { ownedMetadata } from './owned.ts';

/** networking.k8s.io/v1 NetworkPolicyPeer. */
export interface NetworkPolicyPeer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
}

/** networking.k8s.io/v1 NetworkPolicyIngressRule. */
export interface NetworkPolicyIngressRule {
  ports?: { protocol?: 'TCP' | 'UDP' | 'SCTP'; port?: number | string; endPort?: number }[];
  from?: NetworkPolicyPeer[];
}

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: V1ObjectMeta;
  spec: { podSelector: LabelSelector; policyTypes: ('Ingress' | 'Egress')[]; ingress: NetworkPolicyIngressRule[] };
}

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
