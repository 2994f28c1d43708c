// Events (events.k8s.io/v1) on the objects the operator acts for, so that
// `kubectl describe dicomaccesspolicy` and `kubectl events` say what went wrong. The same
// event (object, reason, note) is sent once per window, not at every retry: a policy
// whose Secret is missing is retried with backoff and must not flood the namespace.
import type { Logger } from '../../sidecar/log.ts';
import type { KubeClient, KubeObject } from './client.ts';
import { RESOURCES } from './resources.ts';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  /** Optional only for `related`, whose uid the reporter may not know. */
  uid?: string;
  resourceVersion?: string;
}

export interface EventInput {
  regarding: ObjectReference;
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, like a condition reason. */
  reason: string;
  /** What the operator did, like "Reconcile" or "Apply". */
  action: string;
  note: string;
  /** A second object the event concerns (a sidecar's event on its pod names the policy). */
  related?: ObjectReference;
}

export interface Reporter {
  /** reportingController, e.g. "dicomguard.io/operator". */
  controller: string;
  /** reportingInstance: this process's identity. */
  instance: string;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

// events.k8s.io/v1 validation: note at most 1 kB, reportingInstance at most 128 characters.
const MAX_NOTE = 1024;
const MAX_INSTANCE = 128;

/** The Event object for an input (pure; `unique` makes the name unique, as client-go's %x of UnixNano does). */
export function eventObject(input: EventInput, reporter: Reporter, now: Date, unique: string): KubeObject {
  const note = input.note.length > MAX_NOTE ? `${input.note.slice(0, MAX_NOTE - 3)}...` : input.note;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: `${input.regarding.name}.${unique}`, namespace: input.regarding.namespace },
    eventTime: microTime(now),
    reportingController: reporter.controller,
    reportingInstance: reporter.instance.slice(0, MAX_INSTANCE),
    action: input.action,
    reason: input.reason,
    regarding: input.regarding,
    ...(input.related ? { related: input.related } : {}),
    note,
    type: input.type,
  };
}

/** Remembers which events were sent when, to send each at most once per window. */
export class EventDeduplicator {
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #sent = new Map<string, number>();

  constructor(windowMs: number, maxEntries = 4096) {
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
  }

  static key(input: EventInput): string {
    return JSON.stringify([input.regarding.uid, input.type, input.reason, input.note]);
  }

  /** Whether to send now; if so, it counts as sent. */
  admit(input: EventInput, now: number): boolean {
    const key = EventDeduplicator.key(input);
    const last = this.#sent.get(key);
    if (last !== undefined && now - last < this.#windowMs) return false;
    this.#sent.delete(key);
    this.#sent.set(key, now);
    // Oldest first (insertion order): drop those past the window, then any over the bound.
    for (const [k, at] of this.#sent) {
      if (this.#sent.size <= this.#maxEntries && now - at < this.#windowMs) break;
      this.#sent.delete(k);
    }
    return true;
  }
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #reporter: Reporter;
  readonly #logger: Logger;
  readonly #dedupe: EventDeduplicator;
  #counter = 0;

  constructor(options: { client: KubeClient; reporter: Reporter; logger: Logger; windowMs?: number }) {
    this.#client = options.client;
    this.#reporter = options.reporter;
    this.#logger = options.logger;
    this.#dedupe = new EventDeduplicator(options.windowMs ?? 10 * 60_000);
  }

  /** Sends the event in the background; a failure to send is logged, never thrown. */
  record(input: EventInput, signal?: AbortSignal): void {
    const now = new Date();
    if (!this.#dedupe.admit(input, now.getTime())) return;
    const unique = (BigInt(now.getTime()) * 1_000_000n + BigInt(this.#counter++ % 1_000_000)).toString(16);
    const body = eventObject(input, this.#reporter, now, unique);
    this.#client.create(RESOURCES.events, input.regarding.namespace, body, signal).catch((error: unknown) => {
      this.#logger.warn({ err: error instanceof Error ? error.message : String(error), reason: input.reason }, 'could not record an event');
    });
  }
}
