// What the informer caches keep of each object: the fields the controllers read, no more.
// A pod is a dozen fields instead of kilobytes of spec and status; Secrets the operator
// owns (and cert-manager's TLS Secrets, which carry our labels) keep sha256 digests of
// their values, never the values; ConfigMaps likewise. An update that leaves these
// projections unchanged (a pod's conditions ticking, a lease-like annotation) is not an
// event for the controllers at all.
import { createHash } from 'node:crypto';
import { API_VERSION, KIND, type DicomAccessPolicy, type PolicyMetadata } from '../api/v1alpha1.ts';
import type { KubeObject, ObjectMeta, OwnerReference } from '../kube/client.ts';
import type { NamespaceInfo, PodInfo } from '../render/peers.ts';
import { SIDECAR_CONFIG_DIR, VOLUME_NAMES } from '../render/mounts.ts';

export type CachedPolicy = DicomAccessPolicy & { metadata: PolicyMetadata & { deletionTimestamp?: string } };

export interface CachedPod extends PodInfo {
  /**
   * The ConfigMap a sidecar in this pod reads its config from: the pod has the volume
   * VOLUME_NAMES.config (a ConfigMap) and a container (a native sidecar, or a plain
   * container) mounts it at SIDECAR_CONFIG_DIR, which is what the webhook injects
   * (render/mounts.ts sidecarVolumes). Undefined when no container reads a config so.
   */
  readonly sidecarConfigMap?: string;
  /** spec.serviceAccountName: the identity the sidecar's Events are posted with. */
  readonly serviceAccount?: string;
  readonly deleting?: boolean;
}

export interface SecretMeta {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
}

/** An owned object (NetworkPolicy, Certificate, ConfigMap, Secret) as far as the diff and the status read it. */
export interface OwnedObject {
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid?: string;
    readonly generation?: number;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly ownerReferences?: OwnerReference[];
  };
  readonly spec?: unknown;
  readonly roleRef?: unknown;
  readonly subjects?: unknown;
  /** ConfigMap and Secret values as sha256 hex digests. */
  readonly data?: Record<string, string>;
  readonly type?: string;
  /** A Certificate's Ready condition. */
  readonly ready?: CertificateCondition;
}

export interface CertificateCondition {
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): Record<string, string> | undefined =>
  isRecord(value) ? Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string')) : undefined;

interface PodSpec {
  hostNetwork?: boolean;
  serviceAccountName?: string;
  volumes?: { name?: string; configMap?: { name?: string } }[];
  containers?: { volumeMounts?: { name?: string; mountPath?: string }[] }[];
  initContainers?: { restartPolicy?: string; volumeMounts?: { name?: string; mountPath?: string }[] }[];
}

interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs?: { ip?: string }[];
}

function sidecarConfigMap(spec: PodSpec): string | undefined {
  const volume = spec.volumes?.find((v) => v.name === VOLUME_NAMES.config)?.configMap?.name;
  if (!volume) return undefined;
  const mounts = (c: { volumeMounts?: { name?: string; mountPath?: string }[] }) => c.volumeMounts?.some((m) => m.name === VOLUME_NAMES.config && m.mountPath === SIDECAR_CONFIG_DIR) ?? false;
  // Init containers run to completion before the PACS starts, unless they are native sidecars.
  const runs = (spec.containers ?? []).some(mounts) || (spec.initContainers ?? []).some((c) => c.restartPolicy === 'Always' && mounts(c));
  return runs ? volume : undefined;
}

export function podFromObject(object: KubeObject): CachedPod {
  const meta = object.metadata ?? {};
  const spec = (object.spec ?? {}) as PodSpec;
  const status = (object.status ?? {}) as PodStatus;
  const ips = status.podIPs?.length ? status.podIPs.map((p) => p.ip).filter((ip): ip is string => typeof ip === 'string') : status.podIP ? [status.podIP] : [];
  const configMap = sidecarConfigMap(spec);
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    ...(meta.labels ? { labels: meta.labels } : {}),
    ips,
    ...(status.phase ? { phase: status.phase } : {}),
    ...(spec.hostNetwork ? { hostNetwork: true } : {}),
    ...(configMap ? { sidecarConfigMap: configMap } : {}),
    ...(spec.serviceAccountName ? { serviceAccount: spec.serviceAccountName } : {}),
    ...(meta.deletionTimestamp ? { deleting: true } : {}),
  };
}

export function namespaceFromObject(object: KubeObject): NamespaceInfo {
  return { name: object.metadata?.name ?? '', ...(object.metadata?.labels ? { labels: object.metadata.labels } : {}) };
}

export function secretMetaFromObject(object: KubeObject): SecretMeta {
  return { namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '', resourceVersion: object.metadata?.resourceVersion ?? '' };
}

/** The policy without managedFields and annotations (kubectl's last-applied copy would double it). */
export function policyFromObject(object: KubeObject): CachedPolicy {
  const meta: ObjectMeta = object.metadata ?? {};
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: meta.name ?? '',
      namespace: meta.namespace ?? '',
      uid: meta.uid ?? '',
      generation: meta.generation ?? 0,
      creationTimestamp: meta.creationTimestamp ?? '',
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.deletionTimestamp ? { deletionTimestamp: meta.deletionTimestamp } : {}),
    },
    spec: object.spec as CachedPolicy['spec'],
    ...(object.status ? { status: object.status as CachedPolicy['status'] } : {}),
  };
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function digests(data: Record<string, string> | undefined): Record<string, string> | undefined {
  return data ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, sha256(v)])) : undefined;
}

function certificateReady(status: unknown): CertificateCondition | undefined {
  if (!isRecord(status) || !Array.isArray(status.conditions)) return undefined;
  const ready = (status.conditions as unknown[]).find((c): c is Record<string, unknown> => isRecord(c) && c.type === 'Ready');
  if (!ready) return undefined;
  return {
    status: String(ready.status ?? 'Unknown'),
    ...(typeof ready.reason === 'string' ? { reason: ready.reason } : {}),
    ...(typeof ready.message === 'string' ? { message: ready.message } : {}),
    ...(typeof ready.observedGeneration === 'number' ? { observedGeneration: ready.observedGeneration } : {}),
  };
}

/**
 * The projection of an owned object, the same for what the API server holds and for
 * what the operator wants (so that the two compare): metadata the operator sets, the
 * payload, values as digests.
 */
export function ownedFromObject(object: KubeObject, kind = object.kind ?? ''): OwnedObject {
  // List items of built-in kinds come without apiVersion and kind: the caller knows the kind.
  const meta: ObjectMeta = object.metadata ?? {};
  const data = object.data !== undefined ? digests(strings(object.data)) : undefined;
  const ready = certificateReady(object.status);
  return {
    kind,
    metadata: {
      name: meta.name ?? '',
      namespace: meta.namespace ?? '',
      ...(meta.uid ? { uid: meta.uid } : {}),
      ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ...(meta.ownerReferences ? { ownerReferences: meta.ownerReferences } : {}),
    },
    ...(object.spec !== undefined ? { spec: object.spec } : {}),
    // RoleBinding: its payload is outside spec.
    ...(object.roleRef !== undefined ? { roleRef: object.roleRef } : {}),
    ...(object.subjects !== undefined ? { subjects: object.subjects } : {}),
    ...(data ? { data } : {}),
    ...(typeof object.type === 'string' ? { type: object.type } : {}),
    ...(ready ? { ready } : {}),
  };
}
