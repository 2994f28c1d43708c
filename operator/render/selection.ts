// Which pods a policy selects, and which policy wins a pod that two of them select.
// Pure, so that the reconcile (status), the peer resolution and the injecting webhook
// all answer "does this policy select this pod" with the same code.
import type { DicomAccessPolicy, LabelSelector } from '../api/v1alpha1.ts';

export type Labels = Readonly<Record<string, string>>;

/**
 * metav1.LabelSelector semantics: matchLabels and matchExpressions are ANDed, an empty
 * selector matches everything, NotIn and DoesNotExist match a missing label.
 */
export function labelSelectorMatches(selector: LabelSelector, labels: Labels = {}): boolean {
  const has = (key: string) => Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = has(key);
    const matches = (() => {
      switch (operator) {
        case 'In':
          return present && values.includes(labels[key]!);
        case 'NotIn':
          return !present || !values.includes(labels[key]!);
        case 'Exists':
          return present;
        case 'DoesNotExist':
          return !present;
      }
    })();
    if (!matches) return false;
  }
  return true;
}

function isEmpty(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/**
 * Whether `policy` protects a pod with these labels in `namespace`. An empty policy
 * selector selects nothing here: the CRD refuses it, and a webhook that injected the
 * sidecar into every pod of a namespace would be a worse failure than one that injects none.
 */
export function selects(policy: Pick<DicomAccessPolicy, 'metadata' | 'spec'>, pod: { labels?: Labels }, namespace: string): boolean {
  return policy.metadata.namespace === namespace && !isEmpty(policy.spec.selector) && labelSelectorMatches(policy.spec.selector, pod.labels);
}

/** Older first: creationTimestamp, then name (the order in which policies win pods). */
export function byAge(a: Pick<DicomAccessPolicy, 'metadata'>, b: Pick<DicomAccessPolicy, 'metadata'>): number {
  const age = Date.parse(a.metadata.creationTimestamp) - Date.parse(b.metadata.creationTimestamp);
  if (age !== 0 && !Number.isNaN(age)) return age;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export interface PodSelection<P> {
  /** The policy whose sidecar config the pod runs; undefined when none selects it. */
  readonly winner: P | undefined;
  /** Policies that select the pod too but lose it: they report a Conflict. */
  readonly conflicting: readonly P[];
}

/** Which of `policies` governs a pod: the oldest that selects it; the others are in conflict. */
export function conflicts<P extends Pick<DicomAccessPolicy, 'metadata' | 'spec'>>(policies: readonly P[], pod: { labels?: Labels }, namespace: string): PodSelection<P> {
  const [winner, ...conflicting] = policies.filter((p) => selects(p, pod, namespace)).sort(byAge);
  return { winner, conflicting };
}
