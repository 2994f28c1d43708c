// PDU boundaries and DIMSE messages in a relayed byte stream. Once an association is
// accepted the proxy forwards chunks unchanged (P-DATA-TF can be 64 MiB of pixel data);
// it needs to know where each PDU starts and what type it is (to see a release or abort
// go by, to refuse a second A-ASSOCIATE-RQ mid-association, to hold peers to a maximum
// PDU length), and inside each P-DATA-TF which presentation context every presentation
// data value (PDV) travels on and what each command set says, so that a peer can be held
// to what its contexts were negotiated for.
//
// The framer reads the 6 header bytes of each PDU (PS3.8 9.3.1: type, reserved, 4-byte
// big-endian length) and of each PDV item inside a P-DATA-TF (PS3.8 9.3.5.1: 4-byte
// length, context ID, message control header), copies the bytes of command fragments
// (small: a command set is a few hundred bytes), and skips data set fragments by
// counting: no data set byte is copied, looked at or buffered.
//
// It does not judge the order of fragments (that is the message guard's, which sees every
// PDV event); it only assembles: command fragments on one context are joined until the
// one marked last (PS3.8 Annex E.2).

import { Buffer } from 'node:buffer';
import { PduError } from './errors.ts';
import { AbortReason, PDU_HEADER_LENGTH, PduType } from './pdu.ts';
import type { PduTypeCode } from './pdu.ts';
import { checkPduLength, checkPduType } from './reader.ts';

export interface PduHeaderEvent {
  kind: 'pdu';
  type: PduTypeCode;
  /** Body length from the header: the PDU occupies `PDU_HEADER_LENGTH + length` bytes. */
  length: number;
  /** Offset of the PDU's first byte from the start of everything pushed. */
  offsetInStream: number;
}

/** A presentation data value item's header (PS3.8 9.3.5.1 and Annex E.2). */
export interface PresentationDataValueEvent {
  kind: 'pdv';
  presentationContextId: number;
  /** Message control header bit 0: a command fragment, else a data set fragment. */
  isCommand: boolean;
  /** Message control header bit 1: the last fragment of its command set or data set. */
  isLast: boolean;
  /** Fragment bytes after the 2-byte context ID and control header. */
  length: number;
  offsetInStream: number;
}

/** A command set whose last fragment is in (PS3.7 6.3.1; decode with readCommandSet). */
export interface CommandSetEvent {
  kind: 'command';
  presentationContextId: number;
  /** The joined fragments. Valid until the next push: copy what must outlive it. */
  bytes: Uint8Array;
  /** Offset of the first byte of the P-DATA-TF that carried its first fragment. */
  offsetInStream: number;
}

export type FrameEvent = PduHeaderEvent | PresentationDataValueEvent | CommandSetEvent;

export interface FramerLimits {
  /** Caps the PDU length field of every PDU (not counting the 6-byte header). */
  maxPduLength: number;
  /** Caps a command set (all its fragments); PS3.7 command sets are a few hundred bytes. */
  maxCommandSetLength?: number;
  /**
   * Caps the bytes from the start of the P-DATA-TF carrying a command's first fragment to
   * the end of its last: what a relay that holds a command until it is whole may hold.
   */
  maxCommandSpan?: number;
}

export const DEFAULT_MAX_COMMAND_SET_LENGTH = 64 * 1024;
export const DEFAULT_MAX_COMMAND_SPAN = 1024 * 1024;

const NO_EVENTS: readonly FrameEvent[] = Object.freeze([]);

/** PDV item header: item length (4), presentation context ID (1), message control header (1). */
const PDV_HEADER_LENGTH = 6;

// Where the next byte belongs.
const AT_PDU_HEADER = 0;
const IN_PDU_BODY = 1; // a PDU other than P-DATA-TF: skipped by count
const AT_PDV_HEADER = 2;
const IN_PDV_VALUE = 3;
type Step = typeof AT_PDU_HEADER | typeof IN_PDU_BODY | typeof AT_PDV_HEADER | typeof IN_PDV_VALUE;

export class PduFramer {
  readonly #maxPduLength: number;
  readonly #maxCommandSetLength: number;
  readonly #maxCommandSpan: number;
  /** Stream offset of the first byte of the next chunk. */
  #position = 0;
  #step: Step = AT_PDU_HEADER;
  /** Bytes of the current PDU's body not yet seen (for a P-DATA-TF: after the current PDV header). */
  #pduRemaining = 0;
  #pduStart = 0;
  /** A PDU or PDV header split across chunks, collected here (both are 6 bytes). */
  readonly #header = new Uint8Array(PDU_HEADER_LENGTH);
  #headerSeen = 0;
  #headerStart = 0;
  /** The current PDV's value bytes not yet seen. */
  #pdvRemaining = 0;
  #pdvIsCommand = false;
  #pdvIsLast = false;
  #pdvContext = 0;
  /** The command being assembled: its context, the P-DATA-TF it began in, its fragments so far. */
  #commandContext: number | undefined;
  #commandPduStart = 0;
  #commandParts: Uint8Array[] = [];
  #commandLength = 0;
  #failure: PduError | undefined;

  constructor(limits: FramerLimits | number) {
    const { maxPduLength, maxCommandSetLength = DEFAULT_MAX_COMMAND_SET_LENGTH, maxCommandSpan = DEFAULT_MAX_COMMAND_SPAN } = typeof limits === 'number' ? { maxPduLength: limits } : limits;
    this.#maxPduLength = maxPduLength;
    this.#maxCommandSetLength = maxCommandSetLength;
    this.#maxCommandSpan = maxCommandSpan;
  }

  /** Total bytes pushed so far. */
  get position(): number {
    return this.#position;
  }

  /**
   * True between PDUs: a close here is orderly, a close elsewhere cut a PDU in half
   * (dicom-wire.md class 12).
   */
  get atPduBoundary(): boolean {
    return this.#step === AT_PDU_HEADER && this.#headerSeen === 0;
  }

  /**
   * While a command set is incomplete: the stream offset of the P-DATA-TF that carries its
   * first fragment (a PDU boundary). A relay that must check the command before any of it
   * is forwarded holds everything from there.
   */
  get incompleteCommandFrom(): number | undefined {
    return this.#commandContext === undefined ? undefined : this.#commandPduStart;
  }

  /**
   * Accounts for the next chunk of the stream and returns, in stream order, the header of
   * every PDU and PDV whose 6 header bytes complete in it and every command set whose last
   * fragment completes in it (an empty, shared array when none). Throws `PduError`
   * (offset = stream offset of the bad PDU or PDV) for an unknown PDU type, a length over a
   * cap or one the standard fixes otherwise, or PDV items that do not fill their P-DATA-TF;
   * the stream cannot be resynchronised after that, so every later push throws the same.
   */
  push(chunk: Uint8Array): readonly FrameEvent[] {
    if (this.#failure !== undefined) throw this.#failure;
    let events: FrameEvent[] | undefined;
    const end = chunk.length;
    let at = 0;
    try {
      while (at < end) {
        switch (this.#step) {
          case IN_PDU_BODY: {
            const skip = Math.min(this.#pduRemaining, end - at);
            this.#pduRemaining -= skip;
            at += skip;
            if (this.#pduRemaining === 0) this.#step = AT_PDU_HEADER;
            break;
          }
          case IN_PDV_VALUE: {
            const take = Math.min(this.#pdvRemaining, end - at);
            if (this.#pdvIsCommand) this.#appendCommand(chunk.subarray(at, at + take), this.#position + at);
            this.#pdvRemaining -= take;
            at += take;
            if (this.#pdvRemaining === 0) (events ??= []).push(...this.#pdvValueComplete());
            break;
          }
          case AT_PDU_HEADER:
          case AT_PDV_HEADER: {
            let header: Uint8Array;
            let start: number;
            if (this.#headerSeen === 0 && end - at >= PDU_HEADER_LENGTH) {
              // The whole header is in this chunk: the common case.
              header = chunk.subarray(at, at + PDU_HEADER_LENGTH);
              start = this.#position + at;
              at += PDU_HEADER_LENGTH;
            } else {
              // Split across chunks (down to one byte a segment): collect it.
              if (this.#headerSeen === 0) {
                this.#headerStart = this.#position + at;
                // A bad PDU type is refused from its first byte, not five bytes later.
                if (this.#step === AT_PDU_HEADER) checkPduType(chunk[at] ?? 0, this.#headerStart);
              }
              const take = Math.min(PDU_HEADER_LENGTH - this.#headerSeen, end - at);
              this.#header.set(chunk.subarray(at, at + take), this.#headerSeen);
              this.#headerSeen += take;
              at += take;
              if (this.#headerSeen < PDU_HEADER_LENGTH) break;
              this.#headerSeen = 0;
              header = this.#header;
              start = this.#headerStart;
            }
            const event = this.#step === AT_PDU_HEADER ? this.#pduHeader(header, start) : this.#pdvHeader(header, start);
            (events ??= []).push(event);
            // A zero-length PDV value completes with its header.
            if (event.kind === 'pdv' && this.#pdvRemaining === 0) events.push(...this.#pdvValueComplete());
            break;
          }
        }
      }
      this.#position += end;
      if (this.#commandContext !== undefined) this.#keepIncompleteCommand(chunk);
    } catch (error) {
      if (error instanceof PduError) this.#failure = error;
      throw error;
    }
    return events ?? NO_EVENTS;
  }

  #pduHeader(header: Uint8Array, offsetInStream: number): PduHeaderEvent {
    const type = checkPduType(header[0] ?? 0, offsetInStream);
    // Byte 2 is reserved; multiplying, not shifting: the length is an unsigned 32-bit value.
    const length = (header[2] ?? 0) * 0x1000000 + (((header[3] ?? 0) << 16) | ((header[4] ?? 0) << 8) | (header[5] ?? 0));
    checkPduLength(type, length, this.#maxPduLength, offsetInStream);
    this.#pduStart = offsetInStream;
    this.#pduRemaining = length;
    if (type === PduType.DataTransfer) this.#nextPdvOrPdu();
    else if (length > 0) this.#step = IN_PDU_BODY;
    return { kind: 'pdu', type, length, offsetInStream };
  }

  #pdvHeader(header: Uint8Array, offsetInStream: number): PresentationDataValueEvent {
    const fail = (problem: string): never => {
      throw new PduError(`P-DATA-TF at offset ${this.#pduStart}: presentation data value item at offset ${offsetInStream} ${problem}`, offsetInStream, AbortReason.InvalidPduParameterValue);
    };
    const itemLength = (header[0] ?? 0) * 0x1000000 + (((header[1] ?? 0) << 16) | ((header[2] ?? 0) << 8) | (header[3] ?? 0));
    // The item length counts the context ID and the message control header (PS3.8 Table 9-23).
    if (itemLength < 2) fail(`has item length ${itemLength}; it counts the context ID and control header, so at least 2`);
    const valueLength = itemLength - 2;
    if (valueLength > this.#pduRemaining - PDV_HEADER_LENGTH) fail(`has item length ${itemLength}, past the end of its P-DATA-TF`);
    const presentationContextId = header[4] ?? 0;
    const control = header[5] ?? 0;
    this.#pduRemaining -= PDV_HEADER_LENGTH + valueLength;
    this.#pdvRemaining = valueLength;
    this.#pdvContext = presentationContextId;
    this.#pdvIsCommand = (control & 0x01) !== 0;
    this.#pdvIsLast = (control & 0x02) !== 0;
    if (this.#pdvIsCommand && this.#commandContext !== presentationContextId) {
      // A first fragment (or one on another context, which the guard refuses): start anew.
      this.#commandContext = presentationContextId;
      this.#commandPduStart = this.#pduStart;
      this.#commandParts = [];
      this.#commandLength = 0;
    } else if (!this.#pdvIsCommand) {
      this.#commandContext = undefined; // a data fragment ends any command in progress (the guard refuses that)
    }
    this.#step = IN_PDV_VALUE;
    return { kind: 'pdv', presentationContextId, isCommand: this.#pdvIsCommand, isLast: this.#pdvIsLast, length: valueLength, offsetInStream };
  }

  #appendCommand(bytes: Uint8Array, offsetInStream: number): void {
    this.#commandLength += bytes.length;
    if (this.#commandLength > this.#maxCommandSetLength) {
      throw new PduError(`command set at offset ${offsetInStream} is longer than ${this.#maxCommandSetLength} bytes`, offsetInStream, AbortReason.InvalidPduParameterValue);
    }
    this.#commandParts.push(bytes);
  }

  /**
   * At the end of a push, with a command still incomplete: its fragments seen in this chunk
   * become copies (the caller may reuse the chunk's memory), and the bytes a relay holds for
   * it stay bounded, even when the peer sends empty fragments.
   */
  #keepIncompleteCommand(chunk: Uint8Array): void {
    const span = this.#position - this.#commandPduStart;
    if (span > this.#maxCommandSpan) {
      throw new PduError(`command set begun in the P-DATA-TF at offset ${this.#commandPduStart} is still incomplete ${span} bytes later (limit ${this.#maxCommandSpan})`, this.#commandPduStart, AbortReason.InvalidPduParameterValue);
    }
    const parts = this.#commandParts;
    for (let index = parts.length - 1; index >= 0 && parts[index]!.buffer === chunk.buffer; index--) {
      parts[index] = Uint8Array.from(parts[index]!);
    }
  }

  /** The current PDV's value is all in: emit a completed command set; move on within the P-DATA-TF or to the next PDU. */
  #pdvValueComplete(): readonly FrameEvent[] {
    this.#nextPdvOrPdu();
    if (!this.#pdvIsCommand || !this.#pdvIsLast) return NO_EVENTS;
    const parts = this.#commandParts;
    // One fragment (the usual case) is passed as it lies in the chunk, without a copy.
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const event: CommandSetEvent = { kind: 'command', presentationContextId: this.#pdvContext, bytes, offsetInStream: this.#commandPduStart };
    this.#commandContext = undefined;
    this.#commandParts = [];
    this.#commandLength = 0;
    return [event];
  }

  /** After a P-DATA-TF's header or one of its PDVs: another PDV follows, or the next PDU. */
  #nextPdvOrPdu(): void {
    if (this.#pduRemaining === 0) {
      this.#step = AT_PDU_HEADER;
      return;
    }
    if (this.#pduRemaining < PDV_HEADER_LENGTH) {
      throw new PduError(
        `P-DATA-TF at offset ${this.#pduStart}: ${this.#pduRemaining} bytes are left after its last presentation data value item, too few for another (PS3.8 9.3.5)`,
        this.#pduStart,
        AbortReason.InvalidPduParameterValue,
      );
    }
    this.#step = AT_PDV_HEADER;
  }
}
