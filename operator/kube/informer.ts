// An informer: list, then watch from the list's resourceVersion, keeping an in-memory
// cache of one resource, as client-go's reflector does:
//   - bookmarks move the resourceVersion on while nothing changes, so a restarted watch
//     does not replay history or fall off the API server's window;
//   - 410 Gone (the window moved past our resourceVersion) means relist;
//   - a watch the server ended (its timeout) is restarted at once from the last version;
//   - errors and broken connections restart it with exponential backoff, and a watch
//     that keeps failing falls back to a relist;
//   - a relist replaces the cache and reports the differences as add/update/delete, so
//     nothing missed while disconnected goes unnoticed.
// The cache holds what `transform` keeps of each object (a few fields, not the object),
// and an update that does not change that is not reported at all.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../sidecar/log.ts';
import { Backoff, sleep, type BackoffOptions } from './backoff.ts';
import { ApiError, METADATA_ACCEPT, METADATA_LIST_ACCEPT, type KubeClient, type KubeObject, type ObjectList } from './client.ts';
import { objectKey, resourceLabel, type ResourceType } from './resources.ts';
import { LineSplitter, parseWatchEvent } from './watch-events.ts';

export interface InformerHandlers<T> {
  add?(key: string, value: T): void;
  update?(key: string, old: T, value: T): void;
  delete?(key: string, old: T): void;
  /** An optional resource began or stopped being served (a CRD was installed or removed). */
  served?(served: boolean): void;
}

export interface InformerOptions<T> {
  client: KubeClient;
  resource: ResourceType;
  /** One namespace; all when absent. */
  namespace?: string;
  labelSelector?: string;
  /** List and watch PartialObjectMetadata only (no payload: Secrets' data never crosses the wire). */
  metadataOnly?: boolean;
  /** The resource may not exist (a CRD of another project): 404 means "not served", not an error. */
  optional?: boolean;
  /** What the cache keeps of an object. */
  transform(object: KubeObject): T;
  equal?(a: T, b: T): boolean;
  logger: Logger;
  /** Counted by reason: expired (410), closed (the server ended it), error. */
  onRestart?(reason: 'expired' | 'closed' | 'error'): void;
  /** Watch timeout asked of the server; client-go picks 5-10 minutes at random. */
  watchTimeoutSeconds?: () => number;
  backoff?: BackoffOptions;
  /** How often to look again for an optional resource that is not served. */
  absentRetryMs?: number;
  pageSize?: number;
}

interface Entry<T> {
  value: T;
  resourceVersion: string;
  namespace: string;
}

/** An object as it arrived, transformed, with the key it is stored under. */
interface Arrival<T> extends Entry<T> {
  key: string;
}

class Gone extends Error {}

/** Consecutive failed watches after which the informer relists instead of watching again. */
const RELIST_AFTER_FAILURES = 3;

export class Informer<T> {
  readonly name: string;
  readonly #options: InformerOptions<T>;
  readonly #store = new Map<string, Entry<T>>();
  readonly #byNamespace = new Map<string, Set<string>>();
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #stop = new AbortController();
  readonly #backoff: Backoff;
  #running: Promise<void> | undefined;
  #synced = false;
  #served: boolean | undefined;
  #syncWaiters: (() => void)[] = [];

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.name = `${resourceLabel(options.resource)}${options.labelSelector ? `{${options.labelSelector}}` : ''}${options.metadataOnly ? ' (metadata)' : ''}`;
    this.#backoff = new Backoff(options.backoff ?? { initialMs: 500, maxMs: 10_000 });
  }

  on(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
  }

  /** Whether a full list has filled the cache (or an optional resource is known not to be served). */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /** For an optional resource: whether the API server serves it (undefined until known). */
  get served(): boolean | undefined {
    return this.#served;
  }

  get(key: string): T | undefined {
    return this.#store.get(key)?.value;
  }

  getIn(namespace: string | undefined, name: string): T | undefined {
    return this.get(objectKey(namespace, name));
  }

  resourceVersionOf(key: string): string | undefined {
    return this.#store.get(key)?.resourceVersion;
  }

  list(): T[] {
    return [...this.#store.values()].map((e) => e.value);
  }

  keys(): string[] {
    return [...this.#store.keys()];
  }

  listIn(namespace: string): T[] {
    return [...(this.#byNamespace.get(namespace) ?? [])].map((key) => this.#store.get(key)!.value);
  }

  get size(): number {
    return this.#store.size;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Resolves once synced (or when stopped). */
  waitForSync(): Promise<void> {
    if (this.#synced || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stop.abort(new Error(`informer ${this.name} stopped`));
    this.#markSynced();
    await this.#running;
  }

  #markSynced(): void {
    this.#synced = true;
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  #emit(fire: (h: InformerHandlers<T>) => void): void {
    for (const handlers of this.#handlers) {
      try {
        fire(handlers);
      } catch (error) {
        this.#options.logger.error({ err: error, informer: this.name }, 'an informer event handler failed');
      }
    }
  }

  #equal(a: T, b: T): boolean {
    return this.#options.equal ? this.#options.equal(a, b) : isDeepStrictEqual(a, b);
  }

  /** What the cache keeps of an object: its transform, taken as soon as it arrives so that the object itself can be dropped. */
  #entry(object: KubeObject): Arrival<T> | undefined {
    const name = object.metadata?.name;
    if (!name) return undefined;
    const namespace = object.metadata?.namespace ?? '';
    return { key: objectKey(namespace, name), namespace, value: this.#options.transform(object), resourceVersion: object.metadata?.resourceVersion ?? '' };
  }

  #set(object: KubeObject): void {
    const entry = this.#entry(object);
    if (entry) this.#put(entry);
  }

  #put({ key, namespace, value, resourceVersion }: Arrival<T>): void {
    const old = this.#store.get(key);
    this.#store.set(key, { value, resourceVersion, namespace });
    if (!old) {
      let keys = this.#byNamespace.get(namespace);
      if (!keys) this.#byNamespace.set(namespace, (keys = new Set()));
      keys.add(key);
      this.#emit((h) => h.add?.(key, value));
    } else if (!this.#equal(old.value, value)) {
      this.#emit((h) => h.update?.(key, old.value, value));
    }
  }

  #delete(key: string): void {
    const old = this.#store.get(key);
    if (!old) return;
    this.#store.delete(key);
    const keys = this.#byNamespace.get(old.namespace);
    keys?.delete(key);
    if (keys?.size === 0) this.#byNamespace.delete(old.namespace);
    this.#emit((h) => h.delete?.(key, old.value));
  }

  #setServed(served: boolean): void {
    if (this.#served === served) return;
    this.#served = served;
    this.#emit((h) => h.served?.(served));
  }

  async #list(signal: AbortSignal): Promise<string> {
    const { client, resource, namespace, labelSelector, metadataOnly, pageSize = 500 } = this.#options;
    // Pages are transformed as they arrive: a list of 5000 pods is never held whole
    // (the operator's peak memory), and the cache changes only once the list is complete.
    const entries: Arrival<T>[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await client.request<ObjectList>({
        verb: 'list',
        resource,
        namespace,
        query: { limit: pageSize, continue: continueToken, labelSelector },
        accept: metadataOnly ? METADATA_LIST_ACCEPT : undefined,
        signal,
        timeoutMs: 60_000,
      });
      for (const item of page.items ?? []) {
        const entry = this.#entry(item);
        if (entry) entries.push(entry);
      }
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (continueToken);
    // Replace: report what changed since the cache was last filled.
    const seen = new Set<string>();
    for (const entry of entries) {
      seen.add(entry.key);
      this.#put(entry);
    }
    for (const key of [...this.#store.keys()]) if (!seen.has(key)) this.#delete(key);
    return resourceVersion;
  }

  /** Watches from resourceVersion until the stream ends; returns the last version seen. */
  async #watch(resourceVersion: string, signal: AbortSignal): Promise<string> {
    const { client, resource, namespace, labelSelector, metadataOnly } = this.#options;
    const timeoutSeconds = this.#options.watchTimeoutSeconds?.() ?? Math.round(300 * (1 + Math.random()));
    const stream = await client.watch({
      resource,
      namespace,
      query: { watch: true, resourceVersion, allowWatchBookmarks: true, timeoutSeconds, labelSelector },
      accept: metadataOnly ? METADATA_ACCEPT : undefined,
      signal,
    });
    // A connection that died without a FIN would hang for ever: end it after the server's own timeout.
    const guard = setTimeout(() => stream.destroy(new Error(`watch of ${this.name} outlived its timeout`)), (timeoutSeconds + 30) * 1000);
    let version = resourceVersion;
    let received = 0;
    try {
      const splitter = new LineSplitter();
      const handle = (line: string) => {
        const event = parseWatchEvent(line);
        received++;
        if (event.type === 'ERROR') {
          const code = event.object.code ?? 0;
          if (code === 410) throw new Gone(event.object.message ?? 'resource version too old');
          throw new ApiError(`watch ${this.name}`, code, event.object);
        }
        const rv = event.object.metadata?.resourceVersion;
        if (event.type === 'BOOKMARK') {
          if (rv) version = rv;
          return;
        }
        if (event.type === 'DELETED') {
          const name = event.object.metadata?.name;
          if (name) this.#delete(objectKey(event.object.metadata?.namespace, name));
        } else {
          this.#set(event.object);
        }
        if (rv) version = rv;
      };
      for await (const chunk of stream) for (const line of splitter.push(chunk as Buffer)) handle(line);
      for (const line of splitter.end()) handle(line);
    } finally {
      clearTimeout(guard);
      stream.destroy();
    }
    if (received > 0) this.#backoff.reset();
    return version;
  }

  async #run(): Promise<void> {
    const { logger, optional, absentRetryMs = 10_000 } = this.#options;
    const signal = this.#stop.signal;
    let resourceVersion: string | undefined;
    let failedWatches = 0;
    while (!signal.aborted) {
      if (resourceVersion === undefined) {
        try {
          resourceVersion = await this.#list(signal);
          failedWatches = 0;
          this.#backoff.reset();
          if (optional) this.#setServed(true);
          if (!this.#synced) logger.debug({ informer: this.name, objects: this.#store.size }, 'cache synced');
          this.#markSynced();
        } catch (error) {
          if (signal.aborted) break;
          if (optional && error instanceof ApiError && error.status === 404) {
            // Not installed: forget what was cached, say so, and look again now and then.
            for (const key of [...this.#store.keys()]) this.#delete(key);
            if (this.#served !== false) logger.info({ informer: this.name }, `the API server does not serve ${this.name}; looking again every ${absentRetryMs / 1000} s`);
            this.#setServed(false);
            this.#markSynced();
            await sleep(absentRetryMs, signal);
            continue;
          }
          const delay = this.#backoff.next();
          logger.warn({ informer: this.name, err: describe(error), retryInMs: delay }, 'list failed');
          this.#options.onRestart?.('error');
          await sleep(delay, signal);
          continue;
        }
      }
      try {
        resourceVersion = await this.#watch(resourceVersion, signal);
        failedWatches = 0;
        this.#options.onRestart?.('closed');
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof Gone || (error instanceof ApiError && (error.status === 410 || error.status === 404))) {
          logger.debug({ informer: this.name, err: describe(error) }, 'watch expired: relisting');
          this.#options.onRestart?.('expired');
          resourceVersion = undefined;
          continue;
        }
        failedWatches++;
        const delay = this.#backoff.next();
        logger.warn({ informer: this.name, err: describe(error), retryInMs: delay }, 'watch failed');
        this.#options.onRestart?.('error');
        if (failedWatches >= RELIST_AFTER_FAILURES) resourceVersion = undefined;
        await sleep(delay, signal);
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
