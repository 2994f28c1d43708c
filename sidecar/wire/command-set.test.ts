// Command set reader tests: the elements the relay checks, read from bytes laid out by
// hand (PS3.7 Annex E, implicit VR little endian), and the command sets it must refuse.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { PduError } from './errors.ts';
import { AbortReason } from './pdu.ts';
import { readCommandSet, writeCommandSet } from './command-set.ts';

/** (0000,eeee), 4-byte little-endian length, value: laid out byte by byte, not with writeCommandSet. */
function element(elementNumber: number, value: number[]): number[] {
  const length = value.length;
  return [0x00, 0x00, elementNumber & 0xff, elementNumber >> 8, length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, length >>> 24, ...value];
}
const us = (value: number) => [value & 0xff, value >> 8];
const text = (value: string) => Array.from(Buffer.from(value, 'latin1'));

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
// A C-STORE-RQ as DCMTK sends it: group length, affected SOP class (odd length, NUL padded), command field, ...
const cStore = Uint8Array.from([
  ...element(0x0000, [0x5a, 0, 0, 0]),
  ...element(0x0002, [...text(CT_IMAGE_STORAGE), 0x00]),
  ...element(0x0100, us(0x0001)),
  ...element(0x0110, us(7)),
  ...element(0x0700, us(0)),
  ...element(0x0800, us(0x0000)),
  ...element(0x1000, [...text('1.2.3.4.5'), 0x00]),
]);

const reading = suite('command set: the elements the relay checks');

reading('a C-STORE-RQ: command field, affected SOP class without its NUL pad, a data set announced', () => {
  assert.equal(readCommandSet(cStore), { affectedSopClassUid: CT_IMAGE_STORAGE, commandField: 0x0001, hasDataSet: true });
});

reading('a C-MOVE-RQ: the move destination without its space padding; 0x0101 means no data set', () => {
  const move = Uint8Array.from([
    ...element(0x0002, text('1.2.840.10008.5.1.4.1.2.2.2')),
    ...element(0x0100, us(0x0021)),
    ...element(0x0600, text('DEST            ')),
    ...element(0x0800, us(0x0101)),
  ]);
  assert.equal(readCommandSet(move), { affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.2', moveDestination: 'DEST', commandField: 0x0021, hasDataSet: false });
});

reading('N-ACTION names its class in Requested SOP Class UID (0000,0003)', () => {
  const action = Uint8Array.from([...element(0x0003, text('1.2.840.10008.1.20.1')), ...element(0x0100, us(0x0130)), ...element(0x0800, us(0x0102))]);
  assert.equal(readCommandSet(action), { requestedSopClassUid: '1.2.840.10008.1.20.1', commandField: 0x0130, hasDataSet: true });
});

reading('a C-STORE-RSP: its Status (0000,0900)', () => {
  const response = Uint8Array.from([...element(0x0002, text(CT_IMAGE_STORAGE)), ...element(0x0100, us(0x8001)), ...element(0x0800, us(0x0101)), ...element(0x0900, us(0xa700))]);
  assert.equal(readCommandSet(response), { affectedSopClassUid: CT_IMAGE_STORAGE, commandField: 0x8001, hasDataSet: false, status: 0xa700 });
});

reading('writeCommandSet lays out what the reader reads back', () => {
  const written = writeCommandSet([
    { tag: 0x0002, value: Uint8Array.from([...text(CT_IMAGE_STORAGE), 0]) },
    { tag: 0x0100, value: Uint8Array.from(us(1)) },
    { tag: 0x0800, value: Uint8Array.from(us(0)) },
  ]);
  assert.equal(readCommandSet(written), { affectedSopClassUid: CT_IMAGE_STORAGE, commandField: 1, hasDataSet: true });
});

const refusing = suite('command set: what the relay cannot vouch for');

function refused(bytes: number[], message: RegExp, offset: number): void {
  try {
    readCommandSet(Uint8Array.from(bytes));
  } catch (error) {
    if (!(error instanceof PduError)) throw error;
    assert.match(error.message, message);
    assert.is(error.offset, offset);
    assert.is(error.abortReason, AbortReason.InvalidPduParameterValue);
    return;
  }
  assert.unreachable(`expected a refusal matching ${message}`);
}

refusing('no command field, or no data set type', () => {
  refused([...element(0x0800, us(0x0101))], /no Command Field \(0000,0100\)/, 0);
  refused([...element(0x0100, us(0x0030))], /no Command Data Set Type/, 0);
});

refusing('an element of another group: the command set is group 0000 only (PS3.7 6.3.1)', () => {
  refused([...element(0x0100, us(0x0030)), 0x08, 0x00, 0x16, 0x00, 2, 0, 0, 0, 0x31, 0x00], /element \(0008,0016\) is not a command element/, 10);
});

refusing('lengths that overrun, undefined lengths, headers cut off', () => {
  refused([...element(0x0100, us(0x0030)).slice(0, 8), 0x30], /length 2 overruns the command set/, 0);
  refused([0, 0, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff], /length 4294967295 overruns/, 0);
  refused([...element(0x0100, us(0x0030)), 0, 0, 0], /an element header needs 8 bytes, 3 are left/, 10);
});

refusing('a command field that is not 2 bytes; a UID that is not one; an AE title over 16 bytes', () => {
  refused([...element(0x0100, [0x30, 0, 0, 0])], /Command Field \(0000,0100\) has length 4/, 0);
  refused([...element(0x0002, text('1.2.abc')), ...element(0x0100, us(1))], /\(0000,0002\) is not a UID/, 0);
  refused([...element(0x0600, text('A'.repeat(17)))], /Move Destination \(0000,0600\) has length 17/, 0);
});

refusing('fuzz: random bytes give a command set or a PduError, nothing else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
      try {
        readCommandSet(bytes);
      } catch (error) {
        if (!(error instanceof PduError)) throw error;
      }
    }),
    { numRuns: 3000 },
  );
});

reading.run();
refusing.run();
