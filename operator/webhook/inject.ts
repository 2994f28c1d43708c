// Whether and how to inject the sidecar into a pod at admission: a report with a reason
// (as Linkerd's proxy-injector does), and the JSON patch when the answer is yes. Pure:
// the admission handler, the metrics and the events all read the same report.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Wire } from '../kube/wire.ts';
import { POD_ENV } from '../../sidecar/events/pod.ts';
import { SERVICE_ACCOUNT_DIR } from '../../sidecar/events/service-account.ts';
import type { DicomAccessPolicy } from '../api/v1alpha1.ts';
import { conflicts } from '../render/selection.ts';
import { SIDECAR_CONFIG_FILE, sidecarVolumes, type Volume, type VolumeMount } from '../render/mounts.ts';

/** The injected container, in the wire format (kube/wire.ts). */
export type Container = Wire<V1Container>;

/** The container's name; its presence is how an injected pod is recognised. */
export const SIDECAR_CONTAINER = 'dicom-guard';
/** Set to "false" on a pod to keep the sidecar out (reported, and visible in the policy status). */
export const INJECT_ANNOTATION = 'dicomguard.io/inject';
/** Written on injected pods: the policy whose config the sidecar runs. */
export const INJECTED_BY_ANNOTATION = 'dicomguard.io/injected-by';
/** Labelled on injected pods, so that monitoring (the chart's PodMonitor) can find the sidecars. */
export const SIDECAR_LABEL = 'dicomguard.io/sidecar';

export type InjectionReason = 'selected' | 'not-selected' | 'already-injected' | 'opted-out' | 'policy-conflict' | 'host-network';

export interface InjectionSettings {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  adminPort: number;
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string; cpu?: string } };
  /** The non-root user the sidecar runs as (the image's user). */
  runAsUser: number;
}

export const DEFAULT_INJECTION_SETTINGS: InjectionSettings = {
  image: 'ghcr.io/dicom-guard/dicom-guard:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  adminPort: 9095,
  resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
  runAsUser: 65532,
};

export interface JsonPatchOperation {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

export interface InjectionReport {
  inject: boolean;
  reason: InjectionReason;
  /** The policy that selects the pod (and, when injecting, whose config the sidecar runs). */
  policy?: string;
  /** Other policies that select the pod too and lose it to `policy`. */
  conflicting?: string[];
  /** In words, for events and the admission response. */
  message: string;
  patch: JsonPatchOperation[];
}

type Policy = Pick<DicomAccessPolicy, 'metadata' | 'spec'>;

/** JSON Pointer escaping (RFC 6901) for annotation keys in patch paths. */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The pod's service account token volume, as the ServiceAccount admission plugin added it
 * (a projected volume with a serviceAccountToken source, mounted at SERVICE_ACCOUNT_DIR):
 * that plugin runs before mutating webhooks, so it did not mount it into the sidecar.
 * None when the pod or its service account sets automountServiceAccountToken: false;
 * the sidecar then holds no token and posts no Events, as the pod's owner chose.
 */
export function serviceAccountTokenVolume(pod: V1Pod): string | undefined {
  const mounted = new Set([...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].flatMap((c) => (c.volumeMounts ?? []).filter((m) => m.mountPath === SERVICE_ACCOUNT_DIR).map((m) => m.name)));
  return pod.spec?.volumes?.find((v) => mounted.has(v.name) && v.projected?.sources?.some((s) => s.serviceAccountToken))?.name;
}

/**
 * The native sidecar (an init container with restartPolicy Always, KEP-753): up before
 * the PACS starts. It learns its pod from the downward API, and gets the pod's token
 * volume when there is one, to post Events (a source address locked out).
 */
export function sidecarContainer(policy: Policy, settings: InjectionSettings, tokenVolume?: string): Container {
  const volumeMounts: VolumeMount[] = [...sidecarVolumes(policy.metadata.name).volumeMounts, ...(tokenVolume ? [{ name: tokenVolume, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true }] : [])];
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({ httpGet: { path, port: settings.adminPort }, periodSeconds, failureThreshold, timeoutSeconds: 2 });
  return {
    name: SIDECAR_CONTAINER,
    image: settings.image,
    imagePullPolicy: settings.imagePullPolicy,
    args: ['sidecar', '--config', SIDECAR_CONFIG_FILE],
    env: [
      { name: POD_ENV.name, ...field('metadata.name') },
      { name: POD_ENV.namespace, ...field('metadata.namespace') },
      { name: POD_ENV.uid, ...field('metadata.uid') },
      { name: POD_ENV.policy, value: policy.metadata.name },
    ],
    restartPolicy: 'Always',
    ports: [
      { name: 'dicom', containerPort: policy.spec.listen.port, protocol: 'TCP' },
      { name: 'dg-admin', containerPort: settings.adminPort, protocol: 'TCP' },
    ],
    // The startup probe holds the PACS back until the sidecar listens (KEP-753 ordering).
    startupProbe: probe('/readyz', 1, 60),
    readinessProbe: probe('/readyz', 5, 3),
    livenessProbe: probe('/healthz', 10, 3),
    resources: settings.resources,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: settings.runAsUser,
      runAsGroup: settings.runAsUser,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts,
  };
}

function hasSidecar(pod: V1Pod): boolean {
  const named = (containers: V1Container[] | undefined) => (containers ?? []).some((c) => c.name === SIDECAR_CONTAINER);
  return named(pod.spec?.initContainers) || named(pod.spec?.containers);
}

/** The JSON patch that adds the sidecar, its volumes and the annotation to `pod`. */
export function injectionPatch(pod: V1Pod, policy: Policy, settings: InjectionSettings): JsonPatchOperation[] {
  const patch: JsonPatchOperation[] = [];
  const container = sidecarContainer(policy, settings, serviceAccountTokenVolume(pod));
  // First among the init containers: DICOM is guarded before anything else of the pod runs.
  if (pod.spec?.initContainers?.length) patch.push({ op: 'add', path: '/spec/initContainers/0', value: container });
  else patch.push({ op: 'add', path: '/spec/initContainers', value: [container] });

  const { volumes } = sidecarVolumes(policy.metadata.name);
  const taken = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  const added: Volume[] = volumes.filter((v) => !taken.has(v.name));
  if (pod.spec?.volumes) for (const volume of added) patch.push({ op: 'add', path: '/spec/volumes/-', value: volume });
  else patch.push({ op: 'add', path: '/spec/volumes', value: added });

  // A DICOM port below 1024 (104 is DICOM's registered port) cannot be bound by a
  // non-root process; the safe sysctl lowers the limit for this pod only.
  const port = policy.spec.listen.port;
  if (port < 1024) {
    const sysctls = pod.spec?.securityContext?.sysctls ?? [];
    const current = sysctls.find((s) => s.name === 'net.ipv4.ip_unprivileged_port_start');
    if (!current || Number(current.value) > port) {
      const value = [...sysctls.filter((s) => s !== current), { name: 'net.ipv4.ip_unprivileged_port_start', value: String(port) }];
      if (pod.spec?.securityContext) patch.push({ op: 'add', path: '/spec/securityContext/sysctls', value });
      else patch.push({ op: 'add', path: '/spec/securityContext', value: { sysctls: value } });
    }
  }

  const annotation = { [INJECTED_BY_ANNOTATION]: policy.metadata.name };
  if (pod.metadata?.annotations) patch.push({ op: 'add', path: `/metadata/annotations/${pointer(INJECTED_BY_ANNOTATION)}`, value: policy.metadata.name });
  else patch.push({ op: 'add', path: '/metadata/annotations', value: annotation });
  if (pod.metadata?.labels) patch.push({ op: 'add', path: `/metadata/labels/${pointer(SIDECAR_LABEL)}`, value: 'injected' });
  else patch.push({ op: 'add', path: '/metadata/labels', value: { [SIDECAR_LABEL]: 'injected' } });
  return patch;
}

/** The decision for one pod being created in `namespace`, given the policies of that namespace. */
export function injectionReport(pod: V1Pod, namespace: string, policies: readonly Policy[], settings: InjectionSettings = DEFAULT_INJECTION_SETTINGS): InjectionReport {
  const podName = pod.metadata?.name ?? `${pod.metadata?.generateName ?? ''}*`;
  const { winner, conflicting } = conflicts(policies, { labels: pod.metadata?.labels ?? {} }, namespace);
  if (!winner) return { inject: false, reason: 'not-selected', message: `no DicomAccessPolicy in ${namespace} selects pod ${podName}`, patch: [] };
  const policy = winner.metadata.name;
  const losers = conflicting.map((p) => p.metadata.name);
  if (hasSidecar(pod)) return { inject: false, reason: 'already-injected', policy, message: `pod ${podName} already has the ${SIDECAR_CONTAINER} container`, patch: [] };
  if (pod.metadata?.annotations?.[INJECT_ANNOTATION] === 'false') {
    return { inject: false, reason: 'opted-out', policy, message: `pod ${podName} is selected by ${policy} but opted out with ${INJECT_ANNOTATION}: "false"; its DICOM port is not protected`, patch: [] };
  }
  if (pod.spec?.hostNetwork) {
    return { inject: false, reason: 'host-network', policy, message: `pod ${podName} uses the host network; the sidecar cannot own its DICOM port there, so it is not injected`, patch: [] };
  }
  const patch = injectionPatch(pod, winner, settings);
  if (losers.length) {
    return { inject: true, reason: 'policy-conflict', policy, conflicting: losers, message: `pod ${podName} is selected by ${[policy, ...losers].join(', ')}; the oldest, ${policy}, applies`, patch };
  }
  return { inject: true, reason: 'selected', policy, message: `pod ${podName} is protected by ${policy}`, patch };
}
