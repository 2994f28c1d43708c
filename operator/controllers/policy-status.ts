// From what a reconcile found and did to the status it reports: the outcome of each owned
// object becomes the NetworkPolicyReady and CertificateReady inputs of computeStatus
// (render/status.ts), and a ConfigMap or identity Secret that could not be written makes
// ConfigRendered (and so Ready) False. Pure.
import type { DicomAccessPolicyStatus } from '../api/v1alpha1.ts';
import type { DesiredObjects, OwnedKind } from '../render/desired.ts';
import { computeStatus, setCondition, type CertificateState, type NetworkPolicyState } from '../render/status.ts';
import type { CachedPolicy, OwnedObject } from './cached.ts';
import type { PodCounts } from './protection.ts';

/** What became of one owned object in a reconcile. */
export type OwnedOutcome =
  /** Desired and already as wanted: nothing written. */
  | { readonly state: 'current'; readonly live: OwnedObject }
  /** Desired and written now. */
  | { readonly state: 'applied'; readonly live: OwnedObject }
  /** Desired, but its content could not be rendered (a missing Secret): the last good one stays. */
  | { readonly state: 'kept' }
  /** A Certificate, but cert-manager's CRD is not installed. */
  | { readonly state: 'not-served' }
  /** Not desired and not there. */
  | { readonly state: 'absent' }
  /** Not desired: deleted now. */
  | { readonly state: 'deleted' }
  | { readonly state: 'failed'; readonly reason: string; readonly message: string };

export type Outcomes = Readonly<Record<OwnedKind, OwnedOutcome>>;

export const CERT_MANAGER_MISSING = 'CertManagerNotInstalled';

export function networkPolicyState(outcome: OwnedOutcome): NetworkPolicyState {
  if (outcome.state === 'failed') return { state: 'Failed', message: outcome.message };
  if (outcome.state === 'current' || outcome.state === 'applied') return { state: 'Applied' };
  return { state: 'Disabled' };
}

/** The Certificate's own Ready condition (cert-manager's), for the generation we last applied. */
export function certificateState(outcome: OwnedOutcome, certificateName: string): CertificateState {
  switch (outcome.state) {
    case 'absent':
    case 'deleted':
      return { state: 'Disabled' };
    case 'not-served':
      return {
        state: 'NotReady',
        reason: CERT_MANAGER_MISSING,
        message: 'spec.tls.mode needs a server certificate, but cert-manager is not installed: the API server does not serve certificates.cert-manager.io/v1',
      };
    case 'failed':
      return { state: 'NotReady', reason: 'ApplyFailed', message: outcome.message };
    case 'kept':
      return { state: 'NotReady', message: `Certificate ${certificateName} could not be rendered` };
    case 'current':
    case 'applied': {
      const { ready, metadata } = outcome.live;
      const generation = metadata.generation;
      const stale = ready?.observedGeneration !== undefined && generation !== undefined && ready.observedGeneration < generation;
      if (ready?.status === 'True' && !stale) return { state: 'Ready' };
      if (!ready || stale) return { state: 'NotReady', reason: 'Pending', message: `waiting for cert-manager to issue Certificate ${certificateName}` };
      return { state: 'NotReady', ...(ready.reason ? { reason: ready.reason } : {}), message: `Certificate ${certificateName}: ${ready.message ?? `Ready is ${ready.status}`}` };
    }
  }
}

export interface PolicyStatusInput {
  readonly policy: CachedPolicy;
  /** The freshest status known: the cached one, or the one we wrote that the cache has not seen yet. */
  readonly known: DicomAccessPolicyStatus | undefined;
  readonly desired: DesiredObjects;
  readonly outcomes: Outcomes;
  readonly counts: PodCounts;
  readonly unresolvedPeers: readonly string[];
  readonly certificateName: string;
}

export function policyStatus(input: PolicyStatusInput, now: Date): DicomAccessPolicyStatus {
  const { policy, desired, outcomes, counts } = input;
  const status = computeStatus(
    {
      policy: { metadata: policy.metadata, ...(input.known ? { status: input.known } : {}) },
      matchedPods: counts.matchedPods,
      protectedPods: counts.protectedPods,
      ...(desired.error ? { renderError: desired.error } : {}),
      unresolvedPeers: input.unresolvedPeers,
      networkPolicy: networkPolicyState(outcomes.NetworkPolicy),
      certificate: certificateState(outcomes.Certificate, input.certificateName),
      conflicts: counts.conflicts,
    },
    now,
  );
  // The sidecar material rendered but could not be written: not rendered as far as the pods are concerned.
  const failed = [outcomes.ConfigMap, outcomes.Secret].flatMap((o) => (o.state === 'failed' ? [o.message] : []));
  if (failed.length === 0) return status;
  const message = failed.join('; ');
  const observedGeneration = policy.metadata.generation;
  let conditions = setCondition(status.conditions ?? [], { type: 'ConfigRendered', status: 'False', reason: 'ApplyFailed', message, observedGeneration }, now);
  conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'ConfigNotRendered', message: `ConfigRendered: ${message}`, observedGeneration }, now);
  // A transition is measured against the status as it was, not the one computed above.
  const before = new Map((input.known?.conditions ?? []).map((c) => [c.type, c]));
  conditions = conditions.map((c) => {
    const previous = before.get(c.type);
    return previous && previous.status === c.status ? { ...c, lastTransitionTime: previous.lastTransitionTime } : c;
  });
  return { ...status, conditions };
}
