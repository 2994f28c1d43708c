// A source address locked out (limits.failedAttempts) as a Kubernetes Event on the
// sidecar's pod, so that `kubectl describe pod` and `kubectl events` show it next to the
// metric and the "source-blocked" log record. Pure: the clock is passed in.
//
// One Event per lockout while lockouts are rare; a scan from many addresses would be
// one Event per address, so past `burst` Events in a window the rest are held and
// sent as one summary Event when the window ends. The metric
// dicomguard_source_blocks_total counts every lockout either way.
import type { EventInput, ObjectReference } from '../../operator/kube/events.ts';
import { API_VERSION, KIND } from '../../operator/api/names.ts';
import type { PodIdentity } from './pod.ts';

export const LOCKOUT_REASON = 'SourceBlocked';
export const LOCKOUT_ACTION = 'Block';

export interface SourceLockout {
  readonly source: string;
  readonly max: number;
  readonly windowSeconds: number;
  readonly blockSeconds: number;
  /** The audit record's `why` of the refusal that started the lockout. */
  readonly lastRefusal: string;
  readonly callingAETitle?: string;
}

export interface LockoutEventLimits {
  /** Events sent one by one per window. */
  readonly burst: number;
  readonly windowMs: number;
  /** Addresses named in a summary Event (the note is at most 1 kB). */
  readonly listed: number;
}

export const DEFAULT_LOCKOUT_EVENT_LIMITS: LockoutEventLimits = { burst: 10, windowMs: 60_000, listed: 20 };

export function podReference(pod: PodIdentity): ObjectReference {
  return { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, ...(pod.uid ? { uid: pod.uid } : {}) };
}

function policyReference(pod: PodIdentity): ObjectReference | undefined {
  return pod.policy ? { apiVersion: API_VERSION, kind: KIND, name: pod.policy, namespace: pod.namespace } : undefined;
}

function event(pod: PodIdentity, note: string): EventInput {
  const related = policyReference(pod);
  return { regarding: podReference(pod), type: 'Warning', reason: LOCKOUT_REASON, action: LOCKOUT_ACTION, note, ...(related ? { related } : {}) };
}

export function lockoutNote(lockout: SourceLockout): string {
  const caller = lockout.callingAETitle ? ` (calling AE title "${lockout.callingAETitle}")` : '';
  return (
    `source address ${lockout.source}${caller} locked out for ${lockout.blockSeconds} s after ${lockout.max} refused connections within ${lockout.windowSeconds} s ` +
    `(limits.failedAttempts); the last: ${lockout.lastRefusal}`
  );
}

export class LockoutEvents {
  readonly #pod: PodIdentity;
  readonly #limits: LockoutEventLimits;
  #windowStart = -Infinity;
  #sentInWindow = 0;
  readonly #held: string[] = [];

  constructor(pod: PodIdentity, limits: LockoutEventLimits = DEFAULT_LOCKOUT_EVENT_LIMITS) {
    this.#pod = pod;
    this.#limits = limits;
  }

  /**
   * The Events to send for this lockout now: the summary of the last window when it is
   * over and held some, then this lockout's own unless it is held for the next summary.
   */
  lockout(lockout: SourceLockout, now: number): EventInput[] {
    const events: EventInput[] = [];
    if (now - this.#windowStart >= this.#limits.windowMs) {
      const summary = this.summary(now);
      if (summary) events.push(summary);
      this.#windowStart = now;
      this.#sentInWindow = 0;
    }
    if (this.#sentInWindow < this.#limits.burst) {
      this.#sentInWindow++;
      events.push(event(this.#pod, lockoutNote(lockout)));
    } else {
      this.#held.push(lockout.source);
    }
    return events;
  }

  /** When the summary of the held lockouts is due (ms), if any are held. */
  get summaryDue(): number | undefined {
    return this.#held.length ? this.#windowStart + this.#limits.windowMs : undefined;
  }

  /** The summary of the lockouts held so far, once the window is over; they are forgotten. */
  summary(now: number): EventInput | undefined {
    if (this.#held.length === 0 || now < this.#windowStart + this.#limits.windowMs) return undefined;
    const held = this.#held.splice(0);
    const named = held.slice(0, this.#limits.listed).join(', ');
    const more = held.length > this.#limits.listed ? ` and ${held.length - this.#limits.listed} more` : '';
    const seconds = Math.round(this.#limits.windowMs / 1000);
    return event(
      this.#pod,
      `${held.length} more source addresses locked out within ${seconds} s, past the ${this.#limits.burst} reported one by one: ${named}${more} ` +
        '(limits.failedAttempts; dicomguard_source_blocks_total counts them all, the "source-blocked" log records name each)',
    );
  }
}
