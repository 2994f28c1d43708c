// Decoding of DICOM upper-layer PDUs (PS3.8 section 9.3) from a byte buffer, one PDU at a
// time. Plain functions, no sockets: the caller appends what it reads and calls
// `readPdu` again. Three answers, never confused with each other:
//   - `undefined`: not enough bytes yet (wait for more; ARTIM bounds the wait, PS3.8 9.1.4);
//   - a PDU and the number of bytes it took;
//   - a thrown `PduError`: these bytes are not a valid PDU, and the error says which
//     field, where, and which A-ABORT reason to send.
// Every length is checked against its parent before it is used, and the PDU length is
// checked against the caller's cap before the body is waited for, so a peer cannot make
// us hold more than `maxPduLength` bytes.
//
// Offsets in messages count from the PDU's first byte (0), so "offset 74" is the first
// variable item of an A-ASSOCIATE-RQ (the standard's "byte 75").

import { Buffer } from 'node:buffer';
import { PduError } from './errors.ts';
import { AbortReason, ItemType, PDU_HEADER_LENGTH, PduType } from './pdu.ts';
import type {
  AbortReasonCode,
  Abort,
  AssociateAccept,
  AssociateReject,
  AssociateRequest,
  DataTransfer,
  Pdu,
  PduTypeCode,
  PresentationContextAccept,
  PresentationContextRequest,
  PresentationDataValue,
  RoleSelection,
  SopClassCommonExtendedNegotiation,
  SopClassExtendedNegotiation,
  UserIdentityRequest,
  UserInformation,
} from './pdu.ts';

export interface PduHeader {
  type: PduTypeCode;
  /** Bytes after the 6-byte header (PS3.8 9.3.1: "PDU-length"). */
  length: number;
}

const PDU_NAMES: Record<PduTypeCode, string> = {
  [PduType.AssociateRequest]: 'A-ASSOCIATE-RQ',
  [PduType.AssociateAccept]: 'A-ASSOCIATE-AC',
  [PduType.AssociateReject]: 'A-ASSOCIATE-RJ',
  [PduType.DataTransfer]: 'P-DATA-TF',
  [PduType.ReleaseRequest]: 'A-RELEASE-RQ',
  [PduType.ReleaseResponse]: 'A-RELEASE-RP',
  [PduType.Abort]: 'A-ABORT',
};

/** The standard's name of a PDU type, for messages and logs. */
export function pduName(type: PduTypeCode): string {
  return PDU_NAMES[type];
}

/** Fixed fields of an A-ASSOCIATE-RQ/AC: version, reserved, two AE titles, reserved (Tables 9-11, 9-17). */
const ASSOCIATE_FIXED_LENGTH = 2 + 2 + 16 + 16 + 32;
/** Where the variable items of an A-ASSOCIATE-RQ/AC start (the standard's byte 75). */
const ASSOCIATE_ITEMS_OFFSET = PDU_HEADER_LENGTH + ASSOCIATE_FIXED_LENGTH;
/** Smallest P-DATA-TF body: one PDV item with its 4-byte length, context ID and control header (Table 9-23). */
const MIN_DATA_TRANSFER_LENGTH = 4 + 1 + 1;
/** PS3.8 Annex F: names "shall not exceed 64 total characters". */
const MAX_UID_LENGTH = 64;

function hex(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}

/** A hint for the on-call reader when the first byte says "this is another protocol" (dicom-wire.md class 10). */
function protocolHint(firstByte: number): string {
  if (firstByte === 0x16) return '; 0x16 starts a TLS handshake: is the peer using TLS on a plain DICOM port?';
  const isLetter = (firstByte >= 0x41 && firstByte <= 0x5a) || (firstByte >= 0x61 && firstByte <= 0x7a);
  if (isLetter) return `; ${hex(firstByte)} is the letter '${String.fromCharCode(firstByte)}': is the peer speaking a text protocol such as HTTP?`;
  return '';
}

function isPduType(value: number): value is PduTypeCode {
  return value >= PduType.AssociateRequest && value <= PduType.Abort;
}

/**
 * Checks a PDU type byte. Throws at once for an unknown type: there is no length we
 * could trust to skip it, so PS3.8 9.3.1 leaves nothing to do but A-ABORT (reason 1,
 * unrecognized PDU; state machine action AA-1 for an invalid PDU, PS3.8 9.2).
 */
export function checkPduType(value: number, offset: number): PduTypeCode {
  if (isPduType(value)) return value;
  throw new PduError(
    `PDU at offset ${offset}: type ${hex(value)} is not a DICOM upper-layer PDU type (0x01 to 0x07)${protocolHint(value)}`,
    offset,
    AbortReason.UnrecognizedPdu,
  );
}

/**
 * Checks a PDU length from the header, before any of the body is awaited or allocated:
 * against the caller's cap, and against the fixed sizes the standard gives
 * (A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT are always 4 bytes, Tables 9-21, 9-24,
 * 9-25, 9-26). Shared by `readPdu` and the relay-time `PduFramer`.
 */
export function checkPduLength(type: PduTypeCode, length: number, maxPduLength: number, offset: number): void {
  // A NaN cap would let every length through: that is a bug in the caller, not peer input.
  if (!(maxPduLength >= 0)) throw new RangeError(`maxPduLength is ${maxPduLength}; it must be a number of bytes`);
  const name = PDU_NAMES[type];
  const invalid = (problem: string): never => {
    throw new PduError(`${name} at offset ${offset}: PDU length ${length} ${problem}`, offset, AbortReason.InvalidPduParameterValue);
  };
  switch (type) {
    case PduType.AssociateReject:
    case PduType.ReleaseRequest:
    case PduType.ReleaseResponse:
    case PduType.Abort:
      if (length !== 4) invalid(`is wrong: an ${name} is always 4 bytes long (PS3.8 9.3.4, 9.3.6 to 9.3.8)`);
      break;
    case PduType.AssociateRequest:
    case PduType.AssociateAccept:
      if (length < ASSOCIATE_FIXED_LENGTH) invalid(`is too short for the fixed fields (${ASSOCIATE_FIXED_LENGTH} bytes, PS3.8 Table 9-11)`);
      break;
    case PduType.DataTransfer:
      if (length < MIN_DATA_TRANSFER_LENGTH) invalid(`cannot hold a presentation data value item (at least ${MIN_DATA_TRANSFER_LENGTH} bytes, PS3.8 9.3.5)`);
      break;
  }
  if (length > maxPduLength) invalid(`exceeds the limit of ${maxPduLength} bytes for this connection`);
}

/**
 * Reads the 6-byte PDU header (type, reserved, 4-byte big-endian length, PS3.8 9.3.1).
 * `undefined` until 6 bytes are there; an unknown type throws as soon as its byte is seen.
 */
export function readPduHeader(buf: Uint8Array): PduHeader | undefined {
  if (buf.length < 1) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = checkPduType(view.getUint8(0), 0);
  if (buf.length < PDU_HEADER_LENGTH) return undefined;
  // Byte 2 is reserved: "sent with a value 00H but not tested to this value when received".
  return { type, length: view.getUint32(2) };
}

/**
 * Decodes the PDU at the start of `buf`. `maxPduLength` caps the PDU length field (the
 * bytes after the 6-byte header). Returns `undefined` while the PDU is incomplete,
 * the PDU and its total length (header included) once it is complete; bytes after it are
 * left alone (the next PDU). Throws `PduError` for invalid input. Decoded byte fields are
 * copies: `buf` may be reused afterwards.
 */
export function readPdu(buf: Uint8Array, maxPduLength: number): { pdu: Pdu; length: number } | undefined {
  const header = readPduHeader(buf);
  if (header === undefined) return undefined;
  checkPduLength(header.type, header.length, maxPduLength, 0);
  const length = PDU_HEADER_LENGTH + header.length;
  if (buf.length < length) return undefined;
  const bytes = new PduBytes(buf.subarray(0, length));
  return { pdu: readBody(bytes, header.type), length };
}

function readBody(b: PduBytes, type: PduTypeCode): Pdu {
  switch (type) {
    case PduType.AssociateRequest:
      return readAssociateRequest(b);
    case PduType.AssociateAccept:
      return readAssociateAccept(b);
    case PduType.AssociateReject:
      return readAssociateReject(b);
    case PduType.DataTransfer:
      return readDataTransfer(b);
    case PduType.ReleaseRequest:
      // Table 9-24: bytes 7-10 reserved, "not tested to this value when received".
      return { type: PduType.ReleaseRequest };
    case PduType.ReleaseResponse:
      // Table 9-25: likewise.
      return { type: PduType.ReleaseResponse };
    case PduType.Abort:
      return readAbort(b);
  }
}

/** One complete PDU, with big-endian accessors; offsets count from its first byte. */
class PduBytes {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly length: number;
  readonly #text: Buffer;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.length = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(at: number): number {
    return this.view.getUint8(at);
  }

  u16(at: number): number {
    return this.view.getUint16(at);
  }

  u32(at: number): number {
    return this.view.getUint32(at);
  }

  /** ISO 8859-1: one character per byte, so every byte stays visible and round-trips. */
  latin1(start: number, end: number): string {
    return this.#text.toString('latin1', start, end);
  }

  /** A copy, so the decoded PDU does not pin or alias the caller's buffer. */
  copy(start: number, end: number): Uint8Array {
    return new Uint8Array(this.bytes.subarray(start, end));
  }
}

function fail(offset: number, message: string, reason: AbortReasonCode = AbortReason.InvalidPduParameterValue): never {
  throw new PduError(message, offset, reason);
}

// ---------------------------------------------------------------------------------------
// Items (PS3.8 9.3.2, 9.3.3; PS3.7 Annex D.3.3): type (1), reserved (1), length (2), value.

const ITEM_NAMES: Record<number, string> = {
  [ItemType.ApplicationContext]: 'application context item',
  [ItemType.PresentationContextRequest]: 'presentation context item',
  [ItemType.PresentationContextAccept]: 'presentation context item',
  [ItemType.AbstractSyntax]: 'abstract syntax sub-item',
  [ItemType.TransferSyntax]: 'transfer syntax sub-item',
  [ItemType.UserInformation]: 'user information item',
  [ItemType.MaximumLength]: 'maximum length sub-item',
  [ItemType.ImplementationClassUid]: 'implementation class UID sub-item',
  [ItemType.AsynchronousOperationsWindow]: 'asynchronous operations window sub-item',
  [ItemType.RoleSelection]: 'SCP/SCU role selection sub-item',
  [ItemType.ImplementationVersionName]: 'implementation version name sub-item',
  [ItemType.SopClassExtendedNegotiation]: 'SOP class extended negotiation sub-item',
  [ItemType.SopClassCommonExtendedNegotiation]: 'SOP class common extended negotiation sub-item',
  [ItemType.UserIdentityRequest]: 'user identity sub-item',
  [ItemType.UserIdentityAccept]: 'user identity server response sub-item',
};

function isKnownItemType(type: number): boolean {
  return ITEM_NAMES[type] !== undefined;
}

interface Item {
  type: number;
  /** Offset of the item's type byte. */
  offset: number;
  /** The value: from after the 4-byte item header to the end given by the item length. */
  start: number;
  end: number;
  /** "presentation context item at offset 74", the lead of every message about this item. */
  where: string;
}

/** The enclosing PDU or item, as messages name it. */
interface Parent {
  name: string;
  end: number;
}

/** Splits [start, parent.end) into items, checking that each header and value fits its parent. */
function splitItems(b: PduBytes, start: number, parent: Parent): Item[] {
  const items: Item[] = [];
  let at = start;
  while (at < parent.end) {
    const type = b.u8(at);
    const where = `${ITEM_NAMES[type] ?? `item of type ${hex(type)}`} at offset ${at}`;
    if (parent.end - at < 4) fail(at, `${where}: the item header needs 4 bytes, but ${parent.name} ends at offset ${parent.end}`);
    const length = b.u16(at + 2);
    if (length > parent.end - at - 4) fail(at, `${where}: length ${length} overruns ${parent.name} (ends at offset ${parent.end})`);
    items.push({ type, offset: at, start: at + 4, end: at + 4 + length, where });
    at += 4 + length;
  }
  return items;
}

function asParent(item: Item): Parent {
  return { name: `the ${item.where}`, end: item.end };
}

/** PS3.8 9.3.1: "Several instances of the same item shall be acceptable or shall not as specified by each item." */
function once(seen: Set<number>, item: Item, parentName: string): void {
  if (seen.has(item.type)) fail(item.offset, `${item.where}: a second one in ${parentName}, where only one is allowed`, AbortReason.UnexpectedPduParameter);
  seen.add(item.type);
}

function unexpected(item: Item, parentName: string): never {
  return fail(item.offset, `${item.where}: not expected in ${parentName}`, AbortReason.UnexpectedPduParameter);
}

/** Quotes peer-supplied text for a message: control and non-ASCII bytes escaped, long values cut. */
function quote(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 80)}...` : text;
  return `"${shown.replace(/[^\x20-\x7e]|["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

/**
 * A UID-structured name (application context, abstract/transfer syntax, SOP class,
 * implementation class): ISO 646 digits and dots, at most 64 characters (PS3.8 Annex F).
 * Annex F forbids padding in the upper layer, but PS3.5 9.1 pads UIDs elsewhere with a
 * NUL and some implementations send that here too (dicom-wire.md), so trailing NULs and
 * spaces are stripped before the check.
 */
function readUid(b: PduBytes, start: number, end: number, where: string, field: string): string {
  let stop = end;
  while (stop > start && (b.u8(stop - 1) === 0x00 || b.u8(stop - 1) === 0x20)) stop--;
  if (stop === start) fail(start, `${where}: the ${field} is empty (${end - start} bytes of value), but a UID is required`);
  const text = b.latin1(start, stop);
  if (stop - start > MAX_UID_LENGTH) fail(start, `${where}: the ${field} ${quote(text)} is ${stop - start} characters long; a UID has at most ${MAX_UID_LENGTH} (PS3.8 Annex F)`);
  for (let at = start; at < stop; at++) {
    const c = b.u8(at);
    const isDigit = c >= 0x30 && c <= 0x39;
    if (!isDigit && c !== 0x2e) fail(at, `${where}: the ${field} ${quote(text)} has byte ${hex(c)} at offset ${at}; a UID holds only digits and dots (PS3.8 Annex F)`);
  }
  return text;
}

/** Reads the fixed and length-prefixed fields inside one item, never past its end. */
class FieldCursor {
  at: number;
  readonly #b: PduBytes;
  readonly #item: Item;

  constructor(b: PduBytes, item: Item) {
    this.#b = b;
    this.#item = item;
    this.at = item.start;
  }

  #need(bytes: number, field: string): void {
    if (this.#item.end - this.at < bytes) fail(this.#item.offset, `${this.#item.where}: the ${field} at offset ${this.at} is cut off by the end of the sub-item (offset ${this.#item.end})`);
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#b.u8(this.at++);
  }

  u16(field: string): number {
    this.#need(2, field);
    const value = this.#b.u16(this.at);
    this.at += 2;
    return value;
  }

  /** A 2-byte length and that many bytes; returns where the bytes are. */
  lengthPrefixed(field: string): { start: number; end: number } {
    const lengthAt = this.at;
    const length = this.u16(`${field} length`);
    if (length > this.#item.end - this.at) fail(this.#item.offset, `${this.#item.where}: the ${field} length ${length} (at offset ${lengthAt}) overruns the sub-item (ends at offset ${this.#item.end})`);
    const start = this.at;
    this.at += length;
    return { start, end: this.at };
  }

  /** The item length must be the sum of its fields: extra bytes would be read differently by the PACS. */
  end(): void {
    const extra = this.#item.end - this.at;
    if (extra !== 0) fail(this.#item.offset, `${this.#item.where}: ${extra} byte${extra === 1 ? '' : 's'} after the last field (item length ${this.#item.end - this.#item.start})`);
  }
}

// ---------------------------------------------------------------------------------------
// A-ASSOCIATE-RQ (PS3.8 9.3.2, Table 9-11) and A-ASSOCIATE-AC (9.3.3, Table 9-17).

/**
 * AE titles are 16 ISO 646 characters "with leading and trailing spaces (20H) being
 * non-significant" (Table 9-11, bytes 11-42). Whether a title is acceptable (all spaces,
 * control characters, backslash) is the policy's decision, not the codec's: decoded as
 * latin1 so that every byte stays readable in logs, and only spaces are trimmed.
 */
function readAETitle(b: PduBytes, at: number): string {
  return b.latin1(at, at + 16).replace(/^ +| +$/g, '');
}

interface AssociateFields {
  protocolVersion: number;
  calledAETitle: string;
  callingAETitle: string;
  applicationContext: string;
  userInformation: UserInformation;
}

/**
 * The fields common to the RQ and the AC. `readContext` handles the presentation context
 * item type of this PDU (0x20 in an RQ, 0x21 in an AC).
 */
function readAssociate(b: PduBytes, type: typeof PduType.AssociateRequest | typeof PduType.AssociateAccept, readContext: (item: Item) => void): AssociateFields {
  const pdu: Parent = { name: `the ${PDU_NAMES[type]}`, end: b.length };
  const isRequest = type === PduType.AssociateRequest;
  // Bytes 7-8, protocol version: "A receiver of this PDU implementing only this version
  // of the DICOM UL protocol shall only test that bit 0 is set". Kept as sent: refusing
  // it is an A-ASSOCIATE-RJ (1, 2, 2), decided with the other reject reasons elsewhere.
  const protocolVersion = b.u16(6);
  // Bytes 9-10 reserved, not tested. Bytes 11-26 called AE title, 27-42 calling AE
  // title (in an AC: "identical to the value received" in the RQ, "not tested").
  const calledAETitle = readAETitle(b, 10);
  const callingAETitle = readAETitle(b, 26);
  // Bytes 43-74 reserved, not tested. Bytes 75-xxx: "one Application Context Item, one
  // or more Presentation Context Items and one User Information Item".
  let applicationContext: string | undefined;
  let userInformation: UserInformation | undefined;
  let contexts = 0;
  const seen = new Set<number>();
  for (const item of splitItems(b, ASSOCIATE_ITEMS_OFFSET, pdu)) {
    switch (item.type) {
      case ItemType.ApplicationContext:
        // Table 9-12. Only one: a second name could be read differently by the PACS.
        once(seen, item, pdu.name);
        applicationContext = readUid(b, item.start, item.end, item.where, 'application context name');
        break;
      case ItemType.PresentationContextRequest:
      case ItemType.PresentationContextAccept:
        if (item.type !== (isRequest ? ItemType.PresentationContextRequest : ItemType.PresentationContextAccept)) unexpected(item, pdu.name);
        readContext(item);
        contexts++;
        break;
      case ItemType.UserInformation:
        once(seen, item, pdu.name);
        userInformation = readUserInformation(b, item, isRequest);
        break;
      default:
        // PS3.8 9.3.1: "Items of unrecognized types shall be ignored and skipped." An
        // item we know, in the wrong PDU (a sub-item at the top level, say), is not
        // unrecognized: that is an unexpected parameter.
        if (isKnownItemType(item.type)) unexpected(item, pdu.name);
    }
  }
  const missing = (what: string): never => fail(0, `${PDU_NAMES[type]} at offset 0: there is no ${what} (PS3.8 Table ${isRequest ? '9-11' : '9-17'})`);
  if (applicationContext === undefined) return missing('application context item');
  if (contexts === 0) return missing('presentation context item');
  // A missing user information item is tolerated (as an empty one): the maximum length
  // it would carry only limits what we send, and "no limit" is its meaning when absent.
  return {
    protocolVersion,
    calledAETitle,
    callingAETitle,
    applicationContext,
    userInformation: userInformation ?? emptyUserInformation(),
  };
}

/** Presentation context IDs: "odd integers between 1 and 255" and unique per association (PS3.8 9.3.2.2, 7.1.1.13). */
function checkContextId(id: number, item: Item, ids: Map<number, number>): void {
  if (id % 2 === 0) fail(item.offset, `${item.where}: ID ${id} is even; presentation context IDs are odd numbers from 1 to 255 (PS3.8 9.3.2.2)`);
  const first = ids.get(id);
  if (first !== undefined) fail(item.offset, `${item.where}: ID ${id} is already used by the presentation context item at offset ${first}`);
  ids.set(id, item.offset);
}

function readAssociateRequest(b: PduBytes): AssociateRequest {
  const presentationContexts: PresentationContextRequest[] = [];
  const ids = new Map<number, number>();
  const fields = readAssociate(b, PduType.AssociateRequest, (item) => {
    presentationContexts.push(readContextRequest(b, item, ids));
  });
  return { type: PduType.AssociateRequest, ...fields, presentationContexts };
}

function readAssociateAccept(b: PduBytes): AssociateAccept {
  const presentationContexts: PresentationContextAccept[] = [];
  const ids = new Map<number, number>();
  const fields = readAssociate(b, PduType.AssociateAccept, (item) => {
    presentationContexts.push(readContextAccept(b, item, ids));
  });
  return { type: PduType.AssociateAccept, ...fields, presentationContexts };
}

/** Item 0x20, PS3.8 9.3.2.2 (Table 9-13): ID, 3 reserved bytes, then the sub-items. */
function readContextRequest(b: PduBytes, item: Item, ids: Map<number, number>): PresentationContextRequest {
  if (item.end - item.start < 4) fail(item.offset, `${item.where}: length ${item.end - item.start} is too short for the context ID and reserved fields (4 bytes)`);
  const id = b.u8(item.start);
  checkContextId(id, item, ids);
  const parent = asParent(item);
  let abstractSyntax: string | undefined;
  const transferSyntaxes: string[] = [];
  for (const sub of splitItems(b, item.start + 4, parent)) {
    if (sub.type === ItemType.AbstractSyntax) {
      // Table 9-14. "one Abstract Syntax": a second one would make the context ambiguous.
      if (abstractSyntax !== undefined) fail(sub.offset, `${sub.where}: a second abstract syntax in ${parent.name}, which proposes exactly one (PS3.8 9.3.2.2)`, AbortReason.UnexpectedPduParameter);
      abstractSyntax = readUid(b, sub.start, sub.end, sub.where, 'abstract syntax name');
    } else if (sub.type === ItemType.TransferSyntax) {
      // Table 9-15: "one or more Transfer Syntax(es)", in order of preference.
      transferSyntaxes.push(readUid(b, sub.start, sub.end, sub.where, 'transfer syntax name'));
    } else if (isKnownItemType(sub.type)) {
      unexpected(sub, parent.name);
    } // else: unrecognized, ignored and skipped (PS3.8 9.3.1).
  }
  if (abstractSyntax === undefined) fail(item.offset, `${item.where}: no abstract syntax sub-item (context ID ${id}; PS3.8 Table 9-13 requires one)`);
  if (transferSyntaxes.length === 0) fail(item.offset, `${item.where}: no transfer syntax sub-item (context ID ${id}; PS3.8 Table 9-13 requires at least one)`);
  return { id, abstractSyntax, transferSyntaxes };
}

/** Item 0x21, PS3.8 9.3.3.2 (Table 9-18): ID, reserved, result/reason, reserved, one transfer syntax. */
function readContextAccept(b: PduBytes, item: Item, ids: Map<number, number>): PresentationContextAccept {
  if (item.end - item.start < 4) fail(item.offset, `${item.where}: length ${item.end - item.start} is too short for the context ID, result and reserved fields (4 bytes)`);
  const id = b.u8(item.start);
  checkContextId(id, item, ids);
  const result = b.u8(item.start + 2);
  if (result > 4) fail(item.offset, `${item.where}: result ${result} is not one of 0 (acceptance) to 4 (transfer syntaxes not supported), PS3.8 Table 9-18`);
  const parent = asParent(item);
  let transferSyntax: string | undefined;
  for (const sub of splitItems(b, item.start + 4, parent)) {
    if (sub.type === ItemType.TransferSyntax) {
      if (transferSyntax !== undefined) fail(sub.offset, `${sub.where}: a second transfer syntax in ${parent.name}, which answers with exactly one (PS3.8 Table 9-18)`, AbortReason.UnexpectedPduParameter);
      // "When the Result/Reason field has a value other than acceptance (0), this field
      // shall not be significant and its value shall not be tested when received":
      // kept as sent (padding stripped), possibly empty.
      transferSyntax = result === 0 ? readUid(b, sub.start, sub.end, sub.where, 'transfer syntax name') : readPadded(b, sub.start, sub.end);
    } else if (isKnownItemType(sub.type)) {
      unexpected(sub, parent.name);
    } // else: unrecognized, ignored and skipped (PS3.8 9.3.1).
  }
  if (transferSyntax === undefined) {
    if (result === 0) fail(item.offset, `${item.where}: accepts context ID ${id} but names no transfer syntax (PS3.8 Table 9-18)`);
    transferSyntax = '';
  }
  return { id, result, transferSyntax };
}

/** Text with trailing NUL/space padding removed, not otherwise checked. */
function readPadded(b: PduBytes, start: number, end: number): string {
  let stop = end;
  while (stop > start && (b.u8(stop - 1) === 0x00 || b.u8(stop - 1) === 0x20)) stop--;
  return b.latin1(start, stop);
}

function emptyUserInformation(): UserInformation {
  return { roleSelections: [], extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] };
}

/**
 * Item 0x50 (PS3.8 9.3.2.3, Table 9-16) and its sub-items (PS3.8 Annex D, PS3.7 Annex
 * D.3.3). "The User-Data Sub-Items may be present in any order": order is not checked.
 * Sub-items that may occur once are refused when repeated, because the proxy and the
 * PACS could each believe a different one (the user identity above all).
 */
function readUserInformation(b: PduBytes, item: Item, isRequest: boolean): UserInformation {
  const parent = asParent(item);
  const info = emptyUserInformation();
  const seen = new Set<number>();
  const roleUids = new Set<string>();
  const extendedUids = new Set<string>();
  const commonUids = new Set<string>();
  const oncePerSopClass = (uids: Set<string>, uid: string, sub: Item): void => {
    if (uids.has(uid)) fail(sub.offset, `${sub.where}: a second one for SOP class ${uid}, where one per SOP class is allowed (PS3.7 D.3.3)`, AbortReason.UnexpectedPduParameter);
    uids.add(uid);
  };
  for (const sub of splitItems(b, item.start, parent)) {
    const length = sub.end - sub.start;
    switch (sub.type) {
      case ItemType.MaximumLength:
        // PS3.8 Table D.1-1: a 4-byte maximum length received; 0 means no maximum.
        once(seen, sub, parent.name);
        if (length !== 4) fail(sub.offset, `${sub.where}: length ${length}, but this sub-item is always 4 bytes (PS3.8 Table D.1-1)`);
        info.maxLength = b.u32(sub.start);
        break;
      case ItemType.ImplementationClassUid:
        // PS3.7 Table D.3-1.
        once(seen, sub, parent.name);
        info.implementationClassUid = readUid(b, sub.start, sub.end, sub.where, 'implementation class UID');
        break;
      case ItemType.AsynchronousOperationsWindow:
        // PS3.7 Table D.3-7: maximum operations invoked (2), performed (2).
        once(seen, sub, parent.name);
        if (length !== 4) fail(sub.offset, `${sub.where}: length ${length}, but this sub-item is always 4 bytes (PS3.7 Table D.3-7)`);
        info.asynchronousOperationsWindow = { maxOperationsInvoked: b.u16(sub.start), maxOperationsPerformed: b.u16(sub.start + 2) };
        break;
      case ItemType.RoleSelection: {
        const role = readRoleSelection(b, sub);
        oncePerSopClass(roleUids, role.sopClassUid, sub);
        info.roleSelections.push(role);
        break;
      }
      case ItemType.ImplementationVersionName:
        // PS3.7 Table D.3-3: "1 to 16 ISO 646 characters". Kept as sent (latin1), it is
        // only ever logged; an empty one is a zero-length item where a value is required.
        once(seen, sub, parent.name);
        if (length === 0) fail(sub.offset, `${sub.where}: length 0, but the implementation version name has 1 to 16 characters (PS3.7 Table D.3-3)`);
        info.implementationVersionName = b.latin1(sub.start, sub.end);
        break;
      case ItemType.SopClassExtendedNegotiation: {
        const negotiation = readExtendedNegotiation(b, sub);
        oncePerSopClass(extendedUids, negotiation.sopClassUid, sub);
        info.extendedNegotiations.push(negotiation);
        break;
      }
      case ItemType.SopClassCommonExtendedNegotiation: {
        const negotiation = readCommonExtendedNegotiation(b, sub);
        oncePerSopClass(commonUids, negotiation.sopClassUid, sub);
        info.commonExtendedNegotiations.push(negotiation);
        break;
      }
      case ItemType.UserIdentityRequest:
        // PS3.7 D.3.3.7.1: the requestor's identity, in an A-ASSOCIATE-RQ only.
        if (!isRequest) unexpected(sub, parent.name);
        once(seen, sub, parent.name);
        info.userIdentity = readUserIdentity(b, sub);
        break;
      case ItemType.UserIdentityAccept: {
        // PS3.7 D.3.3.7.2 (Table D.3-15): the acceptor's response, in an A-ASSOCIATE-AC only.
        if (isRequest) unexpected(sub, parent.name);
        once(seen, sub, parent.name);
        const fields = new FieldCursor(b, sub);
        const response = fields.lengthPrefixed('server response');
        fields.end();
        info.userIdentityServerResponse = b.copy(response.start, response.end);
        break;
      }
      default:
        // PS3.8 D.2 note 2: acceptors "are required to ignore such unrecognized user
        // information Sub-Items and not reject an Association because of their presence".
        // Kept, so that they can be relayed to the PACS.
        info.unknownSubItems.push({ itemType: sub.type, data: b.copy(sub.start, sub.end) });
    }
  }
  return info;
}

/** PS3.7 Table D.3-9: UID length (2), SOP class UID, SCU role (1), SCP role (1). */
function readRoleSelection(b: PduBytes, sub: Item): RoleSelection {
  const fields = new FieldCursor(b, sub);
  const uid = fields.lengthPrefixed('SOP class UID');
  const sopClassUid = readUid(b, uid.start, uid.end, sub.where, 'SOP class UID');
  const scuRole = fields.u8('SCU role');
  const scpRole = fields.u8('SCP role');
  fields.end();
  return { sopClassUid, scuRole, scpRole };
}

/** PS3.7 Table D.3-11: SOP class UID length (2), UID, service-class-application-information (the rest). */
function readExtendedNegotiation(b: PduBytes, sub: Item): SopClassExtendedNegotiation {
  const fields = new FieldCursor(b, sub);
  const uid = fields.lengthPrefixed('SOP class UID');
  const sopClassUid = readUid(b, uid.start, uid.end, sub.where, 'SOP class UID');
  return { sopClassUid, applicationInformation: b.copy(fields.at, sub.end) };
}

/**
 * PS3.7 Table D.3-12: SOP class UID (length-prefixed), service class UID
 * (length-prefixed), related general SOP class identification (length-prefixed), which
 * holds length-prefixed UIDs (Table D.3-13).
 */
function readCommonExtendedNegotiation(b: PduBytes, sub: Item): SopClassCommonExtendedNegotiation {
  // Byte 2 is the sub-item version (00H), not a length: not tested.
  const fields = new FieldCursor(b, sub);
  const sop = fields.lengthPrefixed('SOP class UID');
  const sopClassUid = readUid(b, sop.start, sop.end, sub.where, 'SOP class UID');
  const service = fields.lengthPrefixed('service class UID');
  const serviceClassUid = readUid(b, service.start, service.end, sub.where, 'service class UID');
  const related = fields.lengthPrefixed('related general SOP class identification');
  fields.end();
  const relatedGeneralSopClassUids: string[] = [];
  const list = new FieldCursor(b, { ...sub, start: related.start, end: related.end, where: `related general SOP class identification of the ${sub.where}` });
  while (list.at < related.end) {
    const uid = list.lengthPrefixed('related general SOP class UID');
    relatedGeneralSopClassUids.push(readUid(b, uid.start, uid.end, sub.where, 'related general SOP class UID'));
  }
  return { sopClassUid, serviceClassUid, relatedGeneralSopClassUids };
}

/**
 * PS3.7 Table D.3-14: user identity type (1), positive response requested (1), primary
 * field length (2), primary field, secondary field length (2), secondary field. Only the
 * structure is checked here; what the type and fields mean is the identity module's call.
 */
function readUserIdentity(b: PduBytes, sub: Item): UserIdentityRequest {
  const fields = new FieldCursor(b, sub);
  const identityType = fields.u8('user identity type');
  const responseAt = fields.at;
  const positiveResponse = fields.u8('positive response requested field');
  // "1 - positive response requested; 0 - no response requested": anything else is
  // ambiguous about whether the requestor will wait for a 0x59 (DCMTK -rsp aborts without one).
  if (positiveResponse > 1) fail(sub.offset, `${sub.where}: positive response requested is ${positiveResponse} (at offset ${responseAt}); it is 0 or 1 (PS3.7 Table D.3-14)`);
  const primary = fields.lengthPrefixed('primary field');
  const secondary = fields.lengthPrefixed('secondary field');
  fields.end();
  return {
    identityType,
    positiveResponseRequested: positiveResponse === 1,
    primaryField: b.copy(primary.start, primary.end),
    secondaryField: b.copy(secondary.start, secondary.end),
  };
}

// ---------------------------------------------------------------------------------------
// The other PDUs.

/**
 * PS3.8 Table 9-21: reserved, result, source, reason/diag. The values are kept as sent,
 * not checked: a reject ends the association whatever it says, and refusing to decode
 * it would only lose the reason from the log.
 */
function readAssociateReject(b: PduBytes): AssociateReject {
  return { type: PduType.AssociateReject, result: b.u8(7), source: b.u8(8), reason: b.u8(9) };
}

/** PS3.8 Table 9-26: reserved, reserved, source, reason/diag; kept as sent, like the reject. */
function readAbort(b: PduBytes): Abort {
  return { type: PduType.Abort, source: b.u8(8), reason: b.u8(9) };
}

/** PS3.8 9.3.5 (Tables 9-22, 9-23): one or more PDV items, each: length (4), context ID (1), value. */
function readDataTransfer(b: PduBytes): DataTransfer {
  const values: PresentationDataValue[] = [];
  let at = PDU_HEADER_LENGTH;
  while (at < b.length) {
    const where = `presentation data value item at offset ${at}`;
    if (b.length - at < 4) fail(at, `${where}: the 4-byte item length is cut off by the end of the P-DATA-TF (offset ${b.length})`);
    const length = b.u32(at);
    // The item length counts the context ID and the message control header, so at least 2.
    if (length < 2) fail(at, `${where}: length ${length} is less than 2 (context ID and message control header)`);
    if (length > b.length - at - 4) fail(at, `${where}: length ${length} overruns the P-DATA-TF (ends at offset ${b.length})`);
    const presentationContextId = b.u8(at + 4);
    if (presentationContextId % 2 === 0) fail(at, `${where}: presentation context ID ${presentationContextId} is even; IDs are odd numbers from 1 to 255 (PS3.8 Table 9-23)`);
    // Annex E.2: bit 0 command/data set, bit 1 last fragment; "Bits 2 through 7 are
    // always set to 0 by the sender and never checked by the receiver."
    const control = b.u8(at + 5);
    values.push({
      presentationContextId,
      isCommand: (control & 0x01) !== 0,
      isLast: (control & 0x02) !== 0,
      data: b.copy(at + 6, at + 4 + length),
    });
    at += 4 + length;
  }
  return { type: PduType.DataTransfer, values };
}
