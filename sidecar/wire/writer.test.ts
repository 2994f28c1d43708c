// Writer tests: the bytes must be the ones laid out by hand from the standard's tables
// (pdu.fixtures.ts), and whatever is written must read back as the same PDU.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { PduType } from './pdu.ts';
import type { AssociateAccept, AssociateRequest, Pdu } from './pdu.ts';
import { readPdu } from './reader.ts';
import { abort, associateReject, writePdu } from './writer.ts';
import * as arbitrary from './pdu.arbitrary.ts';
import { item, lengthPrefixed, pdu, sampleAccept, sampleAcceptBytes, sampleRequest, sampleRequestBytes, text, u32 } from './pdu.fixtures.ts';

const MAX = 1 << 20;

function readBack(bytes: Uint8Array): Pdu | undefined {
  return readPdu(bytes, MAX)?.pdu;
}

// ---------------------------------------------------------------------------------------
const layout = suite('writer: bytes as laid out in PS3.8 9.3');

layout('A-ASSOCIATE-RQ: the bytes of PS3.8 Table 9-11, items in ascending type order', () => {
  assert.equal(writePdu(sampleRequest), sampleRequestBytes);
});

layout('A-ASSOCIATE-AC: the bytes of PS3.8 Table 9-17, an empty transfer syntax for a refused context', () => {
  assert.equal(writePdu(sampleAccept), sampleAcceptBytes);
});

layout('A-ASSOCIATE-RJ (Table 9-21), A-RELEASE-RQ/RP (9-24, 9-25), A-ABORT (9-26)', () => {
  assert.equal(writePdu({ type: PduType.AssociateReject, result: 2, source: 3, reason: 1 }), pdu(0x03, [0x00, 0x02, 0x03, 0x01]));
  assert.equal(writePdu({ type: PduType.ReleaseRequest }), pdu(0x05, [0, 0, 0, 0]));
  assert.equal(writePdu({ type: PduType.ReleaseResponse }), pdu(0x06, [0, 0, 0, 0]));
  assert.equal(writePdu({ type: PduType.Abort, source: 2, reason: 4 }), pdu(0x07, [0x00, 0x00, 0x02, 0x04]));
});

layout('P-DATA-TF (Tables 9-22, 9-23): PDV length counts context ID and control header (Annex E.2)', () => {
  const bytes = writePdu({
    type: PduType.DataTransfer,
    values: [
      { presentationContextId: 1, isCommand: true, isLast: true, data: Uint8Array.from([0x01, 0x02]) },
      { presentationContextId: 255, isCommand: false, isLast: false, data: new Uint8Array(0) },
    ],
  });
  assert.equal(bytes, pdu(0x04, [...u32(4), 0x01, 0x03, 0x01, 0x02], [...u32(2), 0xff, 0x00]));
});

layout('associateReject() and abort() give the bytes the proxy sends', () => {
  assert.equal(associateReject(1, 1, 7), pdu(0x03, [0x00, 0x01, 0x01, 0x07])); // called AE title not recognized
  assert.equal(associateReject(2, 3, 1), pdu(0x03, [0x00, 0x02, 0x03, 0x01])); // temporary congestion
  assert.equal(abort(2, 6), pdu(0x07, [0x00, 0x00, 0x02, 0x06])); // provider: invalid parameter value
  // Table 9-26: with source 0 the reason "shall not be significant" and is sent as 00H.
  assert.equal(abort(0, 6), pdu(0x07, [0x00, 0x00, 0x00, 0x00]));
});

layout('AE titles are space padded to 16 bytes, one byte a character', () => {
  const bytes = writePdu({ ...sampleRequest, calledAETitle: 'A', callingAETitle: 'ÉCHO\x01' });
  assert.equal(Array.from(bytes.subarray(10, 26)), text('A'.padEnd(16, ' ')));
  assert.equal(Array.from(bytes.subarray(26, 42)), [0xc9, ...text('CHO'), 0x01, ...text(' '.repeat(11))]);
});

layout('user information sub-items: known ones in ascending type order, unknown ones after, as received', () => {
  const request: AssociateRequest = {
    ...sampleRequest,
    userInformation: {
      userIdentity: { identityType: 1, positiveResponseRequested: false, primaryField: Uint8Array.from(text('bob')), secondaryField: new Uint8Array(0) },
      unknownSubItems: [
        { itemType: 0x70, data: Uint8Array.from([0x07]) },
        { itemType: 0x5a, data: new Uint8Array(0) },
      ],
      roleSelections: [{ sopClassUid: '1.2.3', scuRole: 1, scpRole: 0 }],
      commonExtendedNegotiations: [],
      extendedNegotiations: [{ sopClassUid: '1.2.4', applicationInformation: Uint8Array.from([0x01]) }],
      implementationVersionName: 'V1',
      asynchronousOperationsWindow: { maxOperationsInvoked: 1, maxOperationsPerformed: 1 },
      maxLength: 32768,
    },
  };
  const bytes = writePdu(request);
  const userInformation = item(
    0x50,
    item(0x51, u32(32768)),
    item(0x53, [0x00, 0x01, 0x00, 0x01]),
    item(0x54, lengthPrefixed(text('1.2.3')), [0x01, 0x00]),
    item(0x55, text('V1')),
    item(0x56, lengthPrefixed(text('1.2.4')), [0x01]),
    item(0x58, [0x01, 0x00], lengthPrefixed(text('bob')), lengthPrefixed([])),
    item(0x70, [0x07]),
    item(0x5a),
  );
  assert.equal(Array.from(bytes.subarray(bytes.length - userInformation.length)), userInformation);
  assert.equal(readBack(bytes), request);
});

layout('unknown user information sub-items read from a peer are written back unchanged', () => {
  const subItems = [item(0x51, u32(16384)), item(0x5a, [0xca, 0xfe]), item(0xc0, text('vendor'))];
  const bytes = pdu(
    0x01,
    [0x00, 0x01, 0x00, 0x00, ...text('PACS'.padEnd(16)), ...text('MODALITY'.padEnd(16)), ...new Array<number>(32).fill(0)],
    item(0x10, text('1.2.840.10008.3.1.1.1')),
    item(0x20, [0x01, 0, 0, 0], item(0x30, text('1.2.840.10008.1.1')), item(0x40, text('1.2.840.10008.1.2'))),
    item(0x50, ...subItems),
  );
  const decoded = readBack(bytes);
  assert.ok(decoded);
  assert.equal(writePdu(decoded), bytes);
});

// ---------------------------------------------------------------------------------------
const limits = suite('writer: values that do not fit their field');

limits('an AE title over 16 characters or with a character beyond 8 bits', () => {
  assert.throws(() => writePdu({ ...sampleRequest, calledAETitle: 'A_VERY_LONG_AE_TITLE' }), /called AE title "A_VERY_LONG_AE_TITLE" is 20 characters; an AE title has at most 16/);
  assert.throws(() => writePdu({ ...sampleRequest, callingAETitle: 'CT\u20ac' }), /calling AE title: character U\+20ac at index 2 has no 8-bit encoding/);
});

limits('a user identity of 65535 bytes cannot fit the 2-byte length of its sub-item (PS3.7 Table D.3-14)', () => {
  const withPrimary = (length: number): AssociateRequest => ({
    ...sampleRequest,
    userInformation: {
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
      unknownSubItems: [],
      userIdentity: { identityType: 4, positiveResponseRequested: false, primaryField: new Uint8Array(length), secondaryField: new Uint8Array(0) },
    },
  });
  assert.throws(() => writePdu(withPrimary(65535)), (error: unknown) => error instanceof RangeError && /user identity sub-item length is 65541/.test(error.message));
  // 65525 is the most that fits: the user information item around it has a 2-byte length too.
  assert.throws(() => writePdu(withPrimary(65526)), /user information item length is 65536/);
  const largest = writePdu(withPrimary(65525));
  assert.equal(readBack(largest), withPrimary(65525));
});

limits('numbers outside their byte width', () => {
  assert.throws(() => writePdu({ type: PduType.DataTransfer, values: [{ presentationContextId: 257, isCommand: false, isLast: true, data: new Uint8Array(0) }] }), /presentation context ID is 257; it must be an integer from 0 to 255/);
  assert.throws(() => associateReject(1, 1, -1), /reason is -1/);
  assert.throws(() => writePdu({ ...sampleRequest, protocolVersion: 0x10000 }), /protocol version is 65536/);
  assert.throws(() => writePdu({ ...sampleRequest, userInformation: { ...sampleRequest.userInformation, maxLength: 2 ** 32 } }), /maximum length is 4294967296/);
});

limits('a user identity in an A-ASSOCIATE-AC, or a server response in an A-ASSOCIATE-RQ', () => {
  const accept: AssociateAccept = { ...sampleAccept, userInformation: { ...sampleAccept.userInformation, userIdentity: sampleRequest.userInformation.userIdentity } };
  assert.throws(() => writePdu(accept), /user identity \(0x58\) is only sent in an A-ASSOCIATE-RQ/);
  const request: AssociateRequest = { ...sampleRequest, userInformation: { ...sampleRequest.userInformation, userIdentityServerResponse: new Uint8Array(0) } };
  assert.throws(() => writePdu(request), /server response \(0x59\) is only sent in an A-ASSOCIATE-AC/);
});

// ---------------------------------------------------------------------------------------
const roundTrip = suite('writer: round trip with the reader (decode(encode(x)) = x)');

const byType: [string, fc.Arbitrary<Pdu>][] = [
  ['A-ASSOCIATE-RQ', arbitrary.associateRequest],
  ['A-ASSOCIATE-AC', arbitrary.associateAccept],
  ['A-ASSOCIATE-RJ', arbitrary.associateReject],
  ['P-DATA-TF', arbitrary.dataTransfer],
  ['A-RELEASE-RQ', arbitrary.releaseRequest],
  ['A-RELEASE-RP', arbitrary.releaseResponse],
  ['A-ABORT', arbitrary.abortPdu],
];

for (const [name, arb] of byType) {
  roundTrip(`${name}: decode(encode(x)) deep-equals x, and encode(decode(bytes)) gives the same bytes`, () => {
    fc.assert(
      fc.property(arb, (value) => {
        const bytes = writePdu(value);
        const decoded = readPdu(bytes, MAX);
        assert.equal(decoded, { pdu: value, length: bytes.length });
        assert.equal(writePdu(value), bytes, 'writing is deterministic');
        if (decoded) assert.equal(writePdu(decoded.pdu), bytes);
      }),
      { numRuns: 300 },
    );
  });
}

layout.run();
limits.run();
roundTrip.run();
