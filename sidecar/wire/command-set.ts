// Reading a DIMSE command set (PS3.7 section 6.3 and Annex E): the few elements the
// relay needs to hold a message to its presentation context. The command set is always
// encoded Implicit VR Little Endian whatever the context's transfer syntax (PS3.7 6.3.1):
// tag group (2), tag element (2), value length (4), value. It holds group 0000 only, and
// it is small (a C-FIND-RQ's is under 200 bytes), so it is read whole, once its last
// fragment is in (PS3.8 Annex E.2).

import { Buffer } from 'node:buffer';
import { PduError } from './errors.ts';
import { AbortReason } from './pdu.ts';

/** What the relay checks of a command (PS3.7 Annex E, Table E.1-1). */
export interface CommandSet {
  /** (0000,0100) Command Field. */
  commandField: number;
  /** (0000,0002) Affected SOP Class UID (C-* requests, N-CREATE, N-EVENT-REPORT). */
  affectedSopClassUid?: string;
  /** (0000,0003) Requested SOP Class UID (N-GET, N-SET, N-ACTION, N-DELETE). */
  requestedSopClassUid?: string;
  /** (0000,0600) Move Destination (C-MOVE-RQ), trailing spaces removed. */
  moveDestination?: string;
  /** (0000,0800) Command Data Set Type: 0x0101 means no data set follows (PS3.7 E.1). */
  hasDataSet: boolean;
  /** (0000,0900) Status, in responses (PS3.7 Annex C). */
  status?: number;
}

/** Command Data Set Type value for "no data set" (PS3.7 Table E.1-1). */
export const NO_DATA_SET = 0x0101;

const TAG_AFFECTED_SOP_CLASS_UID = 0x0002;
const TAG_REQUESTED_SOP_CLASS_UID = 0x0003;
const TAG_COMMAND_FIELD = 0x0100;
const TAG_MOVE_DESTINATION = 0x0600;
const TAG_COMMAND_DATA_SET_TYPE = 0x0800;
const TAG_STATUS = 0x0900;
/** Longest UID, PS3.5 9.1. */
const MAX_UID_LENGTH = 64;

const ELEMENT_HEADER_LENGTH = 8;

/**
 * Decodes the command set `bytes` (all fragments joined). Throws `PduError` (offset from
 * the command set's first byte; A-ABORT reason invalid-PDU-parameter-value) when it is
 * not a command set the relay can vouch for: an element cut off, a group other than
 * 0000, an undefined length, a missing or malformed Command Field.
 */
export function readCommandSet(bytes: Uint8Array): CommandSet {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (offset: number, problem: string): never => {
    throw new PduError(`command set, offset ${offset}: ${problem}`, offset, AbortReason.InvalidPduParameterValue);
  };
  let commandField: number | undefined;
  let dataSetType: number | undefined;
  const result: Partial<CommandSet> = {};
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < ELEMENT_HEADER_LENGTH) fail(at, `an element header needs 8 bytes, ${bytes.length - at} are left`);
    const group = view.getUint16(at, true);
    const element = view.getUint16(at + 2, true);
    const length = view.getUint32(at + 4, true);
    // PS3.7 6.3.1: "The Command Set ... consists of Command Elements" of group 0000; an
    // undefined length (FFFFFFFFH) has no place in it.
    if (group !== 0x0000) fail(at, `element ${tagText(group, element)} is not a command element (group 0000)`);
    if (length > bytes.length - at - ELEMENT_HEADER_LENGTH) fail(at, `element ${tagText(group, element)} length ${length} overruns the command set (${bytes.length} bytes)`);
    const value = bytes.subarray(at + ELEMENT_HEADER_LENGTH, at + ELEMENT_HEADER_LENGTH + length);
    switch (element) {
      case TAG_COMMAND_FIELD:
        if (length !== 2) fail(at, `Command Field ${tagText(group, element)} has length ${length}; it is US, 2 bytes`);
        commandField = view.getUint16(at + ELEMENT_HEADER_LENGTH, true);
        break;
      case TAG_COMMAND_DATA_SET_TYPE:
        if (length !== 2) fail(at, `Command Data Set Type ${tagText(group, element)} has length ${length}; it is US, 2 bytes`);
        dataSetType = view.getUint16(at + ELEMENT_HEADER_LENGTH, true);
        break;
      case TAG_STATUS:
        if (length !== 2) fail(at, `Status ${tagText(group, element)} has length ${length}; it is US, 2 bytes`);
        result.status = view.getUint16(at + ELEMENT_HEADER_LENGTH, true);
        break;
      case TAG_AFFECTED_SOP_CLASS_UID:
        result.affectedSopClassUid = uid(value, at, element, fail);
        break;
      case TAG_REQUESTED_SOP_CLASS_UID:
        result.requestedSopClassUid = uid(value, at, element, fail);
        break;
      case TAG_MOVE_DESTINATION:
        // VR AE: 16 bytes at most, padded with spaces (PS3.5 6.2).
        if (length > 16) fail(at, `Move Destination ${tagText(group, element)} has length ${length}; an AE title has at most 16 bytes`);
        result.moveDestination = Buffer.from(value).toString('latin1').trim();
        break;
    }
    at += ELEMENT_HEADER_LENGTH + length;
  }
  if (commandField === undefined) fail(0, 'no Command Field (0000,0100)');
  if (dataSetType === undefined) fail(0, 'no Command Data Set Type (0000,0800)');
  return { ...result, commandField: commandField!, hasDataSet: dataSetType !== NO_DATA_SET };
}

function uid(value: Uint8Array, at: number, element: number, fail: (offset: number, problem: string) => never): string {
  // PS3.5 9.1: a UID is padded to even length with a single trailing NUL.
  const end = value.length > 0 && value[value.length - 1] === 0 ? value.length - 1 : value.length;
  const text = Buffer.from(value.subarray(0, end)).toString('latin1');
  if (text.length === 0 || text.length > MAX_UID_LENGTH || !/^[0-9.]+$/.test(text)) {
    fail(at, `${tagText(0x0000, element)} is not a UID (${JSON.stringify(text.slice(0, MAX_UID_LENGTH))})`);
  }
  return text;
}

/** `(0000,0100)`: built only for a refusal, as this reader runs on every command. */
function tagText(group: number, element: number): string {
  return `(${hex4(group)},${hex4(element)})`;
}

function hex4(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}

/** Writes a command set (for tests and the benchmark's clients): elements in the order given, group length first. */
export function writeCommandSet(elements: readonly { tag: number; value: Uint8Array }[]): Uint8Array {
  const body = elements.flatMap(({ tag, value }) => [element(tag, value)]);
  const length = body.reduce((sum, part) => sum + part.length, 0);
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, length, true);
  return Buffer.concat([element(0x0000, groupLength), ...body]);
}

function element(tag: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(ELEMENT_HEADER_LENGTH + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x0000, true);
  view.setUint16(2, tag, true);
  view.setUint32(4, value.length, true);
  out.set(value, ELEMENT_HEADER_LENGTH);
  return out;
}
