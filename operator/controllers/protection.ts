// Which pods a policy matches, which of them it protects, and which an older policy holds.
//
// "Protected" means: the pod runs a dicom-guard sidecar that reads THIS policy's current
// config. The operator decides it from the pod's spec, not from a claim:
//   - the pod has the volume VOLUME_NAMES.config backed by this policy's ConfigMap
//     (objectNames(policy).configMap), and a container (a native sidecar, or a plain
//     container) mounts it at SIDECAR_CONFIG_DIR: that is what the webhook injects
//     (render/mounts.ts sidecarVolumes), so the webhook sets nothing else for this;
//   - and the ConfigMap holds the current config: its dicomguard.io/config-sha256 is the
//     sha256 of what the policy renders to now. The sidecar reloads a changed mounted
//     file without a restart, so a pod mounting the current ConfigMap runs the current
//     config (after the kubelet's volume sync, about a minute at most).
// A config hash copied onto the pod at admission was considered and not used: the
// config changes whenever a `from` peer pod comes or goes (its address is in the
// config), and every such change would leave every running pod "unprotected" until it
// restarts, although the reloaded sidecar is enforcing the new config.
import { objectNames } from '../render/mounts.ts';
import { finished } from '../render/peers.ts';
import { byAge, conflicts, selects } from '../render/selection.ts';
import type { CachedPolicy, CachedPod } from './cached.ts';

export type PodProtection = 'protected' | 'no-sidecar' | 'other-config' | 'config-not-current';


/** Why a matched pod is or is not protected by `policyName`'s sidecar config (a report, not a boolean). */
export function podProtection(pod: CachedPod, policyName: string, configCurrent: boolean): PodProtection {
  if (!pod.sidecarConfigMap) return 'no-sidecar';
  if (pod.sidecarConfigMap !== objectNames(policyName).configMap) return 'other-config';
  return configCurrent ? 'protected' : 'config-not-current';
}

export interface PodCounts {
  readonly matchedPods: number;
  readonly protectedPods: number;
  /** Matched pods an older policy governs: pod name -> that policy's name. */
  readonly conflicts: Readonly<Record<string, string>>;
  /** Matched pods by protection, for logs. */
  readonly byProtection: Readonly<Partial<Record<PodProtection, number>>>;
}

/**
 * Counts over the pods of the policy's namespace. Finished pods (Succeeded, Failed) are
 * not counted: they run nothing. `policies` are the policies of the same namespace.
 */
export function countPods(policy: CachedPolicy, policies: readonly CachedPolicy[], pods: readonly CachedPod[], configCurrent: boolean): PodCounts {
  const others = policies.filter((p) => p.metadata.uid !== policy.metadata.uid && !p.metadata.deletionTimestamp);
  const contenders = [policy, ...others].sort(byAge);
  let matchedPods = 0;
  let protectedPods = 0;
  const held: Record<string, string> = {};
  const byProtection: Partial<Record<PodProtection, number>> = {};
  for (const pod of pods) {
    if (finished(pod) || !selects(policy, pod, pod.namespace)) continue;
    matchedPods++;
    const { winner } = conflicts(contenders, pod, pod.namespace);
    if (winner && winner.metadata.uid !== policy.metadata.uid) held[pod.name] = winner.metadata.name;
    const protection = podProtection(pod, policy.metadata.name, configCurrent);
    byProtection[protection] = (byProtection[protection] ?? 0) + 1;
    if (protection === 'protected') protectedPods++;
  }
  return { matchedPods, protectedPods, conflicts: held, byProtection };
}
