// Leader election on a coordination.k8s.io/v1 Lease, decided as client-go's
// leaderelection.tryAcquireOrRenew decides it, as pure functions of (lease, what we
// observed before, now, identity):
//   - no Lease: create it, holding it;
//   - held by someone else and not expired: wait. Expiry is measured on OUR clock from
//     the moment we last saw the record change (observedAt), never from the renewTime
//     written by another machine, so clock skew between replicas cannot steal a lease;
//   - held by us: renew (renewTime = now, acquireTime and transitions kept);
//   - expired, or released (empty holderIdentity): take it (leaseTransitions + 1).
// Writes carry the resourceVersion read (optimistic concurrency): of two candidates
// updating the same version, the API server lets one win and answers 409 to the other.
import { microTime } from '../kube/events.ts';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface LeaseState {
  spec: LeaseSpec;
  resourceVersion: string;
}

/** The last lease record we saw and when (our clock, ms) we first saw it. */
export interface Observation extends LeaseState {
  observedAt: number;
}

export interface ElectionTiming {
  /** How long a holder's lease counts after its last renewal (client-go: 15 s). */
  leaseDurationSeconds: number;
  /** How long the leader keeps trying to renew before it gives up leading (10 s). */
  renewDeadlineSeconds: number;
  /** How often candidates try and the leader renews (2 s). */
  retryPeriodSeconds: number;
}

export const DEFAULT_TIMING: ElectionTiming = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

export type LeaseDecision =
  | { kind: 'create'; spec: LeaseSpec }
  | { kind: 'update'; spec: LeaseSpec; resourceVersion: string; acquiring: boolean }
  | { kind: 'held'; holder: string; expiresAt: number };

/** The observation after reading `lease`: a record that changed restarts the expiry clock. */
export function observe(previous: Observation | undefined, lease: LeaseState | undefined, now: number): Observation | undefined {
  if (!lease) return undefined;
  if (previous && previous.resourceVersion === lease.resourceVersion) return previous;
  return { ...lease, observedAt: now };
}

/** Whether a record names a holder whose lease is still running, measured from when we saw it. */
export function heldUntil(observation: Observation): number | undefined {
  const holder = observation.spec.holderIdentity;
  if (!holder) return undefined;
  const duration = observation.spec.leaseDurationSeconds ?? DEFAULT_TIMING.leaseDurationSeconds;
  return observation.observedAt + duration * 1000;
}

export function decideLease(observation: Observation | undefined, now: number, identity: string, timing: ElectionTiming): LeaseDecision {
  const at = microTime(new Date(now));
  if (!observation) {
    return { kind: 'create', spec: { holderIdentity: identity, leaseDurationSeconds: timing.leaseDurationSeconds, acquireTime: at, renewTime: at, leaseTransitions: 0 } };
  }
  const { spec } = observation;
  const holder = spec.holderIdentity ?? '';
  const until = heldUntil(observation);
  if (holder !== identity && until !== undefined && until > now) return { kind: 'held', holder, expiresAt: until };
  const ours = holder === identity;
  return {
    kind: 'update',
    resourceVersion: observation.resourceVersion,
    acquiring: !ours,
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: timing.leaseDurationSeconds,
      acquireTime: ours ? (spec.acquireTime ?? at) : at,
      renewTime: at,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
    },
  };
}

/**
 * The record a leader writes when it stops: no holder and a one-second duration, so the
 * next candidate takes over at its next try instead of waiting out the lease.
 */
export function releasedSpec(spec: LeaseSpec, now: number): LeaseSpec {
  const at = microTime(new Date(now));
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: at, renewTime: at, leaseTransitions: spec.leaseTransitions ?? 0 };
}

/** Whether a leader whose last successful renewal was at lastRenewal must stop leading. */
export function renewalOverdue(lastRenewal: number, now: number, timing: ElectionTiming): boolean {
  return now - lastRenewal >= timing.renewDeadlineSeconds * 1000;
}
