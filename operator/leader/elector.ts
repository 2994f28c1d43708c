// The leader election loop around lease.ts. Every replica runs it: followers read the
// Lease every retry period and take it when it expires or is released; the leader
// renews it every retry period and stops leading as soon as it cannot renew within the
// renew deadline or sees someone else holding it. Leading is an AbortSignal: whatever
// writes on the leader's behalf stops the moment it aborts. On shutdown the leader
// releases the Lease so that a follower takes over at its next try.
import type { Logger } from '../../sidecar/log.ts';
import { sleep } from '../kube/backoff.ts';
import { isConflict, isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';
import { RESOURCES } from '../kube/resources.ts';
import { decideLease, observe, releasedSpec, renewalOverdue, type ElectionTiming, type LeaseSpec, type LeaseState, type Observation } from './lease.ts';

export interface ElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  timing: ElectionTiming;
  logger: Logger;
  /** Called when this replica becomes the leader; `leading` aborts when it stops being one. */
  onStartedLeading(leading: AbortSignal): void;
  /** Called after leading ended (lost or stopping); awaited before the Lease is released. */
  onStoppedLeading(): Promise<void>;
  /** Called whenever the observed holder changes ('' when none). */
  onHolder?(holder: string): void;
}

interface LeaseObject extends KubeObject {
  spec?: LeaseSpec;
}

export class LeaderElector {
  readonly #options: ElectorOptions;
  readonly #stop = new AbortController();
  #observation: Observation | undefined;
  #leading: AbortController | undefined;
  #lastRenewal = 0;
  #holder = '';
  #loop: Promise<void> | undefined;

  constructor(options: ElectorOptions) {
    this.#options = options;
  }

  get isLeader(): boolean {
    return this.#leading !== undefined && !this.#leading.signal.aborted;
  }

  get holder(): string {
    return this.#holder;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #read(): Promise<LeaseState | undefined> {
    const { client, namespace, name } = this.#options;
    try {
      const lease = await client.request<LeaseObject>({ verb: 'get', resource: RESOURCES.leases, namespace, name, signal: this.#stop.signal, timeoutMs: this.#requestTimeoutMs() });
      return { spec: lease.spec ?? {}, resourceVersion: lease.metadata?.resourceVersion ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  #requestTimeoutMs(): number {
    const { renewDeadlineSeconds, retryPeriodSeconds } = this.#options.timing;
    return Math.max(1000, Math.min(renewDeadlineSeconds * 500, retryPeriodSeconds * 2500));
  }

  async #write(spec: LeaseSpec, resourceVersion: string | undefined): Promise<LeaseState> {
    const { client, namespace, name } = this.#options;
    const body: LeaseObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      spec,
    };
    const signal = this.#stop.signal;
    const written =
      resourceVersion === undefined
        ? await client.request<LeaseObject>({ verb: 'create', resource: RESOURCES.leases, namespace, body, signal, timeoutMs: this.#requestTimeoutMs() })
        : await client.request<LeaseObject>({ verb: 'update', resource: RESOURCES.leases, namespace, name, body, signal, timeoutMs: this.#requestTimeoutMs() });
    return { spec: written.spec ?? spec, resourceVersion: written.metadata?.resourceVersion ?? '' };
  }

  #setHolder(holder: string): void {
    if (holder === this.#holder) return;
    this.#holder = holder;
    this.#options.logger.info({ lease: `${this.#options.namespace}/${this.#options.name}`, holder: holder || '(none)' }, 'lease holder changed');
    this.#options.onHolder?.(holder);
  }

  /** One try: true when we hold the Lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { identity, timing } = this.#options;
    const current = await this.#read();
    const now = Date.now();
    this.#observation = observe(this.#observation, current, now);
    const decision = decideLease(this.#observation, now, identity, timing);
    if (decision.kind === 'held') {
      this.#setHolder(decision.holder);
      return false;
    }
    try {
      const written = await this.#write(decision.spec, decision.kind === 'update' ? decision.resourceVersion : undefined);
      this.#observation = { ...written, observedAt: Date.now() };
      this.#setHolder(identity);
      return true;
    } catch (error) {
      // Someone else wrote first (409): read again at the next try.
      if (isConflict(error)) return false;
      throw error;
    }
  }

  async #run(): Promise<void> {
    const { logger, timing } = this.#options;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      let held = false;
      try {
        held = await this.#tryAcquireOrRenew();
      } catch (error) {
        if (stop.aborted) break;
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, this.isLeader ? 'could not renew the lease' : 'could not read the lease');
      }
      const now = Date.now();
      if (held) {
        this.#lastRenewal = now;
        if (!this.isLeader) {
          logger.info({ identity: this.#options.identity }, 'became the leader');
          this.#leading = new AbortController();
          this.#options.onStartedLeading(this.#leading.signal);
        }
      } else if (this.isLeader && (this.#holder !== this.#options.identity || renewalOverdue(this.#lastRenewal, now, timing))) {
        logger.warn({ holder: this.#holder, sinceLastRenewalMs: now - this.#lastRenewal }, 'lost the lease: stopping the controllers');
        await this.#stopLeading();
      }
      // Followers spread their tries (client-go's JitterUntil with factor 1.2).
      const period = timing.retryPeriodSeconds * 1000;
      await sleep(this.isLeader ? period : period * (1 + 1.2 * Math.random()), stop);
    }
  }

  async #stopLeading(): Promise<void> {
    const leading = this.#leading;
    if (!leading || leading.signal.aborted) return;
    leading.abort(new Error('leadership lost'));
    await this.#options.onStoppedLeading();
  }

  /** Stops campaigning; a leader stops its controllers and releases the Lease. */
  async stop(): Promise<void> {
    const wasLeader = this.isLeader;
    this.#stop.abort(new Error('stopping'));
    await this.#loop;
    if (!wasLeader) return;
    await this.#stopLeading();
    const observation = this.#observation;
    if (!observation || observation.spec.holderIdentity !== this.#options.identity) return;
    const { client, namespace, name, logger } = this.#options;
    try {
      await client.request({
        verb: 'update',
        resource: RESOURCES.leases,
        namespace,
        name,
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, resourceVersion: observation.resourceVersion }, spec: releasedSpec(observation.spec, Date.now()) },
        timeoutMs: 5000,
      });
      logger.info({ lease: `${namespace}/${name}` }, 'released the lease');
    } catch (error) {
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not release the lease; the next leader waits for it to expire');
    }
  }
}
