// One direction of an established association: bytes from one socket to the other,
// unchanged and with backpressure, while a PduFramer watches the PDU boundaries go by
// (no copies). Written with 'data'/'drain' rather than stream.pipeline because the
// association must be able to stop a direction between two chunks and then splice an
// A-ABORT in at a PDU boundary, which a pipeline cannot do.
import type { Socket } from 'node:net';
import { PduError } from '../wire/errors.ts';
import { PduFramer } from '../wire/framer.ts';
import { AbortReason, type PduTypeCode } from '../wire/pdu.ts';

export interface RelayHandlers {
  /** Each PDU header seen; return a problem to refuse the PDU (the association is then aborted). */
  onPdu(type: PduTypeCode, length: number): string | undefined;
  onBytes(count: number): void;
  onInvalid(error: PduError): void;
  /** The source half-closed (its FIN was passed on) or closed. */
  onEnd(): void;
}

export class Relay {
  private readonly from: Socket;
  private readonly to: Socket;
  private readonly framer: PduFramer;
  private readonly handlers: RelayHandlers;
  private stopped = false;
  private boundary = true;
  private readonly onData = (chunk: Buffer) => this.forward(chunk);
  private readonly onDrain = () => {
    if (!this.stopped) this.from.resume();
  };
  private readonly onEnd = () => {
    if (this.stopped) return;
    this.to.end();
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
    return this.boundary;
  }

  /** Begin with bytes already read past the previous PDU, then follow the socket. */
  start(pending: Buffer): void {
    if (pending.length > 0) this.forward(pending);
    if (this.stopped) return;
    this.from.on('data', this.onData);
    this.from.once('end', this.onEnd);
    this.to.on('drain', this.onDrain);
    this.from.resume();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.from.off('data', this.onData);
    this.from.off('end', this.onEnd);
    this.to.off('drain', this.onDrain);
    this.from.pause();
  }

  private forward(chunk: Buffer): void {
    if (this.stopped) return;
    let problem: PduError | undefined;
    try {
      for (const header of this.framer.push(chunk)) {
        const refused = this.handlers.onPdu(header.type, header.length);
        if (refused) {
          problem = new PduError(`${refused} (stream offset ${header.offsetInStream})`, header.offsetInStream, AbortReason.UnexpectedPdu);
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      problem = error;
    }
    if (problem) {
      // Nothing of a chunk that carries a bad PDU is passed on.
      this.stop();
      this.handlers.onInvalid(problem);
      return;
    }
    this.boundary = this.framer.atPduBoundary;
    this.handlers.onBytes(chunk.length);
    if (!this.to.write(chunk)) this.from.pause();
  }
}
