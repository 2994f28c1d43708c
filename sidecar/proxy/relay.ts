// One direction of an established association: bytes from one socket to the other,
// unchanged and with backpressure, while a PduFramer reports the PDUs, PDVs and command
// sets going by. Written with 'data'/'drain' rather than stream.pipeline because the
// association must be able to stop a direction between two chunks and then splice an
// A-ABORT in at a PDU boundary, which a pipeline cannot do.
//
// A command set is checked before any of it is passed on: while one is incomplete (split
// across PDVs, PDUs or reads), the bytes from the start of the P-DATA-TF carrying its first
// fragment are held back, and go out once it is whole and allowed. So whatever is passed
// on ends on a PDU boundary, and a refused message is never seen, in part or whole, by the
// other side. In the usual case a command set arrives whole in one read and nothing is
// held. The framer bounds what can be held (DEFAULT_MAX_COMMAND_SPAN).
import type { Socket } from 'node:net';
import { PduError } from '../wire/errors.ts';
import { PduFramer, type FrameEvent } from '../wire/framer.ts';

export interface RelayHandlers {
  /**
   * Each PDU header, PDV header and complete command set seen, in stream order; return a
   * PduError to refuse it: nothing of the chunk that carries it (nor anything held) is
   * passed on, and the association is then aborted.
   */
  onFrame(event: FrameEvent): PduError | undefined;
  /** Bytes passed on to the other side. */
  onBytes(count: number): void;
  onInvalid(error: PduError): void;
  /** The source half-closed or closed; nothing is passed on for it (the handler decides). */
  onEnd(): void;
}

export class Relay {
  private readonly from: Socket;
  private readonly to: Socket;
  private readonly framer: PduFramer;
  private readonly handlers: RelayHandlers;
  private stopped = false;
  /** Stream offset up to which bytes were passed on. */
  private passed = 0;
  /** Bytes read but not passed on yet, from offset `passed` (only while a command set is incomplete). */
  private held: Buffer[] = [];
  /** Whether the bytes passed on so far end on a PDU boundary. */
  private passedToBoundary = true;
  private readonly onData = (chunk: Buffer) => this.forward(chunk);
  private readonly onDrain = () => {
    if (!this.stopped) this.from.resume();
  };
  private readonly onSourceEnd = () => {
    if (this.stopped) return;
    this.handlers.onEnd();
  };

  constructor(from: Socket, to: Socket, maxPduLength: number, handlers: RelayHandlers) {
    this.from = from;
    this.to = to;
    this.framer = new PduFramer(maxPduLength);
    this.handlers = handlers;
  }

  /** Whether everything passed on so far ends on a PDU boundary (safe to splice an A-ABORT after it). */
  get atPduBoundary(): boolean {
    return this.passedToBoundary;
  }

  /** Begin with bytes already read past the previous PDU, then follow the socket. */
  start(pending: Buffer): void {
    if (pending.length > 0) this.forward(pending);
    if (this.stopped) return;
    this.from.on('data', this.onData);
    this.from.once('end', this.onSourceEnd);
    this.to.on('drain', this.onDrain);
    this.from.resume();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.held = [];
    this.from.off('data', this.onData);
    this.from.off('end', this.onSourceEnd);
    this.to.off('drain', this.onDrain);
    this.from.pause();
  }

  private forward(chunk: Buffer): void {
    if (this.stopped) return;
    let problem: PduError | undefined;
    try {
      for (const event of this.framer.push(chunk)) {
        problem = this.handlers.onFrame(event);
        if (problem) break;
      }
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      problem = error;
    }
    if (problem) {
      this.stop();
      this.handlers.onInvalid(problem);
      return;
    }
    const holdFrom = this.framer.incompleteCommandFrom;
    if (holdFrom === undefined && this.held.length === 0) {
      // The usual case: nothing held, nothing to hold.
      this.passed = this.framer.position;
      this.passedToBoundary = this.framer.atPduBoundary;
      this.pass(chunk);
      return;
    }
    this.held.push(chunk);
    this.passHeldUpTo(holdFrom ?? this.framer.position);
    // Held bytes begin where a P-DATA-TF begins.
    this.passedToBoundary = holdFrom !== undefined || this.framer.atPduBoundary;
  }

  /** Passes on held bytes up to stream offset `end`, keeping the rest. */
  private passHeldUpTo(end: number): void {
    while (this.passed < end) {
      const first = this.held[0]!;
      const take = Math.min(first.length, end - this.passed);
      if (take === first.length) this.held.shift();
      else this.held[0] = first.subarray(take);
      this.passed += take;
      this.pass(take === first.length ? first : first.subarray(0, take));
    }
  }

  private pass(bytes: Buffer): void {
    this.handlers.onBytes(bytes.length);
    if (!this.to.write(bytes)) this.from.pause();
  }
}
