// Framer tests: PDU boundaries found however the stream is cut into chunks (dicom-wire.md
// class 11), and the header checks that let the proxy abort mid-association.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { PduError } from './errors.ts';
import { AbortReason, PDU_HEADER_LENGTH, PduType } from './pdu.ts';
import { PduFramer } from './framer.ts';
import type { FrameEvent, PduHeaderEvent } from './framer.ts';
import { writePdu } from './writer.ts';
import * as arbitrary from './pdu.arbitrary.ts';
import { pdu, u32 } from './pdu.fixtures.ts';

const MAX = 1 << 20;

const release = pdu(0x05, [0, 0, 0, 0]);
const pData = pdu(0x04, [...u32(5), 0x01, 0x02, 0xaa, 0xbb, 0xcc]);
const abortBytes = pdu(0x07, [0, 0, 2, 6]);
const stream = Uint8Array.from([...pData, ...release, ...abortBytes]);
const expected: FrameEvent[] = [
  { kind: 'pdu', type: PduType.DataTransfer, length: 9, offsetInStream: 0 },
  { kind: 'pdv', presentationContextId: 1, isCommand: false, isLast: true, length: 3, offsetInStream: 6 },
  { kind: 'pdu', type: PduType.ReleaseRequest, length: 4, offsetInStream: 15 },
  { kind: 'pdu', type: PduType.Abort, length: 4, offsetInStream: 25 },
];

function pushAll(framer: PduFramer, chunks: Uint8Array[]): FrameEvent[] {
  return chunks.flatMap((chunk) => [...framer.push(chunk)]);
}

const pduHeaders = (events: readonly FrameEvent[]): PduHeaderEvent[] => events.filter((event) => event.kind === 'pdu');

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
  const seen: { at: number; event: FrameEvent }[] = [];
  for (let at = 0; at < stream.length; at++) {
    for (const event of framer.push(stream.subarray(at, at + 1))) seen.push({ at, event });
  }
  assert.equal(
    seen,
    // PDU and PDV headers are both 6 bytes long.
    expected.map((event) => ({ at: event.offsetInStream + PDU_HEADER_LENGTH - 1, event })),
  );
});

framing('class 11: a header split at every position across two chunks', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    assert.equal(pushAll(new PduFramer(MAX), [stream.subarray(0, cut), stream.subarray(cut)]), expected, `cut at ${cut}`);
  }
});

framing('data-only chunks report nothing and allocate no event array', () => {
  const framer = new PduFramer(MAX);
  framer.push(pData.subarray(0, 12)); // the PDU header and the PDV header
  const first = framer.push(pData.subarray(12, 13));
  const second = framer.push(pData.subarray(13, 14));
  assert.is(first.length, 0);
  assert.is(first, second, 'the same shared empty array');
  assert.not.ok(framer.atPduBoundary);
  framer.push(pData.subarray(14));
  assert.ok(framer.atPduBoundary);
});

framing('a 64 MiB P-DATA-TF stream in 64 KiB chunks: a PDU and a PDV event per PDU, none per payload-only chunk', () => {
  // 128 KiB PDUs of one data set PDV each: every other chunk starts with the headers, the one after it is payload only.
  const chunkSize = 1 << 16;
  const pduLength = 2 * chunkSize - PDU_HEADER_LENGTH;
  const withHeader = new Uint8Array(chunkSize).fill(0xaa);
  withHeader.set([0x04, 0x00, ...u32(pduLength), ...u32(pduLength - 4), 0x01, 0x00]);
  const payloadOnly = new Uint8Array(chunkSize).fill(0xbb);
  const framer = new PduFramer(pduLength);
  let events = 0;
  for (let sent = 0; sent < 64 << 20; sent += 2 * chunkSize) {
    events += framer.push(withHeader).length;
    assert.is(framer.push(payloadOnly).length, 0);
  }
  assert.is(events, 2 * ((64 << 20) / (2 * chunkSize)));
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
        const event = { kind: 'pdu', type: pdus[index]?.type, length: one.length - PDU_HEADER_LENGTH, offsetInStream: offset };
        offset += one.length;
        return event;
      });
      const framer = new PduFramer(MAX);
      assert.equal(pduHeaders(pushAll(framer, split(bytes, cuts))), headers);
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

// ---------------------------------------------------------------------------------------
const messages = suite('framer: presentation data values and command sets (PS3.8 Annex E.2)');

/** A PDV item: item length (counting context ID and control header), context ID, control header, value. */
function pdv(contextId: number, control: number, value: number[]): number[] {
  return [...u32(value.length + 2), contextId, control, ...value];
}
const COMMAND = 0x01;
const LAST = 0x02;
const commandBytes = Array.from({ length: 40 }, (_, i) => i + 1);
// One command set in three fragments over two P-DATA-TFs, then its data set in a third.
const fragmented = Uint8Array.from([
  ...pdu(0x04, [...pdv(3, COMMAND, commandBytes.slice(0, 10)), ...pdv(3, COMMAND, commandBytes.slice(10, 25))]),
  ...pdu(0x04, pdv(3, COMMAND | LAST, commandBytes.slice(25))),
  ...pdu(0x04, pdv(3, LAST, [0xde, 0xad])),
]);
const secondPduAt = 6 + (6 + 10) + (6 + 15);
const thirdPduAt = secondPduAt + 6 + 6 + 15;

messages('a command set in fragments over two P-DATA-TFs, cut at every position: joined once, at the first PDU', () => {
  for (let cut = 0; cut <= fragmented.length; cut++) {
    const framer = new PduFramer(MAX);
    const events = pushAll(framer, [fragmented.subarray(0, cut), fragmented.subarray(cut)]);
    const commands = events.filter((event) => event.kind === 'command');
    assert.is(commands.length, 1, `cut at ${cut}`);
    assert.equal(Array.from(commands[0]!.bytes), commandBytes, `cut at ${cut}`);
    assert.is(commands[0]!.presentationContextId, 3);
    assert.is(commands[0]!.offsetInStream, 0);
    assert.equal(
      events.filter((event) => event.kind === 'pdv').map((event) => [event.isCommand, event.isLast, event.length]),
      [
        [true, false, 10],
        [true, false, 15],
        [true, true, 15],
        [false, true, 2],
      ],
    );
    assert.ok(framer.atPduBoundary);
    assert.is(framer.incompleteCommandFrom, undefined);
  }
});

messages('while a command set is incomplete, incompleteCommandFrom is the start of the P-DATA-TF of its first fragment', () => {
  const framer = new PduFramer(MAX);
  framer.push(fragmented.subarray(0, 3));
  assert.is(framer.incompleteCommandFrom, undefined, 'nothing of a PDV yet');
  framer.push(fragmented.subarray(3, 13)); // into the first PDV's value
  assert.is(framer.incompleteCommandFrom, 0);
  framer.push(fragmented.subarray(13, secondPduAt + 8));
  assert.is(framer.incompleteCommandFrom, 0, 'still the first PDU, not the second');
  framer.push(fragmented.subarray(secondPduAt + 8, thirdPduAt));
  assert.is(framer.incompleteCommandFrom, undefined, 'complete with its last fragment');
});

messages('fragments kept across pushes are copies: the caller may reuse a chunk memory', () => {
  const framer = new PduFramer(MAX);
  const chunk = Uint8Array.from(fragmented.subarray(0, secondPduAt));
  framer.push(chunk);
  chunk.fill(0xff);
  const [command] = framer.push(fragmented.subarray(secondPduAt)).filter((event) => event.kind === 'command');
  assert.equal(Array.from(command!.bytes), commandBytes);
});

messages('a zero-length PDV and several PDVs in one P-DATA-TF', () => {
  const bytes = Uint8Array.from(pdu(0x04, [...pdv(1, COMMAND | LAST, []), ...pdv(1, 0, [7]), ...pdv(1, LAST, [])]));
  const events = new PduFramer(MAX).push(bytes);
  assert.equal(
    events.map((event) => event.kind),
    ['pdu', 'pdv', 'command', 'pdv', 'pdv'],
  );
});

messages('data set fragments are skipped by count, never reported as command bytes', () => {
  const bytes = Uint8Array.from(pdu(0x04, pdv(1, LAST, Array.from({ length: 1000 }, () => 0x01))));
  const events = new PduFramer(MAX).push(bytes);
  assert.equal(events.map((event) => event.kind), ['pdu', 'pdv']);
});

messages('PDV items that do not fill their P-DATA-TF are refused with invalid-PDU-parameter-value', () => {
  throwsPduError(() => new PduFramer(MAX).push(Uint8Array.from(pdu(0x04, [...u32(1), 1, 0x03]))), {
    reason: AbortReason.InvalidPduParameterValue,
    offset: 6,
    message: /item length 1; it counts the context ID and control header/,
  });
  throwsPduError(() => new PduFramer(MAX).push(Uint8Array.from(pdu(0x04, [...u32(9), 1, 0x03, 0, 0]))), {
    reason: AbortReason.InvalidPduParameterValue,
    offset: 6,
    message: /item length 9, past the end of its P-DATA-TF/,
  });
  throwsPduError(() => new PduFramer(MAX).push(Uint8Array.from(pdu(0x04, [...pdv(1, 0x03, [0]), 0, 0, 0]))), {
    reason: AbortReason.InvalidPduParameterValue,
    offset: 0,
    message: /3 bytes are left after its last presentation data value item/,
  });
});

messages('a command set is bounded: in length, and in the bytes it can make a relay hold (empty fragments too)', () => {
  const long = Uint8Array.from(pdu(0x04, pdv(1, COMMAND, Array.from({ length: 300 }, () => 0))));
  throwsPduError(() => new PduFramer({ maxPduLength: MAX, maxCommandSetLength: 256 }).push(long), {
    reason: AbortReason.InvalidPduParameterValue,
    offset: 12,
    message: /command set at offset 12 is longer than 256 bytes/,
  });
  const framer = new PduFramer({ maxPduLength: MAX, maxCommandSpan: 1000 });
  const empty = Uint8Array.from(pdu(0x04, pdv(1, COMMAND, [])));
  let error: unknown;
  for (let i = 0; i < 200 && error === undefined; i++) {
    try {
      framer.push(empty);
    } catch (caught) {
      error = caught;
    }
  }
  assert.instance(error, PduError);
  assert.match((error as PduError).message, /still incomplete \d+ bytes later \(limit 1000\)/);
});

messages('fuzz: P-DATA-TFs of random PDVs in random chunks give events or a PduError, and a command event per last command fragment', () => {
  const anyPdv = fc.record({ contextId: fc.integer({ min: 1, max: 255 }), control: fc.integer({ min: 0, max: 3 }), value: fc.array(fc.nat(255), { maxLength: 20 }) });
  fc.assert(
    fc.property(fc.array(fc.array(anyPdv, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (pdus, cuts) => {
      const bytes = Uint8Array.from(pdus.flatMap((values) => [...pdu(0x04, values.flatMap((v) => pdv(v.contextId, v.control, v.value)))]));
      const events = pushAll(new PduFramer(MAX), split(bytes, cuts));
      const lastCommandFragments = pdus.flat().filter((v) => v.control === (COMMAND | LAST)).length;
      assert.is(events.filter((event) => event.kind === 'command').length, lastCommandFragments);
    }),
  );
});

framing.run();
refusals.run();
messages.run();
