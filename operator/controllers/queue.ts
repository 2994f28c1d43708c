// A rate-limited work queue of keys ("namespace/name"), with client-go's workqueue
// semantics:
//   - a key is in the queue at most once (dedupe), however often it is added;
//   - a key is never handed to two workers at once: added while being processed, it is
//     queued again when the worker calls done();
//   - addAfter delays a key (the earliest of several delays wins);
//   - addRateLimited delays it by the rate limiter: per key exponential backoff (failures
//     in a row), and an overall token bucket so that a storm of failures cannot turn
//     into a storm of API requests; forget() resets the key's backoff after a success.
// Time is injected (Clock), so the unit tests run without waiting.

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RateLimiter<K> {
  /** How long to wait before handling `key` again (counts as one more failure). */
  when(key: K): number;
  forget(key: K): void;
  failures(key: K): number;
}

/** base * 2^failures, up to max (client-go's ItemExponentialFailureRateLimiter). */
export class ItemExponentialRateLimiter<K> implements RateLimiter<K> {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #failures = new Map<K, number>();

  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    return Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(failures, 62));
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }

  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }
}

/** A token bucket over all keys: `qps` refills, `burst` at most (client-go's BucketRateLimiter). */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(qps: number, burst: number, clock: Clock = systemClock) {
    this.#qps = qps;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#last = clock.now();
  }

  when(_key: K): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    // Reserve a token; a negative balance is the wait until it exists.
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#qps) * 1000);
  }

  forget(_key: K): void {}

  failures(_key: K): number {
    return 0;
  }
}

/** The longest wait any of the limiters asks for. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  readonly #limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters;
  }

  when(key: K): number {
    return Math.max(0, ...this.#limiters.map((l) => l.when(key)));
  }

  forget(key: K): void {
    for (const l of this.#limiters) l.forget(key);
  }

  failures(key: K): number {
    return Math.max(0, ...this.#limiters.map((l) => l.failures(key)));
  }
}

/** client-go's default controller limiter, with a gentler start: 0.5 s doubling to 5 min; 10 per second, bursts of 100. */
export function defaultRateLimiter<K>(clock: Clock = systemClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ItemExponentialRateLimiter<K>(500, 5 * 60_000), new BucketRateLimiter<K>(10, 100, clock));
}

export class WorkQueue<K = string> {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter<K>;
  readonly #onDepth: (depth: number) => void;
  readonly #queue: K[] = [];
  /** Keys waiting to be processed (queued, or to be queued again when done). */
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  /** Delayed keys: when they are due and the timer that adds them. */
  readonly #waiting = new Map<K, { at: number; timer: unknown }>();
  readonly #getters: ((key: K | undefined) => void)[] = [];
  #idle: (() => void)[] = [];
  #shuttingDown = false;

  constructor(options: { clock?: Clock; rateLimiter?: RateLimiter<K>; onDepth?: (depth: number) => void } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#limiter = options.rateLimiter ?? defaultRateLimiter<K>(this.#clock);
    this.#onDepth = options.onDepth ?? (() => {});
  }

  /** Keys queued and not yet handed out. */
  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
    this.#onDepth(this.#queue.length);
  }

  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#clock.now() + ms;
    const waiting = this.#waiting.get(key);
    if (waiting && waiting.at <= at) return;
    if (waiting) this.#clock.clearTimeout(waiting.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { at, timer });
  }

  /** Again later, after the rate limiter's delay for this key (a failure). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.#limiter.when(key));
  }

  /** The key succeeded: its backoff starts over. */
  forget(key: K): void {
    this.#limiter.forget(key);
  }

  failures(key: K): number {
    return this.#limiter.failures(key);
  }

  /** The next key, once there is one; undefined when the queue shuts down. */
  get(): Promise<K | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#onDepth(this.#queue.length);
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** The worker finished with `key`; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
    if (this.#processing.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /**
   * Stops the queue: no more keys are taken, queued and delayed keys are dropped, and
   * waiting workers get undefined. Resolves when the keys being processed are done.
   */
  shutDown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    this.#onDepth(0);
    for (const getter of this.#getters.splice(0)) getter(undefined);
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
