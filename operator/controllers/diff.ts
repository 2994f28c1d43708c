// "Does this apply change anything?" Server-side apply with the same content is a no-op
// for the object, but it is still a request: at resync, with hundreds of policies, the
// operator would write for nothing. So the controller applies only when
//   - the object is missing;
//   - what we want changed: every applied object carries the sha256 of what was applied
//     (APPLIED_HASH_ANNOTATION), which catches fields we stopped setting, too (a removed
//     `except`, a Secret key no longer referenced) that a field-by-field look would miss;
//   - someone changed a field we set (drift): everything we set must be in the live
//     object with the same value. Fields others added (defaults, other managers' labels)
//     are theirs and do not count, because our apply would leave them alone anyway.
// Lists compare whole, as the API server's atomic lists do, except ownerReferences
// (a map keyed by uid: others may own the object too).
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../kube/client.ts';
import { ownedFromObject, sha256, type OwnedObject } from './cached.ts';

export const APPLIED_HASH_ANNOTATION = 'dicomguard.io/applied-sha256';

/** JSON with object keys sorted: the same value, the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The desired object with APPLIED_HASH_ANNOTATION: the digest of everything else in it. */
export function stamp<T extends KubeObject>(desired: T): T {
  const metadata = desired.metadata ?? {};
  const { [APPLIED_HASH_ANNOTATION]: _old, ...annotations } = metadata.annotations ?? {};
  const unstamped = { ...desired, metadata: { ...metadata, annotations } };
  const hash = sha256(canonicalJson(unstamped));
  return { ...desired, metadata: { ...metadata, annotations: { ...annotations, [APPLIED_HASH_ANNOTATION]: hash } } };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Values the API server does not store for built-in kinds: Go's `omitempty` drops empty
 * lists and maps and false (a NetworkPolicy without peers has `ingress: []`, read back
 * without `ingress`). Wanting one of these is satisfied by its absence.
 */
const omittedWhenEmpty = (value: unknown): boolean => value === false || (Array.isArray(value) && value.length === 0) || (isRecord(value) && Object.keys(value).length === 0);

/** Whether every field set in `want` has the same value in `have` (see the header for lists). */
export function contains(want: unknown, have: unknown, path = ''): boolean {
  if (have === undefined && omittedWhenEmpty(want)) return true;
  if (isRecord(want)) {
    if (!isRecord(have)) return false;
    return Object.entries(want).every(([key, value]) => value === undefined || contains(value, have[key], `${path}.${key}`));
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) return false;
    if (path === '.metadata.ownerReferences') {
      return want.every((ref) => isRecord(ref) && have.some((other) => isRecord(other) && other.uid === ref.uid && contains(ref, other)));
    }
    return want.length === have.length && want.every((item, i) => contains(item, have[i], `${path}[]`));
  }
  return isDeepStrictEqual(want, have);
}

export type ApplyVerdict = 'missing' | 'changed' | 'drifted' | 'unchanged';

/** What to do about a stamped desired object, given the cached projection of the live one. */
export function applyVerdict(stamped: KubeObject, live: OwnedObject | undefined): ApplyVerdict {
  if (!live) return 'missing';
  const want = ownedFromObject(stamped, live.kind);
  if (live.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !== want.metadata.annotations?.[APPLIED_HASH_ANNOTATION]) return 'changed';
  const { kind: _kind, ...fields } = want;
  return contains(fields, live) ? 'unchanged' : 'drifted';
}

/** Whether `live` is the object `owner` controls (its controller owner reference), not a stranger's of the same name. */
export function controlledBy(live: Pick<OwnedObject, 'metadata'>, ownerUid: string): boolean {
  return live.metadata.ownerReferences?.some((ref) => ref.controller === true && ref.uid === ownerUid) ?? false;
}

/**
 * Writes the caches have not caught up with. After an apply, the watch delivers the new
 * object a moment later; a reconcile in between (our own status write requeues the
 * policy) would see the old object and write again. A write is remembered with the
 * resourceVersion the cache had when it was made: while the cache still shows that
 * version, the write stands for what is there.
 */
export class PendingWrites<T = string> {
  readonly #writes = new Map<string, { value: T; cachedVersion: string }>();

  remember(key: string, value: T, cachedVersion: string | undefined): void {
    this.#writes.set(key, { value, cachedVersion: cachedVersion ?? '' });
  }

  /** The value written, while the cache still shows the version it had before the write. */
  get(key: string, cachedVersion: string | undefined): T | undefined {
    const write = this.#writes.get(key);
    if (!write) return undefined;
    if (write.cachedVersion !== (cachedVersion ?? '')) {
      this.#writes.delete(key);
      return undefined;
    }
    return write.value;
  }

  forgetPrefix(prefix: string): void {
    for (const key of [...this.#writes.keys()]) if (key.startsWith(prefix)) this.#writes.delete(key);
  }

  get size(): number {
    return this.#writes.size;
  }
}
