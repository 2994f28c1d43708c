// bcrypt and argon2id cost tens to hundreds of milliseconds of CPU each, on purpose. On
// the main thread that would stall every association the proxy relays while one caller
// logs in (and a burst of logins would stall it for seconds), so verification runs on a
// small pool of worker threads. The queue is bounded: past it, a verification fails at
// once rather than piling up memory and latency.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export type HashScheme = 'bcrypt' | 'argon2id';

/** A message to a pool thread. */
export interface PasscodeCheck {
  id: number;
  scheme: HashScheme;
  hash: string;
  passcode: Uint8Array;
}

/** A pool thread's answer; `failure` when the hash could not be checked at all. */
export interface PasscodeCheckResult {
  id: number;
  ok: boolean;
  failure?: string;
}

export class PasscodePoolError extends Error {
  /** The pool was busy, closed or lost a thread: the same check may pass later. */
  readonly transient: boolean;

  constructor(message: string, transient = true) {
    super(message);
    this.name = 'PasscodePoolError';
    this.transient = transient;
  }
}

interface Job {
  check: PasscodeCheck;
  resolve: (ok: boolean) => void;
  reject: (error: Error) => void;
  settled: boolean;
}

interface PoolThread {
  worker: Worker;
  job?: Job;
}

export interface PasscodePoolOptions {
  /** Threads at most (default: the cores less one, 1 to 4). */
  size?: number;
  /** Verifications waiting for a thread at most (default 256). */
  maxQueued?: number;
}

// Built to .js next to this file; under Node's type stripping it is the .ts itself.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './passcode-worker.ts' : './passcode-worker.js', import.meta.url);

export class PasscodePool {
  private readonly size: number;
  private readonly maxQueued: number;
  private readonly threads: PoolThread[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: PasscodePoolOptions = {}) {
    this.size = options.size ?? Math.min(4, Math.max(1, availableParallelism() - 1));
    this.maxQueued = options.maxQueued ?? 256;
  }

  /** Whether `passcode` matches `hash`. Rejects (never resolves true) when it cannot tell. */
  verify(scheme: HashScheme, hash: string, passcode: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    if (this.closed) return Promise.reject(new PasscodePoolError('the passcode pool is closed'));
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(new PasscodePoolError(`${this.queue.length} passcode verifications are already waiting; refusing more until they finish`));
    }
    if (signal?.aborted) return Promise.reject(new PasscodePoolError('verification abandoned: the connection went away'));
    return new Promise<boolean>((resolve, reject) => {
      const job: Job = { check: { id: this.nextId++, scheme, hash, passcode }, resolve, reject, settled: false };
      signal?.addEventListener(
        'abort',
        () => {
          const queued = this.queue.indexOf(job);
          if (queued >= 0) this.queue.splice(queued, 1);
          // A running check cannot be interrupted; its answer is dropped.
          this.settle(job, new PasscodePoolError('verification abandoned: the connection went away'));
        },
        { once: true },
      );
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Stops the threads; verifications in progress fail. */
  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, new PasscodePoolError('the passcode pool was closed'));
    for (const thread of this.threads.splice(0)) {
      if (thread.job) this.settle(thread.job, new PasscodePoolError('the passcode pool was closed'));
      void thread.worker.terminate();
    }
  }

  private settle(job: Job, outcome: boolean | Error): void {
    if (job.settled) return;
    job.settled = true;
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome);
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.find((t) => !t.job);
      if (!thread) {
        if (this.threads.length >= this.size) return;
        thread = this.spawn();
      }
      const job = this.queue.shift()!;
      thread.job = job;
      // Referenced only while busy: an idle pool must not keep the process alive.
      thread.worker.ref();
      thread.worker.postMessage(job.check);
    }
  }

  private spawn(): PoolThread {
    const thread: PoolThread = { worker: new Worker(WORKER_URL) };
    thread.worker.unref();
    thread.worker.on('message', (result: PasscodeCheckResult) => {
      const job = thread.job;
      if (!job || job.check.id !== result.id) return;
      thread.job = undefined;
      thread.worker.unref();
      this.settle(job, result.failure ? new PasscodePoolError(`the stored hash could not be checked (${result.failure})`, false) : result.ok === true);
      this.dispatch();
    });
    const lost = (why: string) => {
      const index = this.threads.indexOf(thread);
      if (index >= 0) this.threads.splice(index, 1);
      if (thread.job) this.settle(thread.job, new PasscodePoolError(`a passcode verification thread ${why}`));
      thread.job = undefined;
      if (!this.closed) this.dispatch();
    };
    thread.worker.on('error', (error) => lost(`failed: ${error.name}`));
    thread.worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.threads.push(thread);
    return thread;
  }
}
