// limits.failedAttempts: every refused association counts against its source address
// (AE title guessing is how exposed PACS are found, advisory "Source IP address
// whitelisting"); past `max` refusals within `windowSeconds` the address is answered
// with A-ASSOCIATE-RJ (2,3,1) for `blockSeconds`. In memory, bounded, clock injected.

export interface FailedAttemptsLimits {
  max: number;
  windowSeconds: number;
  blockSeconds: number;
}

interface Entry {
  /** Times (ms) of recent refusals, oldest first, never more than `max`. */
  refusals: number[];
  blockedUntil: number;
}

/** Bounds memory when many addresses probe at once: the oldest entries go first. */
const MAX_TRACKED_ADDRESSES = 100_000;

export class FailedAttempts {
  private readonly entries = new Map<string, Entry>();
  private limits: FailedAttemptsLimits;
  private readonly now: () => number;

  constructor(limits: FailedAttemptsLimits, now: () => number = Date.now) {
    this.limits = limits;
    this.now = now;
  }

  /** A reload changes the limits for what comes next; counts so far are kept. */
  setLimits(limits: FailedAttemptsLimits): void {
    this.limits = limits;
  }

  isBlocked(address: string): boolean {
    const entry = this.entries.get(address);
    return entry !== undefined && entry.blockedUntil > this.now();
  }

  /** Count a refusal. Returns true when this refusal starts a block. */
  recordRefusal(address: string): boolean {
    const now = this.now();
    const windowStart = now - this.limits.windowSeconds * 1000;
    let entry = this.entries.get(address);
    if (entry) {
      this.entries.delete(address); // re-inserted below: Map order is least recently refused first
    } else {
      entry = { refusals: [], blockedUntil: 0 };
    }
    entry.refusals = entry.refusals.filter((t) => t > windowStart);
    entry.refusals.push(now);
    if (entry.refusals.length > this.limits.max) entry.refusals.shift();
    this.entries.set(address, entry);
    this.evict(now);
    if (entry.blockedUntil <= now && entry.refusals.length >= this.limits.max) {
      entry.blockedUntil = now + this.limits.blockSeconds * 1000;
      entry.refusals = [];
      return true;
    }
    return false;
  }

  /** Addresses currently blocked (for logs and tests). */
  get blockedCount(): number {
    const now = this.now();
    let count = 0;
    for (const entry of this.entries.values()) if (entry.blockedUntil > now) count++;
    return count;
  }

  private evict(now: number): void {
    if (this.entries.size <= MAX_TRACKED_ADDRESSES) return;
    const target = MAX_TRACKED_ADDRESSES * 0.9;
    const windowStart = now - this.limits.windowSeconds * 1000;
    // First what no longer matters, then the least recently refused (Map order).
    for (const [address, entry] of this.entries) {
      if (entry.blockedUntil <= now && (entry.refusals.at(-1) ?? 0) <= windowStart) this.entries.delete(address);
    }
    for (const address of this.entries.keys()) {
      if (this.entries.size <= target) break;
      this.entries.delete(address);
    }
  }
}
