// The DicomAccessPolicy controller: for each policy, the objects it owns and its status.
//
// processItem(key) reads only caches, asks the pure functions what the world should look
// like (render/desired.ts, protection.ts, policy-status.ts), writes only what differs
// (diff.ts), deletes owned objects no longer wanted, and writes the status only when it
// changed. Everything that can make a policy's answer change is an informer event that
// requeues it (triggers.ts); a periodic resync requeues every policy, and finds nothing
// to write when nothing changed.
//
// Failures: a missing referenced Secret is not an error to retry (the Secret's arrival
// is an event); it is a condition naming the Secret and key, and an Event. A failed write
// is retried with per-key exponential backoff, and the status and an Event say why.
import type { Logger } from '../../sidecar/log.ts';
import { API_VERSION, KIND, type DicomAccessPolicyStatus } from '../api/v1alpha1.ts';
import { ApiError, isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';
import type { EventRecorder, ObjectReference } from '../kube/events.ts';
import { RESOURCES, splitKey } from '../kube/resources.ts';
import type { OperatorMetrics } from '../metrics.ts';
import { CONFIG_SHA256_ANNOTATION, desiredObjects, OWNED_KINDS, type DesiredObjects, type OwnedKind } from '../render/desired.ts';
import { referencedSecrets } from '../render/material.ts';
import { objectNames, type PolicyObjectNames } from '../render/mounts.ts';
import { resolvePeerPods, type PeerPods } from '../render/peers.ts';
import { unresolvedPeers, type RenderSettings } from '../render/sidecar-config.ts';
import { sidecarServiceAccounts } from '../render/sidecar-role-binding.ts';
import { statusEqual } from '../render/status.ts';
import { ownedFromObject, type CachedPolicy } from './cached.ts';
import { OWNED_RESOURCES, SecretData, type Caches } from './caches.ts';
import { APPLIED_HASH_ANNOTATION, applyVerdict, canonicalJson, controlledBy, PendingWrites, stamp } from './diff.ts';
import { CERT_MANAGER_MISSING, policyStatus, type OwnedOutcome, type Outcomes } from './policy-status.ts';
import { countPods } from './protection.ts';
import { policiesForNamespace, policyOfOwned, policiesForPod, policiesForSecret, policyChanged, policyKey } from './triggers.ts';
import { tlsSecretAction, tlsSecretOwnership } from './tls-secret.ts';
import { WorkQueue } from './queue.ts';

const CONTROLLER = 'policy';

const OBJECT_NAME: Readonly<Record<OwnedKind, keyof PolicyObjectNames>> = {
  NetworkPolicy: 'networkPolicy',
  Certificate: 'certificate',
  ConfigMap: 'configMap',
  Secret: 'identitySecret',
  RoleBinding: 'roleBinding',
};

function desiredOf(desired: DesiredObjects, kind: OwnedKind): KubeObject | undefined {
  switch (kind) {
    case 'NetworkPolicy':
      return desired.networkPolicy as KubeObject | undefined;
    case 'Certificate':
      return desired.certificate as KubeObject | undefined;
    case 'ConfigMap':
      return desired.configMap as KubeObject | undefined;
    case 'Secret':
      return desired.identitySecret as KubeObject | undefined;
    case 'RoleBinding':
      return desired.roleBinding as unknown as KubeObject;
  }
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const errorReason = (error: unknown): string => (error instanceof ApiError ? error.reason : 'Error');

/** A reconcile that wrote what it could and must be retried. */
export class ReconcileError extends Error {
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.name = 'ReconcileError';
    this.reason = reason;
  }
}

export interface PolicyControllerOptions {
  client: KubeClient;
  caches: Caches;
  events: EventRecorder;
  metrics: OperatorMetrics;
  logger: Logger;
  settings: RenderSettings;
  /** Reconciles at once (different policies; one policy is never reconciled twice at once). */
  workers: number;
  /** Every policy is requeued this often (0: never). */
  resyncMs: number;
  now?: () => Date;
}

export class PolicyController {
  readonly #o: PolicyControllerOptions;
  readonly #log: Logger;
  readonly #secretData: SecretData;
  readonly #pending = new PendingWrites<string>();
  #queue: WorkQueue<string> | undefined;
  #running: Promise<void> | undefined;

  constructor(options: PolicyControllerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ controller: CONTROLLER });
    this.#secretData = new SecretData(options.client, options.caches.secretVersions);
    this.#watch();
  }

  /** Whether workers are running (this replica leads). */
  get running(): boolean {
    return this.#queue !== undefined;
  }

  #enqueue(keys: Iterable<string>): void {
    const queue = this.#queue;
    if (!queue) return;
    for (const key of keys) queue.add(key);
  }

  #enqueueNamespace(namespace: string): void {
    this.#enqueue(this.#o.caches.policies.listIn(namespace).map(policyKey));
  }

  /** Informer events -> policy keys (triggers.ts). Registered once; they enqueue only while leading. */
  #watch(): void {
    const { caches } = this.#o;
    const policies = () => caches.policies.list();
    const namespace = (name: string) => caches.namespaces.get(name);
    caches.policies.on({
      // A policy that comes, goes or changes its selector can win or lose pods of its
      // namespace's other policies (conflicts): reconcile them all.
      add: (_key, p) => this.#enqueueNamespace(p.metadata.namespace),
      update: (_key, old, p) => (policyChanged(old, p) ? this.#enqueueNamespace(p.metadata.namespace) : undefined),
      delete: (key, p) => {
        this.#pending.forgetPrefix(`${key}#`);
        this.#enqueueNamespace(p.metadata.namespace);
      },
    });
    caches.pods.on({
      add: (_key, pod) => this.#enqueue(policiesForPod(policies(), namespace, pod)),
      update: (_key, old, pod) => this.#enqueue(policiesForPod(policies(), namespace, old, pod)),
      delete: (_key, pod) => this.#enqueue(policiesForPod(policies(), namespace, pod)),
    });
    const namespacesChanged = () => this.#enqueue(policiesForNamespace(policies()));
    caches.namespaces.on({ add: namespacesChanged, update: namespacesChanged, delete: namespacesChanged });
    const secretChanged = (key: string) => {
      const { namespace: ns, name } = splitKey(key);
      const referencing = policiesForSecret(caches.policies.listIn(ns), ns, name);
      if (referencing.length === 0) this.#secretData.forget(key);
      this.#enqueue(referencing);
    };
    caches.secretVersions.on({ add: secretChanged, update: secretChanged, delete: secretChanged });
    for (const informer of Object.values(caches.owned)) {
      informer.on({
        add: (_key, o) => this.#enqueue([policyOfOwned(o)].filter((k) => k !== undefined)),
        update: (_key, old, o) => this.#enqueue(new Set([policyOfOwned(old), policyOfOwned(o)].filter((k) => k !== undefined))),
        delete: (_key, o) => this.#enqueue([policyOfOwned(o)].filter((k) => k !== undefined)),
      });
    }
    // cert-manager installed or removed: every policy that wants a Certificate.
    caches.owned.Certificate.on({ served: () => this.#enqueue(policies().filter((p) => p.spec.tls.mode !== 'Disabled').map(policyKey)) });
  }

  /**
   * Runs the workers until `leading` aborts: waits for the caches, queues every policy,
   * requeues them all every resync period. Returns once the workers are done.
   */
  run(leading: AbortSignal): Promise<void> {
    this.#running = this.#run(leading);
    return this.#running;
  }

  async #run(leading: AbortSignal): Promise<void> {
    const { caches, metrics, workers, resyncMs } = this.#o;
    await Promise.race([Promise.all(caches.all.map((i) => i.waitForSync())), new Promise((resolve) => leading.addEventListener('abort', resolve, { once: true }))]);
    if (leading.aborted) return;
    const queue = new WorkQueue<string>({ onDepth: (depth) => metrics.queueDepth.set({ queue: CONTROLLER }, depth) });
    this.#queue = queue;
    const all = () => this.#enqueue(caches.policies.keys());
    all();
    const resync = resyncMs > 0 ? setInterval(all, resyncMs) : undefined;
    const stopped = new Promise<void>((resolve) =>
      leading.addEventListener(
        'abort',
        () => {
          clearInterval(resync);
          this.#queue = undefined;
          // Keys being processed finish (their writes check `leading` and stop); queued ones are dropped.
          void queue.shutDown().then(resolve);
        },
        { once: true },
      ),
    );
    this.#log.info({ workers, resyncSeconds: resyncMs / 1000, policies: caches.policies.size }, 'reconciling');
    await Promise.all([stopped, ...Array.from({ length: workers }, () => this.#worker(queue, leading))]);
    this.#log.info('stopped reconciling');
  }

  /** Resolves when the workers stopped (after `leading` aborted). */
  async stopped(): Promise<void> {
    await this.#running;
  }

  async #worker(queue: WorkQueue<string>, leading: AbortSignal): Promise<void> {
    const { metrics } = this.#o;
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      const end = metrics.reconcileSeconds.startTimer({ controller: CONTROLLER });
      try {
        const result = await this.processItem(key, leading);
        queue.forget(key);
        metrics.reconciles.inc({ controller: CONTROLLER, result });
      } catch (error) {
        if (leading.aborted) {
          metrics.reconciles.inc({ controller: CONTROLLER, result: 'aborted' });
        } else {
          const reason = error instanceof ReconcileError ? error.reason : errorReason(error);
          metrics.reconciles.inc({ controller: CONTROLLER, result: 'error' });
          metrics.reconcileErrors.inc({ controller: CONTROLLER, reason });
          this.#log.warn({ policy: key, reason, err: errorMessage(error), retries: queue.failures(key) }, 'reconcile failed; retrying with backoff');
          queue.addRateLimited(key);
        }
      } finally {
        end();
        queue.done(key);
      }
    }
  }

  /** One reconcile of the policy `namespace/name`. */
  async processItem(key: string, signal: AbortSignal): Promise<'success' | 'gone'> {
    const { caches, settings } = this.#o;
    const policy = caches.policies.get(key);
    // Deleted: the garbage collector removes what it owned (owner references).
    if (!policy || policy.metadata.deletionTimestamp) {
      this.#pending.forgetPrefix(`${key}#`);
      return 'gone';
    }
    const { namespace } = policy.metadata;
    const names = objectNames(policy.metadata.name);

    // Read: caches (and the data of referenced Secrets whose version changed).
    const secrets = await this.#secretData.read(namespace, referencedSecrets(policy).map((r) => r.name), signal);
    const hasFromPeers = (policy.spec.peers ?? []).some((p) => p.from);
    const peerPods: PeerPods = hasFromPeers ? resolvePeerPods(policy, caches.pods.list(), caches.namespaces.list()) : {};

    // Decide: pure.
    const sidecarAccounts = sidecarServiceAccounts(policy, caches.pods.listIn(namespace));
    const desired = desiredObjects({ policy, peerPods, secrets, sidecarServiceAccounts: sidecarAccounts, settings });

    // Write what differs; delete what is no longer wanted.
    const outcomes = {} as Record<OwnedKind, OwnedOutcome>;
    for (const kind of OWNED_KINDS) outcomes[kind] = await this.#reconcileOwned(policy, kind, names[OBJECT_NAME[kind]], desired, signal);
    const tlsSecretFailure = await this.#reconcileTlsSecret(policy, names, desired.kinds.has('Certificate'), signal);

    // Status, written only when it changed.
    const configMap = outcomes.ConfigMap;
    const configCurrent =
      desired.configSha256 !== undefined && (configMap.state === 'current' || configMap.state === 'applied') && configMap.live.metadata.annotations?.[CONFIG_SHA256_ANNOTATION] === desired.configSha256;
    const counts = countPods(policy, caches.policies.listIn(namespace), caches.pods.listIn(namespace), configCurrent);
    const cachedVersion = caches.policies.resourceVersionOf(key);
    const statusKey = `${key}#status`;
    const written = this.#pending.get(statusKey, cachedVersion);
    const known: DicomAccessPolicyStatus | undefined = written ? (JSON.parse(written) as DicomAccessPolicyStatus) : policy.status;
    const status = policyStatus(
      { policy, known, desired, outcomes, counts, unresolvedPeers: unresolvedPeers(policy, peerPods), certificateName: names.certificate },
      (this.#o.now ?? (() => new Date()))(),
    );
    let statusError: unknown;
    if (!statusEqual(status, known)) {
      try {
        await this.#writeStatus(policy, status, signal);
        this.#pending.remember(statusKey, canonicalJson(status), cachedVersion);
      } catch (error) {
        if (signal.aborted) throw error;
        statusError = error;
      }
    }

    this.#recordEvents(policy, desired, outcomes, status, signal);
    const failures = Object.entries(outcomes).flatMap(([kind, o]) => (o.state === 'failed' && o.reason !== 'NameConflict' ? [`${kind}: ${o.message}`] : []));
    if (tlsSecretFailure) failures.push(`TLS Secret: ${tlsSecretFailure}`);
    if (statusError) failures.push(`status: ${errorMessage(statusError)}`);
    if (failures.length) {
      const reason = statusError ? errorReason(statusError) : (Object.values(outcomes).find((o) => o.state === 'failed') as { reason: string } | undefined)?.reason ?? 'Error';
      throw new ReconcileError(failures.join('; '), reason);
    }
    this.#log.debug({ policy: key, matchedPods: counts.matchedPods, protectedPods: counts.protectedPods, pods: counts.byProtection }, 'reconciled');
    return 'success';
  }

  async #reconcileOwned(policy: CachedPolicy, kind: OwnedKind, name: string, desired: DesiredObjects, signal: AbortSignal): Promise<OwnedOutcome> {
    const { caches, client, metrics } = this.#o;
    const { namespace, uid } = policy.metadata;
    const resource = OWNED_RESOURCES[kind];
    const cache = caches.owned[kind];
    const cacheKey = `${namespace}/${name}`;
    const live = cache.get(cacheKey);
    const pendingKey = `${policyKey(policy)}#${kind}`;
    const cachedVersion = cache.resourceVersionOf(cacheKey);
    const where = `${kind} ${namespace}/${name}`;

    if (!desired.kinds.has(kind)) {
      if (!live || !controlledBy(live, uid)) return { state: 'absent' };
      if (this.#pending.get(pendingKey, cachedVersion) === 'deleted') return { state: 'deleted' };
      signal.throwIfAborted();
      try {
        await client.delete(resource, namespace, name, live.metadata.uid, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        return { state: 'failed', reason: errorReason(error), message: `could not delete ${where}: ${errorMessage(error)}` };
      }
      this.#pending.remember(pendingKey, 'deleted', cachedVersion);
      metrics.objectWrites.inc({ kind, operation: 'delete' });
      this.#log.info({ policy: policyKey(policy), object: where }, 'deleted an owned object that is no longer wanted');
      return { state: 'deleted' };
    }

    const object = desiredOf(desired, kind);
    if (!object) return { state: 'kept' };
    if (kind === 'Certificate' && cache.served === false) return { state: 'not-served' };
    const stamped = stamp(object);
    const hash = stamped.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] ?? '';
    const verdict = applyVerdict(stamped, live);
    if (verdict === 'unchanged') return { state: 'current', live: live! };
    // Written a moment ago; the cache has not seen it yet.
    if (this.#pending.get(pendingKey, cachedVersion) === hash) return { state: 'current', live: { ...ownedFromObject(stamped, kind), ...(live?.ready ? { ready: live.ready } : {}) } };

    if (verdict === 'missing') {
      // Not in our cache (which sees only labelled objects): is someone else's object in the way?
      try {
        const existing = ownedFromObject(await client.get(resource, namespace, name, signal), kind);
        if (!controlledBy(existing, uid)) {
          return {
            state: 'failed',
            reason: 'NameConflict',
            message: `${where} exists and is not controlled by this policy; delete or rename it so that the operator can create its own`,
          };
        }
      } catch (error) {
        if (signal.aborted) throw error;
        if (!isNotFound(error)) return { state: 'failed', reason: errorReason(error), message: `could not read ${where}: ${errorMessage(error)}` };
      }
    }
    signal.throwIfAborted();
    try {
      const result = await client.apply(resource, stamped, { signal });
      this.#pending.remember(pendingKey, hash, cachedVersion);
      metrics.objectWrites.inc({ kind, operation: 'apply' });
      this.#log.info({ policy: policyKey(policy), object: where, why: verdict }, 'applied an owned object');
      return { state: 'applied', live: ownedFromObject(result, kind) };
    } catch (error) {
      if (signal.aborted) throw error;
      // The CRD went away between the informer's look and ours.
      if (kind === 'Certificate' && isNotFound(error)) return { state: 'not-served' };
      return { state: 'failed', reason: errorReason(error), message: `could not apply ${where}: ${errorMessage(error)}` };
    }
  }

  /** tls-secret.ts: cert-manager's TLS Secret is owned by the policy while TLS is on, and deleted once it is off. Returns what failed. */
  async #reconcileTlsSecret(policy: CachedPolicy, names: PolicyObjectNames, certificateWanted: boolean, signal: AbortSignal): Promise<string | undefined> {
    const { caches, client, metrics } = this.#o;
    const { namespace } = policy.metadata;
    const cacheKey = `${namespace}/${names.tlsSecret}`;
    const live = caches.owned.Secret.get(cacheKey);
    const action = tlsSecretAction(policy, names.certificate, certificateWanted, live);
    if (action === 'none') return undefined;
    const pendingKey = `${policyKey(policy)}#TlsSecret`;
    const cachedVersion = caches.owned.Secret.resourceVersionOf(cacheKey);
    // Done a moment ago; the cache has not seen it yet.
    if (this.#pending.get(pendingKey, cachedVersion) === action) return undefined;
    signal.throwIfAborted();
    try {
      if (action === 'adopt') await client.apply(RESOURCES.secrets, tlsSecretOwnership(policy, names.tlsSecret), { signal });
      else await client.delete(RESOURCES.secrets, namespace, names.tlsSecret, live!.metadata.uid, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      if (action === 'delete' && isNotFound(error)) return undefined;
      return `could not ${action === 'adopt' ? 'make the policy an owner of' : 'delete'} Secret ${cacheKey}: ${errorMessage(error)}`;
    }
    this.#pending.remember(pendingKey, action, cachedVersion);
    metrics.objectWrites.inc({ kind: 'Secret', operation: action === 'adopt' ? 'apply' : 'delete' });
    this.#log.info(
      { policy: policyKey(policy), object: `Secret ${cacheKey}` },
      action === 'adopt' ? "made the policy an owner of cert-manager's TLS Secret (deleted with the policy)" : 'deleted the TLS Secret of a Certificate no longer wanted',
    );
    return undefined;
  }

  async #writeStatus(policy: CachedPolicy, status: DicomAccessPolicyStatus, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const { name, namespace, uid } = policy.metadata;
    // metadata.uid: the write is for this policy, not for a new one that took its name.
    await this.#o.client.apply(RESOURCES.policies, { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, uid }, status }, { subresource: 'status', signal });
    this.#o.metrics.objectWrites.inc({ kind: KIND, operation: 'status' });
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    this.#log.info({ policy: `${namespace}/${name}`, ready: ready?.status, reason: ready?.reason, matchedPods: status.matchedPods, protectedPods: status.protectedPods }, 'status updated');
  }

  #recordEvents(policy: CachedPolicy, desired: DesiredObjects, outcomes: Outcomes, status: DicomAccessPolicyStatus, signal: AbortSignal): void {
    const regarding: ObjectReference = { apiVersion: API_VERSION, kind: KIND, name: policy.metadata.name, namespace: policy.metadata.namespace, uid: policy.metadata.uid };
    const warn = (reason: string, action: string, note: string) => this.#o.events.record({ regarding, type: 'Warning', reason, action, note }, signal);
    if (desired.error) warn(desired.error.reason, 'Render', desired.error.message);
    for (const outcome of Object.values(outcomes)) {
      if (outcome.state === 'failed') warn(outcome.reason === 'NameConflict' ? 'NameConflict' : 'ApplyFailed', 'Apply', outcome.message);
    }
    if (outcomes.Certificate.state === 'not-served') {
      warn(CERT_MANAGER_MISSING, 'Apply', `DicomAccessPolicy ${policyKey(policy)}: spec.tls.mode is ${policy.spec.tls.mode}, but cert-manager is not installed (no certificates.cert-manager.io/v1)`);
    }
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    if (ready?.reason === 'Conflict') warn('Conflict', 'Reconcile', ready.message);
  }
}
