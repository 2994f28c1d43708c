// Encoding of DICOM upper-layer PDUs (PS3.8 section 9.3) into bytes. The mirror of
// reader.ts: what `writePdu` produces, `readPdu` reads back as the same PDU (the
// round-trip property test holds both to that).
//
// The writer checks what it must to produce well-formed bytes (every length fits its
// field, every number its byte width, every text its 8-bit encoding) and throws a
// RangeError otherwise: those are programming errors in the proxy, not peer input.
// Whether the values make sense (odd context IDs, UID syntax) is the caller's business.

import { AbortSource, ItemType, PDU_HEADER_LENGTH, PduType } from './pdu.ts';
import type {
  AssociateAccept,
  AssociateRequest,
  DataTransfer,
  Pdu,
  PresentationContextAccept,
  PresentationContextRequest,
  UserInformation,
} from './pdu.ts';

/** A growable big-endian byte buffer; lengths are written after their contents are known. */
class ByteWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(capacity: number) {
    this.#bytes = new Uint8Array(capacity);
    this.#view = new DataView(this.#bytes.buffer);
  }

  #reserve(count: number): number {
    const at = this.#length;
    const needed = at + count;
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, at));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = needed;
    return at;
  }

  u8(value: number, field: string): void {
    checkUnsigned(value, 0xff, field);
    const at = this.#reserve(1); // before reading #view: reserving may replace it
    this.#view.setUint8(at, value);
  }

  u16(value: number, field: string): void {
    checkUnsigned(value, 0xffff, field);
    const at = this.#reserve(2); // before reading #view: reserving may replace it
    this.#view.setUint16(at, value);
  }

  u32(value: number, field: string): void {
    checkUnsigned(value, 0xffffffff, field);
    const at = this.#reserve(4); // before reading #view: reserving may replace it
    this.#view.setUint32(at, value);
  }

  zeros(count: number): void {
    const at = this.#reserve(count);
    this.#bytes.fill(0, at, this.#length);
  }

  bytes(data: Uint8Array): void {
    const at = this.#reserve(data.length);
    this.#bytes.set(data, at);
  }

  /** ISO 8859-1, one byte a character: the inverse of the reader's latin1 decoding. */
  latin1(text: string, field: string): void {
    const at = this.#reserve(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0xff) throw new RangeError(`${field}: character U+${code.toString(16).padStart(4, '0')} at index ${i} has no 8-bit encoding`);
      this.#bytes[at + i] = code;
    }
  }

  /** A big-endian length field of `width` bytes, then what `body` writes; the length is filled in afterwards. */
  lengthPrefixed(width: 2 | 4, field: string, body: () => void): void {
    const lengthAt = this.#reserve(width);
    body();
    const length = this.#length - lengthAt - width;
    checkUnsigned(length, width === 2 ? 0xffff : 0xffffffff, `${field} length`);
    if (width === 2) this.#view.setUint16(lengthAt, length);
    else this.#view.setUint32(lengthAt, length);
  }

  /** An item or sub-item: type, reserved (00H), 2-byte length, value (PS3.8 9.3.2). */
  item(type: number, field: string, body: () => void): void {
    this.u8(type, `${field} type`);
    this.u8(0, 'reserved');
    this.lengthPrefixed(2, field, body);
  }

  finish(): Uint8Array {
    return this.#length === this.#bytes.length ? this.#bytes : this.#bytes.slice(0, this.#length);
  }
}

function checkUnsigned(value: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${field} is ${value}; it must be an integer from 0 to ${max}`);
}

/** Encodes any PDU. Throws RangeError when a value does not fit its field. */
export function writePdu(pdu: Pdu): Uint8Array {
  switch (pdu.type) {
    case PduType.AssociateRequest:
    case PduType.AssociateAccept:
      return writeAssociate(pdu);
    case PduType.DataTransfer:
      return writeDataTransfer(pdu);
    case PduType.AssociateReject:
      // PS3.8 Table 9-21: reserved, result, source, reason/diag.
      return writeFixed(pdu.type, 0, pdu.result, pdu.source, pdu.reason);
    case PduType.ReleaseRequest:
    case PduType.ReleaseResponse:
      // Tables 9-24 and 9-25: four reserved bytes.
      return writeFixed(pdu.type, 0, 0, 0, 0);
    case PduType.Abort:
      // Table 9-26: reserved, reserved, source, reason/diag.
      return writeFixed(pdu.type, 0, 0, pdu.source, pdu.reason);
  }
}

/** The A-ASSOCIATE-RJ bytes to send: result, source, reason as in PS3.8 Table 9-21. */
export function associateReject(result: number, source: number, reason: number): Uint8Array {
  return writePdu({ type: PduType.AssociateReject, result, source, reason });
}

/**
 * The A-ABORT bytes to send (PS3.8 Table 9-26). With source 0 (service user) the
 * reason "shall not be significant" and is sent as 0, whatever is passed.
 */
export function abort(source: number, reason: number): Uint8Array {
  return writePdu({ type: PduType.Abort, source, reason: source === AbortSource.ServiceUser ? 0 : reason });
}

/** The PDUs whose body is four single bytes (RJ, RELEASE-RQ/RP, ABORT). */
function writeFixed(type: number, b7: number, b8: number, b9: number, b10: number): Uint8Array {
  const w = new ByteWriter(PDU_HEADER_LENGTH + 4);
  w.u8(type, 'PDU type');
  w.u8(0, 'reserved');
  w.u32(4, 'PDU length');
  w.u8(b7, 'byte 7');
  w.u8(b8, 'result or reserved byte 8');
  w.u8(b9, 'source');
  w.u8(b10, 'reason');
  return w.finish();
}

/**
 * AE titles are 16 characters, space padded (PS3.8 Table 9-11 bytes 11-42: leading and
 * trailing spaces are not significant).
 */
function writeAETitle(w: ByteWriter, title: string, field: string): void {
  if (title.length > 16) throw new RangeError(`${field} ${JSON.stringify(title)} is ${title.length} characters; an AE title has at most 16`);
  w.latin1(title.padEnd(16, ' '), field);
}

/**
 * A-ASSOCIATE-RQ (Table 9-11) and -AC (Table 9-17). Items in the standard's order:
 * application context, presentation contexts, user information (PS3.8 9.3.1: "Items
 * shall appear in an increasing order of their item types").
 */
function writeAssociate(pdu: AssociateRequest | AssociateAccept): Uint8Array {
  const w = new ByteWriter(512);
  w.u8(pdu.type, 'PDU type');
  w.u8(0, 'reserved');
  w.lengthPrefixed(4, 'PDU', () => {
    w.u16(pdu.protocolVersion, 'protocol version');
    w.zeros(2);
    // In an AC these two fields echo the RQ ("identical to the value received").
    writeAETitle(w, pdu.calledAETitle, 'called AE title');
    writeAETitle(w, pdu.callingAETitle, 'calling AE title');
    w.zeros(32);
    // Table 9-12. Annex F: UIDs in the upper layer are not padded.
    w.item(ItemType.ApplicationContext, 'application context item', () => w.latin1(pdu.applicationContext, 'application context name'));
    if (pdu.type === PduType.AssociateRequest) {
      for (const context of pdu.presentationContexts) writeContextRequest(w, context);
    } else {
      for (const context of pdu.presentationContexts) writeContextAccept(w, context);
    }
    writeUserInformation(w, pdu.userInformation, pdu.type === PduType.AssociateRequest);
  });
  return w.finish();
}

/** Item 0x20, Table 9-13: ID, three reserved bytes, one abstract syntax, the transfer syntaxes. */
function writeContextRequest(w: ByteWriter, context: PresentationContextRequest): void {
  w.item(ItemType.PresentationContextRequest, `presentation context item ${context.id}`, () => {
    w.u8(context.id, 'presentation context ID');
    w.zeros(3);
    w.item(ItemType.AbstractSyntax, 'abstract syntax sub-item', () => w.latin1(context.abstractSyntax, 'abstract syntax name'));
    for (const syntax of context.transferSyntaxes) {
      w.item(ItemType.TransferSyntax, 'transfer syntax sub-item', () => w.latin1(syntax, 'transfer syntax name'));
    }
  });
}

/** Item 0x21, Table 9-18: ID, reserved, result/reason, reserved, one transfer syntax (empty allowed when not accepted). */
function writeContextAccept(w: ByteWriter, context: PresentationContextAccept): void {
  w.item(ItemType.PresentationContextAccept, `presentation context item ${context.id}`, () => {
    w.u8(context.id, 'presentation context ID');
    w.zeros(1);
    w.u8(context.result, 'presentation context result');
    w.zeros(1);
    w.item(ItemType.TransferSyntax, 'transfer syntax sub-item', () => w.latin1(context.transferSyntax, 'transfer syntax name'));
  });
}

/** A 2-byte length and the text (the UID fields inside user information sub-items). */
function writeLengthPrefixedText(w: ByteWriter, text: string, field: string): void {
  w.lengthPrefixed(2, field, () => w.latin1(text, field));
}

/**
 * Item 0x50 (Table 9-16). Sub-items are written in ascending type order, because "some
 * older applications might expect Sub-Items to be encoded in ascending order of
 * Item-type" (PS3.8 9.3.2.3 note); sub-items we do not know follow, in the order received.
 */
function writeUserInformation(w: ByteWriter, info: UserInformation, isRequest: boolean): void {
  // The reader refuses these in the wrong PDU; so does the writer, rather than emit them.
  if (!isRequest && info.userIdentity !== undefined) throw new RangeError('user identity (0x58) is only sent in an A-ASSOCIATE-RQ');
  if (isRequest && info.userIdentityServerResponse !== undefined) throw new RangeError('user identity server response (0x59) is only sent in an A-ASSOCIATE-AC');
  w.item(ItemType.UserInformation, 'user information item', () => {
    if (info.maxLength !== undefined) {
      // PS3.8 Table D.1-1; 0 means no maximum.
      const maxLength = info.maxLength;
      w.item(ItemType.MaximumLength, 'maximum length sub-item', () => w.u32(maxLength, 'maximum length'));
    }
    if (info.implementationClassUid !== undefined) {
      const uid = info.implementationClassUid;
      w.item(ItemType.ImplementationClassUid, 'implementation class UID sub-item', () => w.latin1(uid, 'implementation class UID'));
    }
    if (info.asynchronousOperationsWindow !== undefined) {
      // PS3.7 Table D.3-7.
      const window = info.asynchronousOperationsWindow;
      w.item(ItemType.AsynchronousOperationsWindow, 'asynchronous operations window sub-item', () => {
        w.u16(window.maxOperationsInvoked, 'maximum number of operations invoked');
        w.u16(window.maxOperationsPerformed, 'maximum number of operations performed');
      });
    }
    for (const role of info.roleSelections) {
      // PS3.7 Table D.3-9.
      w.item(ItemType.RoleSelection, 'SCP/SCU role selection sub-item', () => {
        writeLengthPrefixedText(w, role.sopClassUid, 'SOP class UID');
        w.u8(role.scuRole, 'SCU role');
        w.u8(role.scpRole, 'SCP role');
      });
    }
    if (info.implementationVersionName !== undefined) {
      const name = info.implementationVersionName;
      w.item(ItemType.ImplementationVersionName, 'implementation version name sub-item', () => w.latin1(name, 'implementation version name'));
    }
    for (const negotiation of info.extendedNegotiations) {
      // PS3.7 Table D.3-11.
      w.item(ItemType.SopClassExtendedNegotiation, 'SOP class extended negotiation sub-item', () => {
        writeLengthPrefixedText(w, negotiation.sopClassUid, 'SOP class UID');
        w.bytes(negotiation.applicationInformation);
      });
    }
    for (const negotiation of info.commonExtendedNegotiations) {
      // PS3.7 Tables D.3-12 and D.3-13. Byte 2 is the sub-item version, 00H.
      w.item(ItemType.SopClassCommonExtendedNegotiation, 'SOP class common extended negotiation sub-item', () => {
        writeLengthPrefixedText(w, negotiation.sopClassUid, 'SOP class UID');
        writeLengthPrefixedText(w, negotiation.serviceClassUid, 'service class UID');
        w.lengthPrefixed(2, 'related general SOP class identification', () => {
          for (const uid of negotiation.relatedGeneralSopClassUids) writeLengthPrefixedText(w, uid, 'related general SOP class UID');
        });
      });
    }
    if (info.userIdentity !== undefined) {
      // PS3.7 Table D.3-14.
      const identity = info.userIdentity;
      w.item(ItemType.UserIdentityRequest, 'user identity sub-item', () => {
        w.u8(identity.identityType, 'user identity type');
        w.u8(identity.positiveResponseRequested ? 1 : 0, 'positive response requested');
        w.lengthPrefixed(2, 'primary field', () => w.bytes(identity.primaryField));
        w.lengthPrefixed(2, 'secondary field', () => w.bytes(identity.secondaryField));
      });
    }
    if (info.userIdentityServerResponse !== undefined) {
      // PS3.7 Table D.3-15.
      const response = info.userIdentityServerResponse;
      w.item(ItemType.UserIdentityAccept, 'user identity server response sub-item', () => {
        w.lengthPrefixed(2, 'server response', () => w.bytes(response));
      });
    }
    for (const sub of info.unknownSubItems) {
      w.item(sub.itemType, `user information sub-item of type ${sub.itemType}`, () => w.bytes(sub.data));
    }
  });
}

/** P-DATA-TF, Tables 9-22 and 9-23, with the message control header of Annex E.2. */
function writeDataTransfer(pdu: DataTransfer): Uint8Array {
  let size = PDU_HEADER_LENGTH;
  for (const value of pdu.values) size += 4 + 2 + value.data.length;
  const w = new ByteWriter(size);
  w.u8(pdu.type, 'PDU type');
  w.u8(0, 'reserved');
  w.lengthPrefixed(4, 'PDU', () => {
    for (const value of pdu.values) {
      w.lengthPrefixed(4, 'presentation data value item', () => {
        w.u8(value.presentationContextId, 'presentation context ID');
        w.u8((value.isCommand ? 0x01 : 0) | (value.isLast ? 0x02 : 0), 'message control header');
        w.bytes(value.data);
      });
    }
  });
  return w.finish();
}
