// Reader tests. Bytes are built by hand from the standard's tables (pdu.fixtures.ts and
// below), not by the writer, so that a shared misunderstanding cannot pass unnoticed.
// The "class N" tests are the malformed-input classes of dicom-wire.md that concern a codec.

import { Buffer } from 'node:buffer';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { PduError } from './errors.ts';
import { AbortReason, PduType } from './pdu.ts';
import type { AssociateAccept, AssociateRequest, DataTransfer, Pdu } from './pdu.ts';
import { readPdu, readPduHeader } from './reader.ts';
import { writePdu } from './writer.ts';
import * as arbitrary from './pdu.arbitrary.ts';
import {
  CT_IMAGE_STORAGE,
  IMPLICIT_VR_LITTLE_ENDIAN,
  associateFixedFields,
  item,
  lengthPrefixed,
  pdu,
  sampleAccept,
  sampleAcceptBytes,
  sampleRequest,
  sampleRequestBytes,
  text,
  u16,
  u32,
} from './pdu.fixtures.ts';
import type { Bytes } from './pdu.fixtures.ts';

const MAX = 1 << 20;

function fail(message: string): never {
  assert.unreachable(message);
  throw new Error(message);
}

function read(bytes: Uint8Array, max = MAX): Pdu {
  const result = readPdu(bytes, max);
  if (result === undefined) return fail('expected a complete PDU');
  assert.is(result.length, bytes.length);
  return result.pdu;
}

function rejects(bytes: Uint8Array, expected: { reason: number; offset?: number; message: RegExp }, max = MAX): PduError {
  try {
    readPdu(bytes, max);
  } catch (error) {
    if (!(error instanceof PduError)) throw error;
    assert.match(error.message, expected.message);
    assert.is(error.abortReason, expected.reason, `abort reason for: ${error.message}`);
    if (expected.offset !== undefined) assert.is(error.offset, expected.offset, `offset for: ${error.message}`);
    return error;
  }
  return fail(`expected a PduError matching ${expected.message}`);
}

const APPLICATION_CONTEXT = item(0x10, text('1.2.840.10008.3.1.1.1'));
const CT_CONTEXT = item(0x20, [0x01, 0, 0, 0], item(0x30, text(CT_IMAGE_STORAGE)), item(0x40, text(IMPLICIT_VR_LITTLE_ENDIAN)));
const USER_INFORMATION = item(0x50, item(0x51, u32(16384)));

/** An A-ASSOCIATE-RQ with these variable items (Table 9-11); the first starts at offset 74. */
function request(...items: Bytes[]): Uint8Array {
  return pdu(0x01, associateFixedFields('PACS', 'CT_SCANNER_1'), ...items);
}

/** An A-ASSOCIATE-AC with these variable items (Table 9-17). */
function accept(...items: Bytes[]): Uint8Array {
  return pdu(0x02, associateFixedFields('PACS', 'CT_SCANNER_1'), ...items);
}

/** A request with the usual context and these sub-items in its user information item (offset 124). */
function requestWithUserInformation(...subItems: Bytes[]): Uint8Array {
  return request(APPLICATION_CONTEXT, CT_CONTEXT, item(0x50, ...subItems));
}
const USER_SUB_ITEMS_OFFSET = 74 + APPLICATION_CONTEXT.length + CT_CONTEXT.length + 4;

function readRequest(bytes: Uint8Array): AssociateRequest {
  const decoded = read(bytes);
  if (decoded.type !== PduType.AssociateRequest) return fail('expected an A-ASSOCIATE-RQ');
  return decoded;
}

function readAccept(bytes: Uint8Array): AssociateAccept {
  const decoded = read(bytes);
  if (decoded.type !== PduType.AssociateAccept) return fail('expected an A-ASSOCIATE-AC');
  return decoded;
}

// ---------------------------------------------------------------------------------------
const layout = suite('reader: PDUs laid out as in PS3.8 9.3');

layout('A-ASSOCIATE-RQ (Table 9-11) decodes field by field', () => {
  assert.equal(read(sampleRequestBytes), sampleRequest);
});

layout('A-ASSOCIATE-AC (Table 9-17): a refused context may carry an empty transfer syntax', () => {
  assert.equal(read(sampleAcceptBytes), sampleAccept);
});

layout('A-ASSOCIATE-RJ (Table 9-21): reserved, result, source, reason', () => {
  const bytes = pdu(0x03, [0x00, 0x01, 0x01, 0x07]); // rejected-permanent, service user, called AE not recognized
  assert.equal(read(bytes), { type: PduType.AssociateReject, result: 1, source: 1, reason: 7 });
});

layout('P-DATA-TF (Tables 9-22, 9-23, Annex E.2): PDV items with context ID and control header', () => {
  const bytes = pdu(
    0x04,
    [...u32(2 + 3), 0x01, 0x03, 0xaa, 0xbb, 0xcc], // context 1, command + last fragment
    [...u32(2 + 1), 0x03, 0x00, 0xdd], // context 3, data set, not last
    [...u32(2), 0x05, 0x02], // context 5, last data set fragment, empty
  );
  const expected: DataTransfer = {
    type: PduType.DataTransfer,
    values: [
      { presentationContextId: 1, isCommand: true, isLast: true, data: Uint8Array.from([0xaa, 0xbb, 0xcc]) },
      { presentationContextId: 3, isCommand: false, isLast: false, data: Uint8Array.from([0xdd]) },
      { presentationContextId: 5, isCommand: false, isLast: true, data: new Uint8Array(0) },
    ],
  };
  assert.equal(read(bytes), expected);
});

layout('A-RELEASE-RQ and A-RELEASE-RP (Tables 9-24, 9-25)', () => {
  assert.equal(read(pdu(0x05, [0, 0, 0, 0])), { type: PduType.ReleaseRequest });
  assert.equal(read(pdu(0x06, [0, 0, 0, 0])), { type: PduType.ReleaseResponse });
});

layout('A-ABORT (Table 9-26): reserved, reserved, source, reason', () => {
  assert.equal(read(pdu(0x07, [0x00, 0x00, 0x02, 0x06])), { type: PduType.Abort, source: 2, reason: 6 });
});

layout('reserved fields are "not tested to this value when received"', () => {
  const bytes = Uint8Array.from(sampleRequestBytes);
  bytes[1] = 0xff; // PDU header reserved byte
  bytes[8] = 0xff; // bytes 9-10
  bytes[9] = 0xff;
  bytes.fill(0xee, 42, 74); // bytes 43-74
  bytes[75] = 0x99; // reserved byte of the application context item
  assert.equal(read(bytes), sampleRequest);
  assert.equal(read(pdu(0x05, [1, 2, 3, 4])), { type: PduType.ReleaseRequest });
  assert.equal(read(pdu(0x07, [0xff, 0xff, 0x00, 0x00])), { type: PduType.Abort, source: 0, reason: 0 });
});

layout('PS3.8 9.3.1: items of unrecognized types are ignored and skipped', () => {
  const strange = item(0x7f, text('whatever'));
  const decoded = readRequest(
    request(strange, APPLICATION_CONTEXT, item(0x20, [0x01, 0, 0, 0], item(0x30, text(CT_IMAGE_STORAGE)), strange, item(0x40, text(IMPLICIT_VR_LITTLE_ENDIAN))), USER_INFORMATION, strange),
  );
  assert.equal(decoded.presentationContexts, [{ id: 1, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] }]);
  assert.is(decoded.userInformation.maxLength, 16384);
});

layout('user information sub-items may come in any order (PS3.8 9.3.2.3 note)', () => {
  const decoded = readRequest(requestWithUserInformation(item(0x55, text('X')), item(0x52, text('1.2.3')), item(0x51, u32(100))));
  assert.equal(decoded.userInformation, {
    maxLength: 100,
    implementationClassUid: '1.2.3',
    implementationVersionName: 'X',
    roleSelections: [],
    extendedNegotiations: [],
    commonExtendedNegotiations: [],
    unknownSubItems: [],
  });
});

layout('every user information sub-item of PS3.7 D.3.3 decodes', () => {
  const decoded = readRequest(
    requestWithUserInformation(
      item(0x53, u16(5), u16(1)), // Table D.3-7: asynchronous operations window
      item(0x54, lengthPrefixed(text('1.2.840.10008.5.1.4.1.2.2.3')), [0x00, 0x01]), // Table D.3-9: SCU role 0, SCP role 1
      item(0x56, lengthPrefixed(text('1.2.840.10008.5.1.4.1.2.2.1')), [0x01, 0x01]), // Table D.3-11: application information
      item(
        0x57, // Tables D.3-12 and D.3-13
        lengthPrefixed(text('1.2.840.10008.5.1.4.1.1.88.11')),
        lengthPrefixed(text('1.2.840.10008.4.2')),
        lengthPrefixed([...lengthPrefixed(text('1.2.840.10008.5.1.4.1.1.88.22')), ...lengthPrefixed(text('1.2.840.10008.5.1.4.1.1.88.33'))]),
      ),
      item(0x58, [0x05, 0x00], lengthPrefixed(text('eyJhbGciOi')), lengthPrefixed([])), // Table D.3-14: JWT, no response
    ),
  );
  assert.equal(decoded.userInformation, {
    asynchronousOperationsWindow: { maxOperationsInvoked: 5, maxOperationsPerformed: 1 },
    roleSelections: [{ sopClassUid: '1.2.840.10008.5.1.4.1.2.2.3', scuRole: 0, scpRole: 1 }],
    extendedNegotiations: [{ sopClassUid: '1.2.840.10008.5.1.4.1.2.2.1', applicationInformation: Uint8Array.from([1, 1]) }],
    commonExtendedNegotiations: [
      {
        sopClassUid: '1.2.840.10008.5.1.4.1.1.88.11',
        serviceClassUid: '1.2.840.10008.4.2',
        relatedGeneralSopClassUids: ['1.2.840.10008.5.1.4.1.1.88.22', '1.2.840.10008.5.1.4.1.1.88.33'],
      },
    ],
    userIdentity: { identityType: 5, positiveResponseRequested: false, primaryField: Uint8Array.from(text('eyJhbGciOi')), secondaryField: new Uint8Array(0) },
    unknownSubItems: [],
  });
});

layout('a missing user information item reads as an empty one', () => {
  const decoded = readRequest(request(APPLICATION_CONTEXT, CT_CONTEXT));
  assert.equal(decoded.userInformation, { roleSelections: [], extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] });
});

layout('the protocol version is kept as sent: refusing it is a reject decision, not a decoding error', () => {
  const decoded = readRequest(pdu(0x01, associateFixedFields('PACS', 'CT', 0xfffe), APPLICATION_CONTEXT, CT_CONTEXT, USER_INFORMATION));
  assert.is(decoded.protocolVersion, 0xfffe);
});

layout('readPduHeader: type and length once 6 bytes are there', () => {
  assert.is(readPduHeader(new Uint8Array(0)), undefined);
  assert.is(readPduHeader(Uint8Array.from([0x04, 0, 0, 0, 0x40])), undefined);
  assert.equal(readPduHeader(Uint8Array.from([0x04, 0, 0x00, 0x01, 0x00, 0x0c, 0xaa])), { type: PduType.DataTransfer, length: 65548 });
});

layout('a PDU followed by the next one: the length says where the first ends', () => {
  const release = pdu(0x05, [0, 0, 0, 0]);
  const both = Uint8Array.from([...sampleRequestBytes, ...release]);
  const first = readPdu(both, MAX);
  assert.is(first?.length, sampleRequestBytes.length);
  assert.equal(readPdu(both.subarray(first?.length), MAX), { pdu: { type: PduType.ReleaseRequest }, length: 10 });
});

layout('decoded bytes are copies: reusing the input buffer does not change them', () => {
  const bytes = pdu(0x04, [...u32(4), 0x01, 0x02, 0x11, 0x22]);
  const decoded = read(bytes) as DataTransfer;
  bytes.fill(0);
  assert.equal(decoded.values[0]?.data, Uint8Array.from([0x11, 0x22]));
});

layout('a pooled Buffer from a socket (non-zero byteOffset) decodes like a Uint8Array', () => {
  const pooled = Buffer.from(Uint8Array.from([0xee, ...pdu(0x04, [...u32(3), 0x01, 0x00, 0x42])])).subarray(1);
  assert.ok(pooled.byteOffset > 0);
  const decoded = read(pooled) as DataTransfer;
  assert.equal(decoded.values[0]?.data, Uint8Array.from([0x42]));
  assert.is(decoded.values[0]?.data.constructor, Uint8Array, 'a plain copy, not a view of the pool');
  assert.equal(read(Buffer.from(sampleRequestBytes)), sampleRequest);
});

// ---------------------------------------------------------------------------------------
const malformed = suite('reader: malformed input (dicom-wire.md classes)');

malformed('class 1: PDU length 0xFFFFFFFF throws as soon as the 6 header bytes are there', () => {
  const header = Uint8Array.from([0x01, 0x00, 0xff, 0xff, 0xff, 0xff]);
  assert.is(readPdu(header.subarray(0, 5), MAX), undefined);
  rejects(header, { reason: AbortReason.InvalidPduParameterValue, offset: 0, message: /^A-ASSOCIATE-RQ at offset 0: PDU length 4294967295 exceeds the limit of 1048576 bytes/ });
  assert.throws(() => readPdu(header, Number.NaN), (error: unknown) => error instanceof RangeError, 'a NaN cap is a caller bug, not "no limit"');
});

malformed('class 1: a P-DATA-TF over the configured cap throws before its body arrives', () => {
  rejects(Uint8Array.from([0x04, 0x00, ...u32(16385)]), { reason: AbortReason.InvalidPduParameterValue, message: /P-DATA-TF at offset 0: PDU length 16385 exceeds the limit of 16384 bytes/ }, 16384);
  assert.is(readPdu(Uint8Array.from([0x04, 0x00, ...u32(16384)]), 16384), undefined); // at the cap: wait for the body
});

malformed('class 2: a truncated header or body is "not enough yet", never an error', () => {
  for (let end = 0; end < sampleRequestBytes.length; end++) assert.is(readPdu(sampleRequestBytes.subarray(0, end), MAX), undefined, `prefix of ${end} bytes`);
  assert.equal(readPdu(sampleRequestBytes, MAX)?.pdu, sampleRequest);
});

malformed('class 3: an item overrunning the PDU names the item, its offset and where the PDU ends', () => {
  const bytes = request([0x20, 0x00, ...u16(900), 0x01, 0x00, 0x00, 0x00], APPLICATION_CONTEXT);
  const error = rejects(bytes, { reason: AbortReason.InvalidPduParameterValue, offset: 74, message: /overruns/ });
  assert.is(error.message, `presentation context item at offset 74: length 900 overruns the A-ASSOCIATE-RQ (ends at offset ${bytes.length})`);
});

malformed('class 3: a sub-item overrunning its item', () => {
  const context = [0x20, 0x00, ...u16(4 + 4 + 5), 0x01, 0, 0, 0, 0x30, 0x00, ...u16(200), ...text('1.2.3')];
  rejects(request(APPLICATION_CONTEXT, context, USER_INFORMATION), {
    reason: AbortReason.InvalidPduParameterValue,
    offset: 74 + 25 + 8,
    message: /^abstract syntax sub-item at offset 107: length 200 overruns the presentation context item at offset 99 \(ends at offset 116\)/,
  });
  const info = [0x50, 0x00, ...u16(8), 0x51, 0x00, ...u16(40), 0, 0, 0x40, 0];
  rejects(request(APPLICATION_CONTEXT, CT_CONTEXT, info), { reason: AbortReason.InvalidPduParameterValue, message: /^maximum length sub-item at offset \d+: length 40 overruns the user information item/ });
});

malformed('class 3: an item header cut off by the end of the PDU', () => {
  rejects(request(APPLICATION_CONTEXT, CT_CONTEXT, USER_INFORMATION, [0x50, 0x00, 0x00]), {
    reason: AbortReason.InvalidPduParameterValue,
    message: /^user information item at offset \d+: the item header needs 4 bytes, but the A-ASSOCIATE-RQ ends at offset \d+/,
  });
});

malformed('class 3: PDV items whose length overruns the P-DATA-TF or is below 2', () => {
  rejects(pdu(0x04, [...u32(100), 0x01, 0x03, 0xaa]), { reason: AbortReason.InvalidPduParameterValue, offset: 6, message: /^presentation data value item at offset 6: length 100 overruns the P-DATA-TF \(ends at offset 13\)/ });
  rejects(pdu(0x04, [...u32(1), 0x01, 0x03]), { reason: AbortReason.InvalidPduParameterValue, message: /length 1 is less than 2/ });
  rejects(pdu(0x04, [...u32(2), 0x01, 0x03, 0x00, 0x00]), { reason: AbortReason.InvalidPduParameterValue, offset: 12, message: /item at offset 12: the 4-byte item length is cut off/ });
  rejects(pdu(0x04, [...u32(2), 0x02, 0x03]), { reason: AbortReason.InvalidPduParameterValue, message: /presentation context ID 2 is even/ });
});

malformed('class 3: zero-length items where a value is required', () => {
  const cases: [Uint8Array, RegExp][] = [
    [request(item(0x10), CT_CONTEXT), /^application context item at offset 74: the application context name is empty/],
    [request(APPLICATION_CONTEXT, item(0x20)), /^presentation context item at offset 99: length 0 is too short/],
    [request(APPLICATION_CONTEXT, item(0x20, [1, 0, 0, 0], item(0x30), item(0x40, text('1.2')))), /^abstract syntax sub-item at offset 107: the abstract syntax name is empty/],
    [request(APPLICATION_CONTEXT, item(0x20, [1, 0, 0, 0], item(0x30, text('1.2')), item(0x40))), /^transfer syntax sub-item at offset 114: the transfer syntax name is empty/],
    [requestWithUserInformation(item(0x51)), /^maximum length sub-item at offset \d+: length 0, but this sub-item is always 4 bytes/],
    [requestWithUserInformation(item(0x52)), /^implementation class UID sub-item at offset \d+: the implementation class UID is empty/],
    [requestWithUserInformation(item(0x55)), /^implementation version name sub-item at offset \d+: length 0/],
    [requestWithUserInformation(item(0x58)), /^user identity sub-item at offset \d+: the user identity type at offset \d+ is cut off/],
    [accept(APPLICATION_CONTEXT, item(0x21)), /^presentation context item at offset 99: length 0 is too short/],
  ];
  for (const [bytes, message] of cases) rejects(bytes, { reason: AbortReason.InvalidPduParameterValue, message });
});

malformed('class 4: A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT with a length other than 4', () => {
  for (const [type, name] of [[0x03, 'A-ASSOCIATE-RJ'], [0x05, 'A-RELEASE-RQ'], [0x06, 'A-RELEASE-RP'], [0x07, 'A-ABORT']] as const) {
    for (const length of [0, 3, 5, 0xffffffff]) {
      // Only the header: the length is refused before any body is awaited.
      rejects(Uint8Array.from([type, 0x00, ...u32(length)]), { reason: AbortReason.InvalidPduParameterValue, offset: 0, message: new RegExp(`^${name} at offset 0: PDU length ${length} is wrong`) });
    }
  }
});

malformed('class 4: A-ASSOCIATE-RQ/AC too short for their fixed fields, P-DATA-TF too short for a PDV', () => {
  rejects(Uint8Array.from([0x01, 0x00, ...u32(67)]), { reason: AbortReason.InvalidPduParameterValue, message: /PDU length 67 is too short for the fixed fields \(68 bytes/ });
  rejects(Uint8Array.from([0x02, 0x00, ...u32(0)]), { reason: AbortReason.InvalidPduParameterValue, message: /^A-ASSOCIATE-AC at offset 0: PDU length 0/ });
  rejects(Uint8Array.from([0x04, 0x00, ...u32(5)]), { reason: AbortReason.InvalidPduParameterValue, message: /PDU length 5 cannot hold a presentation data value item/ });
});

malformed('class 5: unknown PDU types throw (A-ABORT reason 1) from their first byte, with a hint for TLS and HTTP', () => {
  for (const type of [0x00, 0x08, 0x10, 0x80, 0xff]) {
    rejects(Uint8Array.from([type]), { reason: AbortReason.UnrecognizedPdu, offset: 0, message: /is not a DICOM upper-layer PDU type \(0x01 to 0x07\)$/ });
  }
  rejects(Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), { reason: AbortReason.UnrecognizedPdu, message: /0x16 starts a TLS handshake/ });
  rejects(Uint8Array.from(text('GET / HTTP/1.1\r\n')), { reason: AbortReason.UnrecognizedPdu, message: /letter 'G'.*HTTP/ });
  assert.throws(() => readPduHeader(Uint8Array.from([0x16])), (error: unknown) => error instanceof PduError);
});

malformed('class 5: items of a known type in the wrong PDU are unexpected parameters (A-ABORT reason 5)', () => {
  const acContext = item(0x21, [0x01, 0, 0, 0], item(0x40, text('1.2')));
  rejects(request(APPLICATION_CONTEXT, acContext), { reason: AbortReason.UnexpectedPduParameter, offset: 99, message: /^presentation context item at offset 99: not expected in the A-ASSOCIATE-RQ/ });
  rejects(accept(APPLICATION_CONTEXT, CT_CONTEXT), { reason: AbortReason.UnexpectedPduParameter, message: /not expected in the A-ASSOCIATE-AC/ });
  rejects(request(APPLICATION_CONTEXT, CT_CONTEXT, item(0x51, u32(0))), { reason: AbortReason.UnexpectedPduParameter, message: /^maximum length sub-item at offset \d+: not expected in the A-ASSOCIATE-RQ/ });
  rejects(requestWithUserInformation(item(0x59, lengthPrefixed([]))), { reason: AbortReason.UnexpectedPduParameter, message: /^user identity server response sub-item .*not expected in the user information item/ });
  rejects(accept(APPLICATION_CONTEXT, acContext, item(0x50, item(0x58, [1, 0], lengthPrefixed(text('bob')), lengthPrefixed([])))), {
    reason: AbortReason.UnexpectedPduParameter,
    message: /^user identity sub-item .*not expected/,
  });
  rejects(accept(APPLICATION_CONTEXT, item(0x21, [0x01, 0, 0, 0], item(0x30, text('1.2')), item(0x40, text('1.2')))), { reason: AbortReason.UnexpectedPduParameter, message: /^abstract syntax sub-item .*not expected/ });
});

malformed('class 5: a second application context, user information or user identity is refused', () => {
  rejects(request(APPLICATION_CONTEXT, APPLICATION_CONTEXT, CT_CONTEXT), { reason: AbortReason.UnexpectedPduParameter, offset: 99, message: /^application context item at offset 99: a second one in the A-ASSOCIATE-RQ/ });
  rejects(request(APPLICATION_CONTEXT, CT_CONTEXT, USER_INFORMATION, USER_INFORMATION), { reason: AbortReason.UnexpectedPduParameter, message: /^user information item .*a second one/ });
  const identity = item(0x58, [0x01, 0x00], lengthPrefixed(text('alice')), lengthPrefixed([]));
  rejects(requestWithUserInformation(identity, item(0x58, [0x01, 0x00], lengthPrefixed(text('admin')), lengthPrefixed([]))), {
    reason: AbortReason.UnexpectedPduParameter,
    message: /^user identity sub-item at offset \d+: a second one in the user information item/,
  });
  rejects(requestWithUserInformation(item(0x51, u32(1)), item(0x51, u32(2))), { reason: AbortReason.UnexpectedPduParameter, message: /^maximum length sub-item .*a second one/ });
  const role = item(0x54, lengthPrefixed(text('1.2.3')), [1, 1]);
  rejects(requestWithUserInformation(role, role), { reason: AbortReason.UnexpectedPduParameter, message: /a second one for SOP class 1\.2\.3/ });
});

malformed('class 6: AE titles all spaces, with control characters or non-ASCII bytes decode without error', () => {
  const withTitles = (called: Bytes, calling: Bytes) => pdu(0x01, u16(1), [0, 0], called, calling, new Array<number>(32).fill(0), APPLICATION_CONTEXT, CT_CONTEXT);
  assert.is(readRequest(withTitles(text(' '.repeat(16)), text(' '.repeat(16)))).calledAETitle, '');
  const control = readRequest(withTitles([0x00, 0x07, 0x1b, 0x5b, 0x32, 0x4a, 0x0a, 0x0d, 0x5c, ...text('       ')], text('  CT\tONE'.padEnd(16))));
  assert.is(control.calledAETitle, '\x00\x07\x1b[2J\n\r\\');
  assert.is(control.callingAETitle, 'CT\tONE');
  const nonAscii = readRequest(withTitles([0xc3, 0xa9, 0xff, 0x80, ...text('            ')], text('SCANNER'.padEnd(16))));
  assert.is(nonAscii.calledAETitle, '\u00c3\u00a9\u00ff\u0080'); // latin1: one character a byte, raw bytes recoverable
  assert.is(nonAscii.callingAETitle, 'SCANNER');
});

malformed('class 7: UIDs with non-ASCII bytes, letters, embedded NUL or over 64 characters are refused', () => {
  const context = (uid: Bytes) => request(APPLICATION_CONTEXT, item(0x20, [1, 0, 0, 0], item(0x30, uid), item(0x40, text('1.2'))));
  rejects(context([...text('1.2.'), 0xc3, 0xa9]), { reason: AbortReason.InvalidPduParameterValue, offset: 115, message: /^abstract syntax sub-item at offset 107: the abstract syntax name "1\.2\.\\xc3\\xa9" has byte 0xc3 at offset 115; a UID holds only digits and dots/ });
  rejects(context(text('1.2.840.abc')), { reason: AbortReason.InvalidPduParameterValue, message: /has byte 0x61 at offset/ });
  rejects(context([...text('1.2'), 0x00, ...text('.3')]), { reason: AbortReason.InvalidPduParameterValue, message: /"1\.2\\x00\.3" has byte 0x00/ });
  rejects(context(text('1.' + '2'.repeat(63))), { reason: AbortReason.InvalidPduParameterValue, message: /is 65 characters long; a UID has at most 64 \(PS3\.8 Annex F\)/ });
  rejects(context([0x00]), { reason: AbortReason.InvalidPduParameterValue, message: /the abstract syntax name is empty/ });
  rejects(request(item(0x10, text('1.2.840.10008.3.1.1.1 x')), CT_CONTEXT), { reason: AbortReason.InvalidPduParameterValue, message: /^application context item at offset 74: .*has byte 0x20/ });
});

malformed('class 7: odd-length UIDs, a trailing NUL pad and exactly 64 characters are fine', () => {
  const context = (uid: Bytes) => readRequest(request(APPLICATION_CONTEXT, item(0x20, [1, 0, 0, 0], item(0x30, uid), item(0x40, text('1.2'))))).presentationContexts[0]?.abstractSyntax;
  assert.is(context(text('1.2.840.10008.1.1')), '1.2.840.10008.1.1'); // 17 characters
  assert.is(context([...text('1.2.840.10008.1.1'), 0x00]), '1.2.840.10008.1.1');
  assert.is(context(text('1.2.840.10008.1.1 ')), '1.2.840.10008.1.1');
  const longest = '1.' + '2'.repeat(62);
  assert.is(context([...text(longest), 0x00]), longest);
});

malformed('class 8: presentation contexts with even, zero or duplicate IDs', () => {
  const context = (id: number, abstract = CT_IMAGE_STORAGE) => item(0x20, [id, 0, 0, 0], item(0x30, text(abstract)), item(0x40, text(IMPLICIT_VR_LITTLE_ENDIAN)));
  rejects(request(APPLICATION_CONTEXT, context(2)), { reason: AbortReason.InvalidPduParameterValue, offset: 99, message: /^presentation context item at offset 99: ID 2 is even/ });
  rejects(request(APPLICATION_CONTEXT, context(0)), { reason: AbortReason.InvalidPduParameterValue, message: /ID 0 is even/ });
  const first = context(7);
  rejects(request(APPLICATION_CONTEXT, first, context(7, '1.2.3')), { reason: AbortReason.InvalidPduParameterValue, offset: 99 + first.length, message: /ID 7 is already used by the presentation context item at offset 99/ });
  const accepted = (id: number) => item(0x21, [id, 0, 0, 0], item(0x40, text('1.2')));
  rejects(accept(APPLICATION_CONTEXT, accepted(3), accepted(3)), { reason: AbortReason.InvalidPduParameterValue, message: /ID 3 is already used/ });
  rejects(accept(APPLICATION_CONTEXT, accepted(4)), { reason: AbortReason.InvalidPduParameterValue, message: /ID 4 is even/ });
});

malformed('class 8: presentation contexts without an abstract syntax, with two, or without a transfer syntax', () => {
  rejects(request(APPLICATION_CONTEXT, item(0x20, [5, 0, 0, 0], item(0x40, text('1.2')))), { reason: AbortReason.InvalidPduParameterValue, offset: 99, message: /^presentation context item at offset 99: no abstract syntax sub-item \(context ID 5/ });
  rejects(request(APPLICATION_CONTEXT, item(0x20, [5, 0, 0, 0], item(0x30, text('1.2')))), { reason: AbortReason.InvalidPduParameterValue, message: /no transfer syntax sub-item \(context ID 5/ });
  rejects(request(APPLICATION_CONTEXT, item(0x20, [5, 0, 0, 0], item(0x30, text('1.2')), item(0x30, text('1.3')), item(0x40, text('1.2')))), {
    reason: AbortReason.UnexpectedPduParameter,
    message: /^abstract syntax sub-item at offset \d+: a second abstract syntax/,
  });
  rejects(request(APPLICATION_CONTEXT, USER_INFORMATION), { reason: AbortReason.InvalidPduParameterValue, message: /^A-ASSOCIATE-RQ at offset 0: there is no presentation context item/ });
  rejects(request(CT_CONTEXT), { reason: AbortReason.InvalidPduParameterValue, message: /there is no application context item/ });
});

malformed('class 8: answers in an A-ASSOCIATE-AC: result out of range, acceptance without transfer syntax, two transfer syntaxes', () => {
  rejects(accept(APPLICATION_CONTEXT, item(0x21, [1, 0, 5, 0], item(0x40, text('1.2')))), { reason: AbortReason.InvalidPduParameterValue, message: /result 5 is not one of 0 \(acceptance\) to 4/ });
  rejects(accept(APPLICATION_CONTEXT, item(0x21, [1, 0, 0, 0])), { reason: AbortReason.InvalidPduParameterValue, message: /accepts context ID 1 but names no transfer syntax/ });
  rejects(accept(APPLICATION_CONTEXT, item(0x21, [1, 0, 0, 0], item(0x40))), { reason: AbortReason.InvalidPduParameterValue, message: /the transfer syntax name is empty/ });
  rejects(accept(APPLICATION_CONTEXT, item(0x21, [1, 0, 0, 0], item(0x40, text('1.2')), item(0x40, text('1.3')))), { reason: AbortReason.UnexpectedPduParameter, message: /a second transfer syntax/ });
  // A refused context's transfer syntax "shall not be tested": missing or garbage is fine.
  const refused = readAccept(accept(APPLICATION_CONTEXT, item(0x21, [1, 0, 4, 0]), item(0x21, [3, 0, 1, 0], item(0x40, [...text('n/a'), 0x00]))));
  assert.equal(refused.presentationContexts, [{ id: 1, result: 4, transferSyntax: '' }, { id: 3, result: 1, transferSyntax: 'n/a' }]);
});

malformed('class 9: maximum length 0 (no maximum) is valid', () => {
  assert.is(readRequest(requestWithUserInformation(item(0x51, u32(0)))).userInformation.maxLength, 0);
});

malformed('class 9: unknown user information sub-items are kept as raw bytes (PS3.8 D.2 note 2)', () => {
  const decoded = readRequest(requestWithUserInformation(item(0x51, u32(16384)), item(0x5a, [0xde, 0xad]), item(0xf0), item(0x5a, [0x01])));
  assert.equal(decoded.userInformation.unknownSubItems, [
    { itemType: 0x5a, data: Uint8Array.from([0xde, 0xad]) },
    { itemType: 0xf0, data: new Uint8Array(0) },
    { itemType: 0x5a, data: Uint8Array.from([0x01]) },
  ]);
});

malformed('class 9: user identity fields declaring 65535 bytes overrun the sub-item', () => {
  // A 16-bit item length cannot hold a 65535-byte field plus the other identity fields.
  const identityAt = USER_SUB_ITEMS_OFFSET;
  rejects(requestWithUserInformation(item(0x58, [0x01, 0x00], u16(65535), text('alice'), u16(0))), {
    reason: AbortReason.InvalidPduParameterValue,
    offset: identityAt,
    message: new RegExp(`^user identity sub-item at offset ${identityAt}: the primary field length 65535 \\(at offset ${identityAt + 6}\\) overruns the sub-item \\(ends at offset ${identityAt + 4 + 11}\\)`),
  });
  rejects(requestWithUserInformation(item(0x58, [0x02, 0x00], lengthPrefixed(text('alice')), u16(65535), text('pw'))), { reason: AbortReason.InvalidPduParameterValue, message: /the secondary field length 65535 .* overruns the sub-item/ });
  rejects(requestWithUserInformation(item(0x58, [0x02, 0x00], lengthPrefixed(text('alice')))), { reason: AbortReason.InvalidPduParameterValue, message: /the secondary field length at offset \d+ is cut off by the end of the sub-item/ });
  const server = (length: number) => accept(APPLICATION_CONTEXT, item(0x21, [1, 0, 0, 0], item(0x40, text('1.2'))), item(0x50, item(0x59, u16(length), text('ok'))));
  rejects(server(65535), { reason: AbortReason.InvalidPduParameterValue, message: /^user identity server response sub-item at offset \d+: the server response length 65535/ });
  assert.equal(readAccept(server(2)).userInformation.userIdentityServerResponse, Uint8Array.from(text('ok')));
});

malformed('class 9: the largest user identity that fits (primary field of 65525 bytes) decodes', () => {
  // The user information item has a 2-byte length too: 65535 - 4 (sub-item header)
  // - 6 (type, response flag, two field lengths) leaves 65525 bytes for the primary field.
  const primary = new Array<number>(65525).fill(0x61);
  const decoded = readRequest(requestWithUserInformation(item(0x58, [0x04, 0x01], lengthPrefixed(primary), lengthPrefixed([]))));
  assert.is(decoded.userInformation.userIdentity?.primaryField.length, 65525);
  assert.is(decoded.userInformation.userIdentity?.positiveResponseRequested, true);
});

malformed('class 9: user identity with bytes after its fields, or positive-response-requested other than 0/1', () => {
  rejects(requestWithUserInformation(item(0x58, [0x01, 0x00], lengthPrefixed(text('bob')), lengthPrefixed([]), [0x99])), { reason: AbortReason.InvalidPduParameterValue, message: /1 byte after the last field/ });
  rejects(requestWithUserInformation(item(0x58, [0x01, 0x02], lengthPrefixed(text('bob')), lengthPrefixed([]))), { reason: AbortReason.InvalidPduParameterValue, message: /positive response requested is 2/ });
});

malformed('class 9: role selection and extended negotiation fields that overrun their sub-item', () => {
  rejects(requestWithUserInformation(item(0x54, u16(30), text('1.2.3'), [1, 0])), { reason: AbortReason.InvalidPduParameterValue, message: /^SCP\/SCU role selection sub-item .*the SOP class UID length 30/ });
  rejects(requestWithUserInformation(item(0x54, lengthPrefixed(text('1.2.3')), [1])), { reason: AbortReason.InvalidPduParameterValue, message: /the SCP role at offset \d+ is cut off/ });
  rejects(requestWithUserInformation(item(0x56, u16(9), text('1.2'))), { reason: AbortReason.InvalidPduParameterValue, message: /^SOP class extended negotiation sub-item/ });
  rejects(requestWithUserInformation(item(0x57, lengthPrefixed(text('1.2')), lengthPrefixed(text('1.3')), lengthPrefixed([...u16(50), ...text('1.4')]))), {
    reason: AbortReason.InvalidPduParameterValue,
    message: /related general SOP class UID length 50/,
  });
  rejects(requestWithUserInformation(item(0x53, u16(1))), { reason: AbortReason.InvalidPduParameterValue, message: /^asynchronous operations window sub-item .*length 2, but this sub-item is always 4 bytes/ });
});

// ---------------------------------------------------------------------------------------
const properties = suite('reader: properties');

properties('input split at every boundary: "not enough" until complete, then the same PDU', () => {
  fc.assert(
    fc.property(arbitrary.pdu, (value) => {
      const bytes = writePdu(value);
      for (let end = 0; end < bytes.length; end++) {
        if (readPdu(bytes.subarray(0, end), MAX) !== undefined) return false;
      }
      assert.equal(readPdu(bytes, MAX), { pdu: value, length: bytes.length });
      return true;
    }),
    { numRuns: 150 },
  );
});

properties('what the standard says not to test does not change the PDU: reserved bytes, unknown items', () => {
  fc.assert(
    fc.property(
      fc.oneof(arbitrary.associateRequest, arbitrary.associateAccept),
      fc.uint8Array({ minLength: 35, maxLength: 35 }),
      fc.integer({ min: 0x60, max: 0xff }),
      fc.uint8Array({ maxLength: 20 }),
      (value, reserved, unknownType, unknownValue) => {
        const written = writePdu(value);
        // An unrecognized item appended after the user information item (PS3.8 9.3.1).
        const bytes = Uint8Array.from([...written, unknownType, 0x00, ...u16(unknownValue.length), ...unknownValue]);
        new DataView(bytes.buffer).setUint32(2, bytes.length - 6);
        bytes[1] = reserved[0] ?? 0;
        bytes[8] = reserved[1] ?? 0;
        bytes[9] = reserved[2] ?? 0;
        bytes.set(reserved.subarray(3), 42);
        assert.equal(readPdu(bytes, MAX)?.pdu, value);
      },
    ),
  );
});

/** One edit of a valid PDU's bytes. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
);

function mutate(bytes: Uint8Array, edits: { kind: 'set' | 'insert' | 'delete' | 'truncate'; at: number; value: number }[]): Uint8Array {
  const out = Array.from(bytes);
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : edit.at % out.length;
    if (edit.kind === 'set') out[at] = edit.value;
    else if (edit.kind === 'insert') out.splice(at, 0, edit.value);
    else if (edit.kind === 'delete') out.splice(at, 1);
    else out.length = at;
  }
  return Uint8Array.from(out);
}

properties('fuzz: mutated PDUs give "not enough", a PDU that survives a rewrite, or a PduError; nothing else', () => {
  let decoded = 0;
  let refused = 0;
  fc.assert(
    fc.property(arbitrary.pdu, fc.array(mutation, { minLength: 1, maxLength: 4 }), (value, edits) => {
      const bytes = mutate(writePdu(value), edits);
      let result;
      try {
        result = readPdu(bytes, 1 << 16);
      } catch (error) {
        if (!(error instanceof PduError)) throw error;
        assert.ok(error.message.length > 0 && Number.isInteger(error.offset));
        refused++;
        return;
      }
      if (result === undefined) return;
      decoded++;
      // As the dicom-rs fuzz target does: read, write, read again, same PDU.
      assert.equal(readPdu(writePdu(result.pdu), 1 << 17)?.pdu, result.pdu);
    }),
    { numRuns: 3000 },
  );
  assert.ok(decoded > 0 && refused > 0, `both outcomes exercised (${decoded} decoded, ${refused} refused)`);
});

layout.run();
malformed.run();
properties.run();
