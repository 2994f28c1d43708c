// The two DIMSE requests the soak benchmark (association-memory.ts) sends inside an
// association, built in this process so that a small association costs no process
// start-up: C-ECHO-RQ and C-STORE-RQ (PS3.7 9.3.1, 9.3.5), and the status of the answer.
// Command sets are laid out and read by the sidecar's own command-set codec (PS3.7 6.3.1,
// implicit VR little endian); each message is sent as one P-DATA-TF (PS3.8 9.3.5).
import { readFile } from 'node:fs/promises';
import { writePdu } from '../sidecar/wire/writer.ts';
import { PduType, type Pdu } from '../sidecar/wire/pdu.ts';
import { NO_DATA_SET, readCommandSet, writeCommandSet } from '../sidecar/wire/command-set.ts';
import { CommandField, RESPONSE_BIT } from '../sidecar/dicom/operations.ts';
import { SECONDARY_CAPTURE, writeImage } from '../test/harness/dicom-file.ts';
import { VERIFICATION } from './association-client.ts';

export const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/** PS3.7 E.1 Command Data Set Type: any value but 0x0101 says a data set follows. */
const HAS_DATA_SET = 0x0000;
/** P-DATA-TF header (6) and one PDV item header (4 length, 1 context ID, 1 control). */
const PDU_OVERHEAD = 12;

/** UIDs are padded to an even length with a NUL (PS3.5 9.1). */
const uid = (value: string) => Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1');
const us = (value: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
};

function pdata(presentationContextId: number, isCommand: boolean, data: Uint8Array): Uint8Array {
  return writePdu({ type: PduType.DataTransfer, values: [{ presentationContextId, isCommand, isLast: true, data }] });
}

export function echoRequest(presentationContextId: number, messageId: number): Uint8Array[] {
  const command = writeCommandSet([
    { tag: 0x0002, value: uid(VERIFICATION) },
    { tag: 0x0100, value: us(CommandField.CEcho) },
    { tag: 0x0110, value: us(messageId) },
    { tag: 0x0800, value: us(NO_DATA_SET) },
  ]);
  return [pdata(presentationContextId, true, command)];
}

/** A small image ready to send in one P-DATA-TF: its data set without the Part 10 header. */
export interface SmallObject {
  sopClassUid: string;
  sopInstanceUid: string;
  /** Explicit VR little endian (the file's transfer syntax). */
  dataSet: Buffer;
}

/**
 * A rows x columns Secondary Capture image written by the test harness, read back and
 * stripped of its preamble and file meta group (PS3.10 7.1) to leave the data set.
 */
export async function smallObject(path: string, rows = 64, columns = 64): Promise<SmallObject> {
  const image = await writeImage(path, { rows, columns });
  const file = await readFile(path);
  // 128-byte preamble, "DICM", then (0002,0000) UL in explicit VR: 8 bytes of header, 4 of value.
  const metaLength = file.readUInt32LE(140);
  return { sopClassUid: SECONDARY_CAPTURE, sopInstanceUid: image.sopInstanceUid, dataSet: file.subarray(144 + metaLength) };
}

/** C-STORE-RQ and the whole data set, each in one P-DATA-TF (so it must fit the acceptor's maximum PDU). */
export function storeRequest(presentationContextId: number, messageId: number, object: SmallObject, maxPduLength: number): Uint8Array[] {
  if (object.dataSet.length + PDU_OVERHEAD > maxPduLength) {
    throw new Error(`a ${object.dataSet.length}-byte data set does not fit one ${maxPduLength}-byte P-DATA-TF; make the small object smaller`);
  }
  const command = writeCommandSet([
    { tag: 0x0002, value: uid(object.sopClassUid) },
    { tag: 0x0100, value: us(CommandField.CStore) },
    { tag: 0x0110, value: us(messageId) },
    { tag: 0x0700, value: us(0) }, // priority: medium
    { tag: 0x0800, value: us(HAS_DATA_SET) },
    { tag: 0x1000, value: uid(object.sopInstanceUid) },
  ]);
  return [pdata(presentationContextId, true, command), pdata(presentationContextId, false, object.dataSet)];
}

/** Throws unless `pdu` is the complete C-ECHO-RSP or C-STORE-RSP with status Success (0000). */
export function expectSuccess(pdu: Pdu, request: 'echo' | 'store'): void {
  const expected = (request === 'echo' ? CommandField.CEcho : CommandField.CStore) | RESPONSE_BIT;
  if (pdu.type !== PduType.DataTransfer) throw new Error(`expected a P-DATA-TF with the C-${request.toUpperCase()}-RSP, got PDU type ${pdu.type}`);
  const value = pdu.values[0];
  if (pdu.values.length !== 1 || !value?.isCommand || !value.isLast) throw new Error('expected the response command set whole in one PDV');
  const { commandField, status } = readCommandSet(value.data);
  if (commandField !== expected) throw new Error(`expected command field 0x${expected.toString(16)}, got ${commandField === undefined ? 'none' : `0x${commandField.toString(16)}`}`);
  if (status !== 0) throw new Error(`C-${request.toUpperCase()} status ${status === undefined ? 'missing' : `0x${status.toString(16).padStart(4, '0')}`}`);
}
