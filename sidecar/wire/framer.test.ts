// Framer tests: PDU boundaries found however the stream is cut into chunks (dicom-wire.md
// class 11), and the header checks that let the proxy abort mid-association.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { PduError } from './errors.ts';
import { AbortReason, PDU_HEADER_LENGTH, PduType } from './pdu.ts';
import { PduFramer } from './framer.ts';
import type { PduHeaderEvent } from './framer.ts';
import { writePdu } from './writer.ts';
import * as arbitrary from './pdu.arbitrary.ts';
import { pdu, u32 } from './pdu.fixtures.ts';

const MAX = 1 << 20;

const release = pdu(0x05, [0, 0, 0, 0]);
const pData = pdu(0x04, [...u32(5), 0x01, 0x02, 0xaa, 0xbb, 0xcc]);
const abortBytes = pdu(0x07, [0, 0, 2, 6]);
const stream = Uint8Array.from([...pData, ...release, ...abortBytes]);
const expected: PduHeaderEvent[] = [
  { type: PduType.DataTransfer, length: 9, offsetInStream: 0 },
  { type: PduType.ReleaseRequest, length: 4, offsetInStream: 15 },
  { type: PduType.Abort, length: 4, offsetInStream: 25 },
];

function pushAll(framer: PduFramer, chunks: Uint8Array[]): PduHeaderEvent[] {
  return chunks.flatMap((chunk) => [...framer.push(chunk)]);
}

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

function throwsPduError(action: () => unknown, expected: { reason: number; offset: number; message: RegExp }): PduError {
  try {
    action();
  } catch (error) {
    if (!(error instanceof PduError)) throw error;
    assert.match(error.message, expected.message);
    assert.is(error.abortReason, expected.reason);
    assert.is(error.offset, expected.offset);
    return error;
  }
  assert.unreachable(`expected a PduError matching ${expected.message}`);
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------
const framing = suite('framer: PDU boundaries in a relayed stream');

framing('class 11: several PDUs in one chunk', () => {
  const framer = new PduFramer(MAX);
  assert.equal(framer.push(stream), expected);
  assert.is(framer.position, stream.length);
  assert.ok(framer.atPduBoundary);
});

framing('class 11: one-byte segments: each header is reported with the byte that completes it', () => {
  const framer = new PduFramer(MAX);
  const seen: { at: number; event: PduHeaderEvent }[] = [];
  for (let at = 0; at < stream.length; at++) {
    for (const event of framer.push(stream.subarray(at, at + 1))) seen.push({ at, event });
  }
  assert.equal(
    seen,
    expected.map((event) => ({ at: event.offsetInStream + PDU_HEADER_LENGTH - 1, event })),
  );
});

framing('class 11: a header split at every position across two chunks', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    assert.equal(pushAll(new PduFramer(MAX), [stream.subarray(0, cut), stream.subarray(cut)]), expected, `cut at ${cut}`);
  }
});

framing('body-only chunks report nothing and allocate no event array', () => {
  const framer = new PduFramer(MAX);
  framer.push(pData.subarray(0, 8));
  const first = framer.push(pData.subarray(8, 10));
  const second = framer.push(pData.subarray(10, 12));
  assert.is(first.length, 0);
  assert.is(first, second, 'the same shared empty array');
  assert.not.ok(framer.atPduBoundary);
  framer.push(pData.subarray(12));
  assert.ok(framer.atPduBoundary);
});

framing('a 64 MiB P-DATA-TF stream in 64 KiB chunks: one event per PDU, none per payload-only chunk', () => {
  // 128 KiB PDUs: every other chunk starts with a header, the one after it is payload only.
  const chunkSize = 1 << 16;
  const pduLength = 2 * chunkSize - PDU_HEADER_LENGTH;
  const withHeader = new Uint8Array(chunkSize).fill(0xaa);
  withHeader.set([0x04, 0x00, ...u32(pduLength)]);
  const payloadOnly = new Uint8Array(chunkSize).fill(0xbb);
  const framer = new PduFramer(pduLength);
  let events = 0;
  for (let sent = 0; sent < 64 << 20; sent += 2 * chunkSize) {
    events += framer.push(withHeader).length;
    assert.is(framer.push(payloadOnly).length, 0);
  }
  assert.is(events, (64 << 20) / (2 * chunkSize));
  assert.is(framer.position, 64 << 20);
  assert.ok(framer.atPduBoundary);
});

framing('property: any PDUs cut into any chunks give their headers, in order, at their offsets', () => {
  fc.assert(
    fc.property(fc.array(arbitrary.pdu, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 20 }), (pdus, cuts) => {
      const encoded = pdus.map(writePdu);
      const bytes = Uint8Array.from(encoded.flatMap((one) => [...one]));
      let offset = 0;
      const headers = encoded.map((one, index) => {
        const event = { type: pdus[index]?.type, length: one.length - PDU_HEADER_LENGTH, offsetInStream: offset };
        offset += one.length;
        return event;
      });
      const framer = new PduFramer(MAX);
      assert.equal(pushAll(framer, split(bytes, cuts)), headers);
      assert.ok(framer.atPduBoundary);
    }),
  );
});

// ---------------------------------------------------------------------------------------
const refusals = suite('framer: headers the proxy must refuse');

refusals('class 5: an unknown PDU type mid-stream throws from its first byte, with its stream offset', () => {
  const framer = new PduFramer(MAX);
  framer.push(release);
  throwsPduError(() => framer.push(Uint8Array.from([0x16])), { reason: AbortReason.UnrecognizedPdu, offset: 10, message: /^PDU at offset 10: type 0x16 is not a DICOM upper-layer PDU type.*TLS/ });
});

refusals('class 1: a length over the cap throws as soon as the header is complete, before any body', () => {
  const framer = new PduFramer(16384);
  framer.push(Uint8Array.from([0x04, 0x00, 0xff, 0xff, 0xff]));
  throwsPduError(() => framer.push(Uint8Array.from([0xff])), { reason: AbortReason.InvalidPduParameterValue, offset: 0, message: /^P-DATA-TF at offset 0: PDU length 4294967295 exceeds the limit of 16384 bytes/ });
});

refusals('class 4: an A-ABORT or A-RELEASE-RQ whose length is not 4', () => {
  throwsPduError(() => new PduFramer(MAX).push(Uint8Array.from([...release, 0x07, 0x00, ...u32(5)])), { reason: AbortReason.InvalidPduParameterValue, offset: 10, message: /^A-ABORT at offset 10: PDU length 5 is wrong/ });
  throwsPduError(() => new PduFramer(MAX).push(Uint8Array.from([0x05, 0x00, ...u32(0)])), { reason: AbortReason.InvalidPduParameterValue, offset: 0, message: /^A-RELEASE-RQ at offset 0/ });
});

refusals('after a refusal the stream stays refused: the next push throws the same error', () => {
  const framer = new PduFramer(MAX);
  const first = throwsPduError(() => framer.push(Uint8Array.from([0x00])), { reason: AbortReason.UnrecognizedPdu, offset: 0, message: /type 0x00/ });
  try {
    framer.push(release);
    assert.unreachable('expected the same error again');
  } catch (error) {
    assert.is(error, first);
  }
});

refusals('fuzz: random bytes in random chunks give events or a PduError, nothing else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
      try {
        pushAll(new PduFramer(1 << 16), split(bytes, cuts));
      } catch (error) {
        if (!(error instanceof PduError)) throw error;
      }
    }),
    { numRuns: 2000 },
  );
});

framing.run();
refusals.run();
