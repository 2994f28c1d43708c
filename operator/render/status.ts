// The status a policy reports, computed from what the reconcile found (KEP-1623
// conditions): Ready sums up ConfigRendered, NetworkPolicyReady and CertificateReady and
// whether every matched pod runs the sidecar with the current config. Each condition
// carries the generation it describes; lastTransitionTime moves only when its status flips.
import type { Condition, ConditionType, DicomAccessPolicy, DicomAccessPolicyStatus } from '../api/v1alpha1.ts';
import type { RenderError } from './errors.ts';

export type ConditionUpdate = Omit<Condition, 'lastTransitionTime' | 'type'> & { type: ConditionType };

/** RFC 3339 to the second, as metav1.Time is stored (so a status read back compares equal). */
export const conditionTime = (now: Date) => now.toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * `existing` with `next` set: a condition whose status did not change keeps its
 * lastTransitionTime; a new one or a flipped one gets `now`. The order is kept, new
 * conditions go last.
 */
export function setCondition(existing: readonly Condition[], next: ConditionUpdate, now: Date): Condition[] {
  const index = existing.findIndex((c) => c.type === next.type);
  const previous = existing[index];
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : conditionTime(now);
  const condition: Condition = { type: next.type, status: next.status, observedGeneration: next.observedGeneration, lastTransitionTime, reason: next.reason, message: next.message };
  return index < 0 ? [...existing, condition] : existing.map((c, i) => (i === index ? condition : c));
}

export type NetworkPolicyState = { state: 'Disabled' } | { state: 'Applied' } | { state: 'Failed'; message: string };
/** From the Certificate's own Ready condition (cert-manager), or Disabled. */
export type CertificateState = { state: 'Disabled' } | { state: 'Ready' } | { state: 'NotReady'; reason?: string; message: string };

export interface StatusInput {
  readonly policy: Pick<DicomAccessPolicy, 'metadata'> & { status?: DicomAccessPolicyStatus };
  readonly matchedPods: number;
  /** Matched pods whose sidecar runs the config the ConfigMap holds now. */
  readonly protectedPods: number;
  /** DesiredObjects.error: the sidecar material could not be rendered. */
  readonly renderError?: RenderError;
  /** unresolvedPeers(): peers whose `from` selects no pod yet, left out of the config. */
  readonly unresolvedPeers?: readonly string[];
  readonly networkPolicy: NetworkPolicyState;
  readonly certificate: CertificateState;
  /** Matched pods that an older policy governs (conflicts()): namespace-local pod name -> that policy's name. */
  readonly conflicts?: Readonly<Record<string, string>>;
}

type Verdict = Omit<ConditionUpdate, 'observedGeneration' | 'type'>;

function configRendered({ renderError, unresolvedPeers = [] }: StatusInput): Verdict {
  if (renderError) return { status: 'False', reason: renderError.reason, message: renderError.problems.map((p) => p.message).join('; ') };
  const unresolved = unresolvedPeers.length ? `; peers whose from selects no pod yet (admitting no one): ${listed(unresolvedPeers)}` : '';
  return { status: 'True', reason: 'Rendered', message: `the sidecar config is up to date${unresolved}` };
}

function networkPolicyReady({ networkPolicy }: StatusInput): Verdict {
  switch (networkPolicy.state) {
    case 'Disabled':
      return { status: 'True', reason: 'Disabled', message: 'spec.networkPolicy.enabled is false: only the sidecar keeps clients away from the PACS port' };
    case 'Applied':
      return { status: 'True', reason: 'Applied', message: 'the NetworkPolicy admits the peers to the listen port only' };
    case 'Failed':
      return { status: 'False', reason: 'ApplyFailed', message: networkPolicy.message };
  }
}

function certificateReady({ certificate }: StatusInput): Verdict {
  switch (certificate.state) {
    case 'Disabled':
      return { status: 'True', reason: 'Disabled', message: 'spec.tls.mode is Disabled' };
    case 'Ready':
      return { status: 'True', reason: 'Issued', message: 'the server certificate is issued' };
    case 'NotReady':
      return { status: 'False', reason: certificate.reason ?? 'NotIssued', message: certificate.message };
  }
}

type Part = Exclude<ConditionType, 'Ready'>;
const NOT_READY: Readonly<Record<Part, string>> = {
  ConfigRendered: 'ConfigNotRendered',
  NetworkPolicyReady: 'NetworkPolicyNotReady',
  CertificateReady: 'CertificateNotReady',
};

/** "a, b, c and 4 more": lists in messages stay readable. */
function listed(items: readonly string[], most = 5): string {
  const shown = items.slice(0, most).join(', ');
  return items.length > most ? `${shown} and ${items.length - most} more` : shown;
}

function ready(input: StatusInput, parts: Readonly<Record<Part, Verdict>>): Verdict {
  for (const type of Object.keys(NOT_READY) as Part[]) {
    if (parts[type].status !== 'True') return { status: 'False', reason: NOT_READY[type], message: `${type}: ${parts[type].message}` };
  }
  const conflicts = Object.entries(input.conflicts ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  if (conflicts.length) {
    return { status: 'False', reason: 'Conflict', message: `older policies govern ${conflicts.length} selected pod(s): ${listed(conflicts.map(([pod, owner]) => `${pod} (${owner})`))}` };
  }
  if (input.protectedPods < input.matchedPods) {
    return {
      status: 'False',
      reason: 'PodsNotProtected',
      message: `${input.protectedPods} of ${input.matchedPods} matched pods run the sidecar with the current config; pods created before the policy need a restart to get the sidecar`,
    };
  }
  return { status: 'True', reason: 'Reconciled', message: input.matchedPods ? `all ${input.matchedPods} matched pods are protected` : 'no pods match the selector' };
}

/** The status to write; compare with statusEqual before writing. */
export function computeStatus(input: StatusInput, now: Date): DicomAccessPolicyStatus {
  const generation = input.policy.metadata.generation;
  const parts = { ConfigRendered: configRendered(input), NetworkPolicyReady: networkPolicyReady(input), CertificateReady: certificateReady(input) };
  const verdicts: [ConditionType, Verdict][] = [['Ready', ready(input, parts)], ...(Object.entries(parts) as [ConditionType, Verdict][])];
  const conditions = verdicts.reduce((list, [type, verdict]) => setCondition(list, { type, observedGeneration: generation, ...verdict }, now), input.policy.status?.conditions ?? []);
  return { observedGeneration: generation, conditions, matchedPods: input.matchedPods, protectedPods: input.protectedPods };
}

/** Whether two statuses say the same (so that an unchanged status is not written again). */
export function statusEqual(a: DicomAccessPolicyStatus | undefined, b: DicomAccessPolicyStatus | undefined): boolean {
  // Field by field: a status read from the API server has its keys in another order.
  const canonical = (s: DicomAccessPolicyStatus | undefined) =>
    JSON.stringify([
      s?.observedGeneration,
      s?.matchedPods,
      s?.protectedPods,
      [...(s?.conditions ?? [])].sort((x, y) => (x.type < y.type ? -1 : 1)).map((c) => [c.type, c.status, c.observedGeneration, c.lastTransitionTime, c.reason, c.message]),
    ]);
  return canonical(a) === canonical(b);
}
