// What the operator scale bench watches while the operator works, from outside it:
//   - Convergence: every policy's status (Ready at its generation, all its pods matched
//     and protected) and its rendered ConfigMap (the `from` peers resolved to exactly the
//     addresses expected), read with the operator's own informer over an admin client;
//   - a stand-in for cert-manager's issuing controller, which marks each Certificate Ready
//     (there is no cert-manager controller on the bench's control plane);
//   - the operator process's memory and CPU from /proc;
//   - its API requests from its /metrics, as differences between two scrapes.
import { parse } from 'yaml';
import type { Logger } from '../sidecar/log.ts';
import type { KubeClient, KubeObject } from '../operator/kube/client.ts';
import { WRITE_VERBS, type Verb } from '../operator/kube/client.ts';
import { Informer } from '../operator/kube/informer.ts';
import { RESOURCES } from '../operator/kube/resources.ts';
import { objectNames, SIDECAR_CONFIG_KEY } from '../operator/render/mounts.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../operator/render/owned.ts';
import type { Sample } from '../test/harness/operator.ts';
import { forEachConcurrently, patchStatus, type World } from './operator-world.ts';
import { cpuSecondsOf, memoryOf } from './process-usage.ts';
import { median } from './statistics.ts';

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

interface PolicyView {
  generation: number;
  observedGeneration?: number;
  matchedPods?: number;
  protectedPods?: number;
  /** type -> [status, reason, observedGeneration] */
  conditions: Record<string, [string, string, number | undefined]>;
}

function policyView(object: KubeObject): PolicyView {
  const status = (object.status ?? {}) as { observedGeneration?: number; matchedPods?: number; protectedPods?: number; conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[] };
  return {
    generation: object.metadata?.generation ?? 0,
    ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
    ...(status.matchedPods !== undefined ? { matchedPods: status.matchedPods } : {}),
    ...(status.protectedPods !== undefined ? { protectedPods: status.protectedPods } : {}),
    conditions: Object.fromEntries((status.conditions ?? []).map((c) => [c.type, [c.status, c.reason, c.observedGeneration]])),
  };
}

/** A rendered config's peers: name -> ipBlocks as CIDR text, in the order rendered. */
function configPeers(object: KubeObject): Record<string, string[]> | undefined {
  const text = (object.data as Record<string, string> | undefined)?.[SIDECAR_CONFIG_KEY];
  if (!text) return undefined;
  const config = parse(text) as { peers?: { name: string; ipBlocks?: { cidr: string }[] }[] };
  return Object.fromEntries((config.peers ?? []).map((p) => [p.name, (p.ipBlocks ?? []).map((b) => b.cidr)]));
}

const samePeers = (a: Readonly<Record<string, readonly string[]>>, b: Readonly<Record<string, readonly string[]>> | undefined) =>
  b !== undefined && Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([name, blocks]) => b[name]?.join(',') === blocks.join(','));

export interface ConvergenceOptions {
  /** With a stand-in issuer, TLS policies must become Ready; without, "Ready but for the Certificate". */
  issuer: boolean;
}

/**
 * Per policy: converged when its status and its ConfigMap say what the world demands.
 * Every change of either re-decides it; `at` keeps the moment it last became converged.
 */
export class Convergence {
  readonly #world: World;
  readonly #issuer: boolean;
  readonly #policies: Informer<PolicyView>;
  readonly #configs: Informer<Record<string, string[]> | undefined>;
  readonly #expected = new Map<string, World['policies'][number]>();
  readonly #at = new Map<string, number>();
  /** Ready reasons seen on the way, each counted once per policy. */
  readonly #reasons = new Map<string, Set<string>>();
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(client: KubeClient, world: World, options: ConvergenceOptions, logger: Logger) {
    this.#world = world;
    this.#issuer = options.issuer;
    for (const p of world.policies) this.#expected.set(`${p.namespace}/${p.name}`, p);
    this.#policies = new Informer({ client, resource: RESOURCES.policies, transform: policyView, logger });
    this.#configs = new Informer({ client, resource: RESOURCES.configMaps, labelSelector: MANAGED, transform: configPeers, logger });
    const policyChanged = (key: string) => this.#decide(key);
    this.#policies.on({ add: policyChanged, update: policyChanged, delete: policyChanged });
    const configChanged = (key: string) => {
      const slash = key.indexOf('/');
      const name = key.slice(slash + 1).replace(/-dicom-guard$/, '');
      this.#decide(`${key.slice(0, slash)}/${name}`);
    };
    this.#configs.on({ add: configChanged, update: configChanged, delete: configChanged });
  }

  async start(): Promise<void> {
    this.#policies.start();
    this.#configs.start();
    await Promise.all([this.#policies.waitForSync(), this.#configs.waitForSync()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.#policies.stop(), this.#configs.stop()]);
  }

  #converged(key: string): boolean {
    const expected = this.#expected.get(key);
    const view = this.#policies.get(key);
    if (!expected || !view || view.observedGeneration !== view.generation) return false;
    const pods = this.#world.settings.podsPerPolicy;
    if (view.matchedPods !== pods || view.protectedPods !== pods) return false;
    const current = (type: string, status: string) => view.conditions[type]?.[0] === status && view.conditions[type]?.[2] === view.generation;
    const ready = expected.tls && !this.#issuer
      ? // No cert-manager: everything but the Certificate is done.
        current('Ready', 'False') && view.conditions.Ready?.[1] === 'CertificateNotReady' && current('CertificateReady', 'False') && current('ConfigRendered', 'True') && current('NetworkPolicyReady', 'True')
      : current('Ready', 'True');
    if (!ready) return false;
    return samePeers(expected.expectedPeers, this.#configs.get(`${key.slice(0, key.indexOf('/'))}/${objectNames(expected.name).configMap}`));
  }

  #decide(key: string): void {
    const reason = this.#policies.get(key)?.conditions.Ready?.[1];
    if (reason) {
      let policies = this.#reasons.get(reason);
      if (!policies) this.#reasons.set(reason, (policies = new Set()));
      policies.add(key);
    }
    const converged = this.#converged(key);
    if (converged && !this.#at.has(key)) this.#at.set(key, performance.now());
    if (!converged) this.#at.delete(key);
    const count = this.#at.size;
    this.#waiters = this.#waiters.filter((w) => (count >= w.count ? (w.resolve(), false) : true));
  }

  get count(): number {
    return this.#at.size;
  }

  /** Converged policies by TLS. */
  counts(): { tls: number; plain: number } {
    let tls = 0;
    for (const key of this.#at.keys()) if (this.#expected.get(key)?.tls) tls++;
    return { tls, plain: this.#at.size - tls };
  }

  /** Resolves when `count` policies are converged at once, or with false after timeoutMs. */
  waitFor(count: number, timeoutMs: number): Promise<boolean> {
    if (this.#at.size >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Seconds after `since` (performance.now()) at which policies converged: median, 90th percentile, last; TLS and plain apart. */
  times(since: number): { medianSeconds: number; p90Seconds: number; lastSeconds: number; plainLastSeconds: number; tlsLastSeconds: number } {
    const all: number[] = [];
    const last = { plain: 0, tls: 0 };
    for (const [key, at] of this.#at) {
      const seconds = (at - since) / 1000;
      all.push(seconds);
      const kind = this.#expected.get(key)?.tls ? 'tls' : 'plain';
      last[kind] = Math.max(last[kind], seconds);
    }
    all.sort((a, b) => a - b);
    return { medianSeconds: median(all), p90Seconds: all[Math.floor(all.length * 0.9)] ?? Number.NaN, lastSeconds: all.at(-1) ?? Number.NaN, plainLastSeconds: last.plain, tlsLastSeconds: last.tls };
  }

  /** How many policies showed each Ready reason on the way. */
  reasonsSeen(): Record<string, number> {
    return Object.fromEntries([...this.#reasons].map(([reason, keys]) => [reason, keys.size]).sort());
  }

  /** Why the policies that are not converged are not, grouped (for a report that ran out of time). */
  stragglers(): Record<string, number> {
    const why = new Map<string, number>();
    for (const key of this.#expected.keys()) {
      if (this.#at.has(key)) continue;
      const view = this.#policies.get(key);
      const reason = !view
        ? 'no policy'
        : view.observedGeneration !== view.generation
          ? 'status not at its generation'
          : view.conditions.Ready?.[0] !== 'True'
            ? `Ready ${view.conditions.Ready?.[0] ?? '-'} ${view.conditions.Ready?.[1] ?? ''}`.trim()
            : view.matchedPods !== this.#world.settings.podsPerPolicy || view.protectedPods !== this.#world.settings.podsPerPolicy
              ? `pods ${view.protectedPods}/${view.matchedPods}`
              : 'ConfigMap peers not as expected';
      why.set(reason, (why.get(reason) ?? 0) + 1);
    }
    return Object.fromEntries(why);
  }
}

/**
 * cert-manager's part, played by the bench: every Certificate whose Ready condition is not
 * True for its generation is marked Ready at once, as an issuer with a CA at hand would
 * do it within a second or so.
 */
export class StandInIssuer {
  readonly #client: KubeClient;
  readonly #certificates: Informer<{ namespace: string; name: string; generation: number; readyAt?: number }>;
  /** Certificates being marked Ready, by key. */
  readonly #pending = new Map<string, Promise<void>>();
  #issued = 0;

  constructor(client: KubeClient, logger: Logger) {
    this.#client = client;
    this.#certificates = new Informer({
      client,
      resource: RESOURCES.certificates,
      labelSelector: MANAGED,
      optional: true,
      logger,
      transform: (o) => {
        const conditions = ((o.status as { conditions?: { type: string; status: string; observedGeneration?: number }[] } | undefined)?.conditions ?? []);
        const ready = conditions.find((c) => c.type === 'Ready' && c.status === 'True');
        return { namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '', generation: o.metadata?.generation ?? 0, ...(ready ? { readyAt: ready.observedGeneration ?? 0 } : {}) };
      },
    });
    const changed = (key: string, c: { namespace: string; name: string; generation: number; readyAt?: number }) => {
      if (c.readyAt === c.generation || this.#pending.has(key)) return;
      this.#pending.set(key, this.#issue(key, c));
    };
    this.#certificates.on({ add: changed, update: (key, _old, c) => changed(key, c) });
  }

  async #issue(key: string, c: { namespace: string; name: string; generation: number }): Promise<void> {
    try {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const ready = { type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', observedGeneration: c.generation, lastTransitionTime: now };
      await patchStatus(this.#client, RESOURCES.certificates, c.namespace, c.name, { conditions: [ready], notAfter: new Date(Date.now() + 90 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z') });
      this.#issued++;
    } catch {
      // Deleted meanwhile, or the API server is gone at the end of the run: nothing to issue.
    } finally {
      this.#pending.delete(key);
    }
  }

  get issued(): number {
    return this.#issued;
  }

  start(): void {
    this.#certificates.start();
  }

  async stop(): Promise<void> {
    await this.#certificates.stop();
    await Promise.all(this.#pending.values());
  }
}

// ---------------------------------------------------------------------------------------
// The process

export interface UsageSample {
  /** Seconds since the sampler started. */
  t: number;
  rssMiB: number;
  cpuSeconds: number;
}

/** VmRSS and CPU time of a process every `intervalMs`, and its VmHWM when asked. */
export class UsageSampler {
  readonly #pid: number;
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;
  readonly samples: UsageSample[] = [];

  constructor(pid: number, intervalMs = 500) {
    this.#pid = pid;
    this.#timer = setInterval(() => void this.sample(), intervalMs);
    void this.sample();
  }

  async sample(): Promise<UsageSample | undefined> {
    try {
      const [{ rssMiB }, cpuSeconds] = await Promise.all([memoryOf(this.#pid), cpuSecondsOf(this.#pid)]);
      const sample = { t: (performance.now() - this.#started) / 1000, rssMiB, cpuSeconds };
      this.samples.push(sample);
      return sample;
    } catch {
      return undefined; // exited
    }
  }

  /** The largest VmRSS sampled from `fromT` on (seconds since start). */
  maxRssMiB(fromT = 0): number {
    return Math.max(0, ...this.samples.filter((s) => s.t >= fromT).map((s) => s.rssMiB));
  }

  async peakRssMiB(): Promise<number> {
    return (await memoryOf(this.#pid)).peakRssMiB;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

// ---------------------------------------------------------------------------------------
// API requests from /metrics

export interface RequestCount {
  verb: string;
  resource: string;
  code: string;
  count: number;
}

const REQUESTS = 'dicomguard_operator_api_requests_total';

/** The differences of the request counter between two scrapes, largest first. */
export function requestDelta(before: readonly Sample[], after: readonly Sample[]): RequestCount[] {
  const key = (s: Sample) => `${s.labels.verb} ${s.labels.resource} ${s.labels.code}`;
  const was = new Map(before.filter((s) => s.name === REQUESTS).map((s) => [key(s), s.value]));
  return after
    .filter((s) => s.name === REQUESTS)
    .map((s) => ({ verb: s.labels.verb!, resource: s.labels.resource!, code: s.labels.code!, count: s.value - (was.get(key(s)) ?? 0) }))
    .filter((r) => r.count > 0)
    .sort((a, b) => b.count - a.count);
}

/** Sum of a counter's differences over samples named `name` (optionally filtered). */
export function counterDelta(before: readonly Sample[], after: readonly Sample[], name: string, filter: (labels: Record<string, string>) => boolean = () => true): number {
  const sum = (samples: readonly Sample[]) => samples.filter((s) => s.name === name && filter(s.labels)).reduce((n, s) => n + s.value, 0);
  return sum(after) - sum(before);
}

export interface RequestSummary {
  /** Writes (create, update, patch, apply, delete) but the Lease's. */
  writes: number;
  leaseWrites: number;
  leaseReads: number;
  /** get and list, the Lease's apart. */
  reads: number;
  /** Watch requests: each a watch started again. */
  watches: number;
  byVerb: Record<string, number>;
}

export function summarizeRequests(counts: readonly RequestCount[]): RequestSummary {
  const lease = (r: RequestCount) => r.resource === 'leases';
  const write = (r: RequestCount) => WRITE_VERBS.has(r.verb as Verb);
  const sum = (pick: (r: RequestCount) => boolean) => counts.filter(pick).reduce((n, r) => n + r.count, 0);
  const byVerb: Record<string, number> = {};
  for (const r of counts) byVerb[r.verb] = (byVerb[r.verb] ?? 0) + r.count;
  return {
    writes: sum((r) => write(r) && !lease(r)),
    leaseWrites: sum((r) => write(r) && lease(r)),
    leaseReads: sum((r) => !write(r) && r.verb !== 'watch' && lease(r)),
    reads: sum((r) => (r.verb === 'get' || r.verb === 'list') && !lease(r)),
    watches: sum((r) => r.verb === 'watch'),
    byVerb,
  };
}

/** Per minute, over `seconds`. */
export function perMinute<T extends object>(summary: T, seconds: number): T {
  const scale = (value: unknown): unknown =>
    typeof value === 'number' ? Math.round((value / seconds) * 60 * 100) / 100 : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scale(v)])) : value;
  return scale(summary) as T;
}

/** resourceVersions of the bench's policies and of every object the operator owns, to see what a quiet period changed. */
export async function objectVersions(client: KubeClient): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  const kinds = [
    [RESOURCES.policies, undefined],
    [RESOURCES.configMaps, MANAGED],
    [RESOURCES.networkPolicies, MANAGED],
    [RESOURCES.secrets, MANAGED],
    [RESOURCES.certificates, MANAGED],
  ] as const;
  await forEachConcurrently(kinds, kinds.length, async ([resource, labelSelector]) => {
    let continueToken: string | undefined;
    do {
      const page = await client.request<{ items: KubeObject[]; metadata?: { continue?: string } }>({
        verb: 'list',
        resource,
        query: { limit: 500, continue: continueToken, labelSelector },
        accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
        timeoutMs: 60_000,
      });
      for (const item of page.items ?? []) versions.set(`${resource.plural}/${item.metadata?.namespace}/${item.metadata?.name}`, item.metadata?.resourceVersion ?? '');
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
  });
  return versions;
}

/** Objects whose resourceVersion differs (or that came or went) between two looks, by resource. */
export function changedObjects(before: Map<string, string>, after: Map<string, string>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(key) === after.get(key)) continue;
    const resource = key.slice(0, key.indexOf('/'));
    changed[resource] = (changed[resource] ?? 0) + 1;
  }
  return changed;
}
