// The watch stream's framing: one JSON event per line ({"type":..., "object":...}), lines
// split anywhere across chunks. Pure, so the framing is tested without an API server.
import type { KubeObject, Status } from './client.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  /** For ERROR: a metav1.Status. */
  object: KubeObject & Status;
}

/** Feed chunks, get complete lines; a partial line waits for the next chunk. */
export class LineSplitter {
  #pending = '';
  readonly #decoder = new TextDecoder('utf-8');

  push(chunk: Uint8Array | string): string[] {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const lines = this.#pending.split('\n');
    this.#pending = lines.pop() ?? '';
    return lines.filter((line) => line.trim().length > 0);
  }

  /** What is left when the stream ended (a last line without a newline). */
  end(): string[] {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = '';
    return rest.trim() ? [rest] : [];
  }
}

const TYPES: ReadonlySet<string> = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

export function parseWatchEvent(line: string): WatchEvent {
  const event = JSON.parse(line) as Partial<WatchEvent>;
  if (!event || typeof event.type !== 'string' || !TYPES.has(event.type) || typeof event.object !== 'object' || event.object === null) {
    throw new Error(`not a watch event: ${line.slice(0, 200)}`);
  }
  return event as WatchEvent;
}
