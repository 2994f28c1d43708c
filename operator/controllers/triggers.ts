// Which policies an event concerns: the informers report changes to pods, namespaces,
// Secrets and owned objects, and these functions name the policies to reconcile again.
// Pure: the unit tests call them with plain objects.
import { KIND } from '../api/v1alpha1.ts';
import type { OwnerReference } from '../kube/client.ts';
import { referencedSecrets } from '../render/material.ts';
import type { NamespaceInfo } from '../render/peers.ts';
import { labelSelectorMatches, selects, type Labels } from '../render/selection.ts';
import { POLICY_LABEL } from '../render/owned.ts';
import type { CachedPod, CachedPolicy, OwnedObject } from './cached.ts';

export const policyKey = (policy: Pick<CachedPolicy, 'metadata'>): string => `${policy.metadata.namespace}/${policy.metadata.name}`;

/** Whether a `from` entry of the policy could pick this pod (NetworkPolicy peer semantics). */
function fromSelects(policy: CachedPolicy, pod: CachedPod, namespaceLabels: (name: string) => Labels | undefined): boolean {
  for (const peer of policy.spec.peers ?? []) {
    for (const source of peer.from ?? []) {
      if (source.namespaceSelector) {
        const labels = namespaceLabels(pod.namespace);
        if (!labels || !labelSelectorMatches(source.namespaceSelector, labels)) continue;
      } else if (pod.namespace !== policy.metadata.namespace) {
        continue;
      }
      if (!source.podSelector || labelSelectorMatches(source.podSelector, pod.labels)) return true;
    }
  }
  return false;
}

/**
 * Policies a pod change concerns: those selecting the pod before or after (matched and
 * protected counts), and those whose `from` peers pick it before or after (the
 * addresses in their config).
 */
export function policiesForPod(policies: readonly CachedPolicy[], namespaces: (name: string) => NamespaceInfo | undefined, ...versions: (CachedPod | undefined)[]): string[] {
  const labels = (name: string) => namespaces(name)?.labels ?? (namespaces(name) ? {} : undefined);
  const keys = new Set<string>();
  for (const pod of versions) {
    if (!pod) continue;
    for (const policy of policies) {
      if (selects(policy, pod, pod.namespace) || fromSelects(policy, pod, labels)) keys.add(policyKey(policy));
    }
  }
  return [...keys];
}

/** Policies with a namespaceSelector in a `from` entry: a namespace's labels decide what they resolve to. */
export function policiesForNamespace(policies: readonly CachedPolicy[]): string[] {
  return policies.filter((p) => (p.spec.peers ?? []).some((peer) => (peer.from ?? []).some((source) => source.namespaceSelector !== undefined))).map(policyKey);
}

/** Policies that reference the Secret namespace/name. */
export function policiesForSecret(policies: readonly CachedPolicy[], namespace: string, name: string): string[] {
  return policies.filter((p) => p.metadata.namespace === namespace && referencedSecrets(p).some((ref) => ref.name === name)).map(policyKey);
}

/**
 * The policy an owned object belongs to: its controller, else its policy label (the TLS
 * Secret cert-manager writes carries the labels of the Certificate's secretTemplate and no
 * controller of ours).
 */
export function policyOfOwned(object: Pick<OwnedObject, 'metadata'>): string | undefined {
  const label = object.metadata.labels?.[POLICY_LABEL];
  return ownerPolicyKey(object.metadata.namespace, object.metadata.ownerReferences) ?? (label ? `${object.metadata.namespace}/${label}` : undefined);
}

/** The policy that controls an owned object (its controller owner reference), if any. */
export function ownerPolicyKey(namespace: string, ownerReferences: readonly OwnerReference[] | undefined): string | undefined {
  const owner = ownerReferences?.find((ref) => ref.controller === true && ref.kind === KIND && ref.apiVersion.startsWith('dicomguard.io/'));
  return owner ? `${namespace}/${owner.name}` : undefined;
}

/**
 * Whether a policy update needs a reconcile: a new generation (spec), a deletion, a new
 * object under the same name. A status-only update (our own status write) does not.
 */
export function policyChanged(old: CachedPolicy, current: CachedPolicy): boolean {
  return (
    old.metadata.generation !== current.metadata.generation ||
    old.metadata.uid !== current.metadata.uid ||
    old.metadata.deletionTimestamp !== current.metadata.deletionTimestamp
  );
}
