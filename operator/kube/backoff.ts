// Exponential backoff with jitter, for watches that broke and API calls that failed:
// initial, initial*factor, ... up to max, each stretched by up to `jitter` of itself so
// that many clients restarting together (after an API server restart) spread out.

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor?: number;
  /** 0.2: each delay is up to 20 % longer. */
  readonly jitter?: number;
}

/** The delay before attempt `attempt` (0 = the first retry), with `random` in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: number = Math.random()): number {
  const { initialMs, maxMs, factor = 2, jitter = 0.2 } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  return Math.min(maxMs, Math.round(base * (1 + jitter * random)));
}

export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** The next delay; each call waits longer, up to maxMs. */
  next(): number {
    return backoffDelay(this.#attempt++, this.#options, this.#random());
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}

/** Resolves after ms, or at once (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
