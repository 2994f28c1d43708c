// The one error the wire codec throws for bytes that are not a valid PDU. "Not enough
// bytes yet" is never an error: the reader answers `undefined` for that (a peer that
// stalls mid-PDU is the ARTIM timer's business, PS3.8 9.1.4).

import type { AbortReasonCode } from './pdu.ts';

export class PduError extends Error {
  /** Byte offset of the offending field, from the first byte of the PDU (or of the stream, for the framer). */
  readonly offset: number;
  /** The A-ABORT reason the proxy should send, with source 2 (service provider), PS3.8 Table 9-26. */
  readonly abortReason: AbortReasonCode;

  constructor(message: string, offset: number, abortReason: AbortReasonCode) {
    super(message);
    this.name = 'PduError';
    this.offset = offset;
    this.abortReason = abortReason;
  }
}
