// PDU boundaries in a relayed byte stream. Once an association is accepted the proxy
// forwards chunks unchanged (P-DATA-TF can be 64 MiB of pixel data); it only needs to
// know where each PDU starts and what type it is: to see a release or abort go by, to
// refuse a second A-ASSOCIATE-RQ or an unknown PDU type mid-association, and to hold
// peers to a maximum PDU length. The framer reads the 6 header bytes of each PDU
// (PS3.8 9.3.1: type, reserved, 4-byte big-endian length) and skips the body by
// counting: no payload byte is copied, looked at or buffered.

import { PduError } from './errors.ts';
import { PDU_HEADER_LENGTH } from './pdu.ts';
import type { PduTypeCode } from './pdu.ts';
import { checkPduLength, checkPduType } from './reader.ts';

export interface PduHeaderEvent {
  type: PduTypeCode;
  /** Body length from the header: the PDU occupies `PDU_HEADER_LENGTH + length` bytes. */
  length: number;
  /** Offset of the PDU's first byte from the start of everything pushed. */
  offsetInStream: number;
}

const NO_EVENTS: readonly PduHeaderEvent[] = Object.freeze([]);

export class PduFramer {
  readonly #maxPduLength: number;
  /** Stream offset of the first byte of the next chunk. */
  #position = 0;
  /** Body bytes of the current PDU not yet seen. */
  #bodyRemaining = 0;
  /** Header bytes of the next PDU seen so far (0 to 5), when a header is split across chunks. */
  #headerSeen = 0;
  #headerType: PduTypeCode = 1;
  #headerLength = 0;
  #headerStart = 0;
  #failure: PduError | undefined;

  /** `maxPduLength` caps the PDU length field of every PDU (not counting the 6-byte header). */
  constructor(maxPduLength: number) {
    this.#maxPduLength = maxPduLength;
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
    return this.#bodyRemaining === 0 && this.#headerSeen === 0;
  }

  /**
   * Accounts for the next chunk of the stream and returns the header of every PDU whose
   * 6 header bytes complete in it, in stream order (an empty, shared array when none).
   * Throws `PduError` (offset = stream offset of the bad PDU's first byte) for an unknown
   * type, a length over the cap, or a length the standard fixes otherwise; the stream
   * cannot be resynchronised after that, so every later push throws the same error.
   */
  push(chunk: Uint8Array): readonly PduHeaderEvent[] {
    if (this.#failure !== undefined) throw this.#failure;
    let events: PduHeaderEvent[] | undefined;
    const end = chunk.length;
    let at = 0;
    try {
      while (at < end) {
        if (this.#bodyRemaining > 0) {
          const skip = Math.min(this.#bodyRemaining, end - at);
          this.#bodyRemaining -= skip;
          at += skip;
          continue;
        }
        if (this.#headerSeen === 0 && end - at >= PDU_HEADER_LENGTH) {
          // The whole header is in this chunk: the common case.
          const start = this.#position + at;
          const type = checkPduType(chunk[at] ?? 0, start);
          const length = ((chunk[at + 2] ?? 0) * 0x1000000) + (((chunk[at + 3] ?? 0) << 16) | ((chunk[at + 4] ?? 0) << 8) | (chunk[at + 5] ?? 0));
          at += PDU_HEADER_LENGTH;
          (events ??= []).push(this.#header(type, length, start));
          continue;
        }
        // A header split across chunks (down to one byte a segment): collect it byte by byte.
        const byte = chunk[at] ?? 0;
        if (this.#headerSeen === 0) {
          this.#headerStart = this.#position + at;
          this.#headerType = checkPduType(byte, this.#headerStart);
          this.#headerLength = 0;
        } else if (this.#headerSeen >= 2) {
          // Multiplying, not shifting: the length is an unsigned 32-bit value.
          this.#headerLength = this.#headerLength * 256 + byte;
        } // byte 2 is reserved, not tested.
        at++;
        if (++this.#headerSeen === PDU_HEADER_LENGTH) {
          this.#headerSeen = 0;
          (events ??= []).push(this.#header(this.#headerType, this.#headerLength, this.#headerStart));
        }
      }
    } catch (error) {
      if (error instanceof PduError) this.#failure = error;
      throw error;
    }
    this.#position += end;
    return events ?? NO_EVENTS;
  }

  #header(type: PduTypeCode, length: number, offsetInStream: number): PduHeaderEvent {
    checkPduLength(type, length, this.#maxPduLength, offsetInStream);
    this.#bodyRemaining = length;
    return { type, length, offsetInStream };
  }
}
