// Counts of associations being relayed, total and per peer, for limits.maxAssociations
// and limits.maxAssociationsPerPeer. Shared by every config generation: a reload does
// not reset what is open.
export class ActiveAssociations {
  private readonly perPeer = new Map<string, number>();
  private count = 0;

  get total(): number {
    return this.count;
  }

  of(peer: string): number {
    return this.perPeer.get(peer) ?? 0;
  }

  /** Take a slot; the returned function gives it back (once). */
  reserve(peer: string): () => void {
    this.count++;
    this.perPeer.set(peer, this.of(peer) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      const left = this.of(peer) - 1;
      if (left > 0) this.perPeer.set(peer, left);
      else this.perPeer.delete(peer);
    };
  }
}
