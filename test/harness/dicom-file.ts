// Generated DICOM Part 10 files (PS3.10 section 7): a Secondary Capture image with
// fresh UIDs and pixel data of any size, for C-STORE tests and benchmarks. Explicit VR
// little endian (PS3.5 section 7.1.2). Test tooling only: the product reads no files.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/** A UID under the 2.25 root (PS3.5 B.2): a random 128-bit number in decimal. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString()}`;
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function element(group: number, elementNumber: number, vr: string, value: Buffer): Buffer {
  const padded = value.length % 2 ? Buffer.concat([value, Buffer.from([vr === 'UI' || vr === 'OB' ? 0 : 0x20])]) : value;
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(padded.length, 8);
  else header.writeUInt16LE(padded.length, 6);
  return Buffer.concat([header, padded]);
}

const text = (s: string) => Buffer.from(s, 'latin1');
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

export interface GeneratedImage {
  path: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  patientId: string;
  bytes: number;
}

/** Write a rows x columns 16-bit image; pixel data is written in slices, never held whole. */
export async function writeImage(path: string, options: { rows?: number; columns?: number; patientId?: string; patientName?: string; studyInstanceUid?: string } = {}): Promise<GeneratedImage> {
  const rows = options.rows ?? 64;
  const columns = options.columns ?? 64;
  const sopInstanceUid = newUid();
  const studyInstanceUid = options.studyInstanceUid ?? newUid();
  const patientId = options.patientId ?? `DG-${randomBytes(4).toString('hex')}`;
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', text(SECONDARY_CAPTURE)),
    element(0x0002, 0x0003, 'UI', text(sopInstanceUid)),
    element(0x0002, 0x0010, 'UI', text(EXPLICIT_LITTLE)),
    element(0x0002, 0x0012, 'UI', text('1.2.826.0.1.3680043.10.1234.1')),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length);
  const pixelBytes = rows * columns * 2;
  const dataset = Buffer.concat([
    element(0x0008, 0x0016, 'UI', text(SECONDARY_CAPTURE)),
    element(0x0008, 0x0018, 'UI', text(sopInstanceUid)),
    element(0x0008, 0x0020, 'DA', text('20261125')),
    element(0x0008, 0x0030, 'TM', text('120000')),
    element(0x0008, 0x0050, 'SH', text('DG1')),
    element(0x0008, 0x0060, 'CS', text('OT')),
    element(0x0008, 0x0064, 'CS', text('WSD')),
    element(0x0010, 0x0010, 'PN', text(options.patientName ?? 'Guard^Test')),
    element(0x0010, 0x0020, 'LO', text(patientId)),
    element(0x0010, 0x0030, 'DA', text('')),
    element(0x0010, 0x0040, 'CS', text('')),
    element(0x0020, 0x000d, 'UI', text(studyInstanceUid)),
    element(0x0020, 0x000e, 'UI', text(newUid())),
    element(0x0020, 0x0010, 'SH', text('1')),
    element(0x0020, 0x0011, 'IS', text('1')),
    element(0x0020, 0x0013, 'IS', text('1')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', text('MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(rows)),
    element(0x0028, 0x0011, 'US', us(columns)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
    element(0x0028, 0x0103, 'US', us(0)),
  ]);
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OW', 4, 'latin1');
  pixelHeader.writeUInt32LE(pixelBytes, 8);
  const file = await open(path, 'w');
  try {
    await file.write(Buffer.concat([Buffer.alloc(128), text('DICM'), element(0x0002, 0x0000, 'UL', groupLength), meta, dataset, pixelHeader]));
    const slice = Buffer.alloc(Math.min(pixelBytes, 4 * 1024 * 1024));
    for (let i = 0; i < slice.length; i += 2) slice.writeUInt16LE((i * 7) & 0xffff, i);
    for (let written = 0; written < pixelBytes; written += slice.length) {
      await file.write(slice, 0, Math.min(slice.length, pixelBytes - written));
    }
  } finally {
    await file.close();
  }
  return { path, sopInstanceUid, studyInstanceUid, patientId, bytes: 132 + meta.length + 12 + dataset.length + 12 + pixelBytes };
}
