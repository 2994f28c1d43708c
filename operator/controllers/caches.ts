// The informers the controllers read, one per resource, and the store of referenced
// Secrets' data. Every replica runs them (a follower keeps them warm so that it can take
// over at once); only the leader's controllers act on them.
//
//   policies        DicomAccessPolicies (spec, status, a few metadata fields)
//   pods            pods, a dozen fields each (labels, addresses, phase, sidecar config)
//   namespaces      names and labels (namespaceSelector of `from` peers)
//   secretVersions  Secrets' metadata only: which exist and their resourceVersions; the
//                   data of the ones a policy references is fetched when their version changes
//   owned.*         objects labelled app.kubernetes.io/managed-by=dicom-guard: NetworkPolicies,
//                   cert-manager Certificates (optional: cert-manager may be absent),
//                   ConfigMaps, Secrets (values as digests), RoleBindings
import type { Logger } from '../../sidecar/log.ts';
import { isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { objectKey, RESOURCES, type ResourceType } from '../kube/resources.ts';
import type { OwnedKind } from '../render/desired.ts';
import type { ReferencedSecrets } from '../render/material.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../render/owned.ts';
import type { NamespaceInfo } from '../render/peers.ts';
import {
  namespaceFromObject,
  ownedFromObject,
  podFromObject,
  policyFromObject,
  secretMetaFromObject,
  type CachedPod,
  type CachedPolicy,
  type OwnedObject,
  type SecretMeta,
} from './cached.ts';

export const OWNED_RESOURCES: Readonly<Record<OwnedKind, ResourceType>> = {
  NetworkPolicy: RESOURCES.networkPolicies,
  Certificate: RESOURCES.certificates,
  ConfigMap: RESOURCES.configMaps,
  Secret: RESOURCES.secrets,
  RoleBinding: RESOURCES.roleBindings,
};

export interface Caches {
  readonly policies: Informer<CachedPolicy>;
  readonly pods: Informer<CachedPod>;
  readonly namespaces: Informer<NamespaceInfo>;
  readonly secretVersions: Informer<SecretMeta>;
  readonly owned: Readonly<Record<OwnedKind, Informer<OwnedObject>>>;
  readonly all: readonly Informer<unknown>[];
}

export interface CacheOptions {
  client: KubeClient;
  /** Watch one namespace; all when absent. Namespaces themselves are always watched cluster-wide. */
  namespace?: string;
  logger: Logger;
  onRestart?(resource: string, reason: 'expired' | 'closed' | 'error'): void;
  watchTimeoutSeconds?: () => number;
}

export function createCaches(options: CacheOptions): Caches {
  const { client, namespace, logger } = options;
  const make = <T>(resource: ResourceType, transform: (o: KubeObject) => T, extra: { labelSelector?: string; metadataOnly?: boolean; optional?: boolean; clusterWide?: boolean } = {}) =>
    new Informer<T>({
      client,
      resource,
      namespace: extra.clusterWide ? undefined : namespace,
      labelSelector: extra.labelSelector,
      metadataOnly: extra.metadataOnly,
      optional: extra.optional,
      transform,
      logger,
      onRestart: (reason) => options.onRestart?.(resource.plural, reason),
      watchTimeoutSeconds: options.watchTimeoutSeconds,
    });
  const managed = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
  const owned = {
    NetworkPolicy: make(RESOURCES.networkPolicies, (o) => ownedFromObject(o, 'NetworkPolicy'), { labelSelector: managed }),
    Certificate: make(RESOURCES.certificates, (o) => ownedFromObject(o, 'Certificate'), { labelSelector: managed, optional: true }),
    ConfigMap: make(RESOURCES.configMaps, (o) => ownedFromObject(o, 'ConfigMap'), { labelSelector: managed }),
    Secret: make(RESOURCES.secrets, (o) => ownedFromObject(o, 'Secret'), { labelSelector: managed }),
    RoleBinding: make(RESOURCES.roleBindings, (o) => ownedFromObject(o, 'RoleBinding'), { labelSelector: managed }),
  };
  const caches = {
    policies: make(RESOURCES.policies, policyFromObject),
    pods: make(RESOURCES.pods, podFromObject),
    namespaces: make(RESOURCES.namespaces, namespaceFromObject, { clusterWide: true }),
    secretVersions: make(RESOURCES.secrets, secretMetaFromObject, { metadataOnly: true }),
    owned,
  };
  return { ...caches, all: [caches.policies, caches.pods, caches.namespaces, caches.secretVersions, ...Object.values(owned)] as Informer<unknown>[] };
}

/**
 * The data of referenced Secrets, fetched when a reconcile needs a Secret whose
 * resourceVersion (from the metadata informer) differs from the one fetched last:
 * nothing is read while nothing changes, and only referenced Secrets are held.
 */
export class SecretData {
  readonly #client: KubeClient;
  readonly #versions: Informer<SecretMeta>;
  readonly #data = new Map<string, { versions: string[]; data: Readonly<Record<string, string>> }>();

  constructor(client: KubeClient, versions: Informer<SecretMeta>) {
    this.#client = client;
    this.#versions = versions;
  }

  async read(namespace: string, names: readonly string[], signal?: AbortSignal): Promise<ReferencedSecrets> {
    const result: Record<string, Readonly<Record<string, string>>> = {};
    for (const name of new Set(names)) {
      const key = objectKey(namespace, name);
      const meta = this.#versions.get(key);
      if (!meta) {
        this.#data.delete(key);
        continue;
      }
      const held = this.#data.get(key);
      if (held?.versions.includes(meta.resourceVersion)) {
        result[name] = held.data;
        continue;
      }
      try {
        const secret = await this.#client.get<KubeObject & { data?: Record<string, string> }>(RESOURCES.secrets, namespace, name, signal);
        const data = secret.data ?? {};
        this.#data.set(key, { versions: [meta.resourceVersion, secret.metadata?.resourceVersion ?? ''], data });
        result[name] = data;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.#data.delete(key);
      }
    }
    return result;
  }

  forget(key: string): void {
    this.#data.delete(key);
  }

  get size(): number {
    return this.#data.size;
  }
}
