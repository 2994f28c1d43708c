// Test support: PDUs built byte by byte from the layouts in PS3.8 section 9.3 and PS3.7
// Annex D.3.3, independently of writer.ts, and the PDU objects they stand for. The reader
// tests decode these bytes; the writer tests must produce them. Nothing in the sidecar
// imports this module.

import { Buffer } from 'node:buffer';
import { PduType } from './pdu.ts';
import type { AssociateAccept, AssociateRequest } from './pdu.ts';

export type Bytes = number[];

export function u16(value: number): Bytes {
  if (value > 0xffff) throw new RangeError(`${value} does not fit a 2-byte length`);
  return [(value >>> 8) & 0xff, value & 0xff];
}

export function u32(value: number): Bytes {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** Text as one byte a character (ISO 8859-1; ISO 646 is its first half). */
export function text(value: string): Bytes {
  return Array.from(Buffer.from(value, 'latin1'));
}

/** A 16-byte AE title field, space padded (PS3.8 Table 9-11, bytes 11-26 and 27-42). */
export function aeField(title: string): Bytes {
  return text(title.padEnd(16, ' '));
}

/** A 2-byte length and the bytes (the fields inside user information sub-items). */
export function lengthPrefixed(value: Bytes): Bytes {
  return [...u16(value.length), ...value];
}

/** An item or sub-item: type, reserved 00H, 2-byte item length, value (PS3.8 9.3.2). */
export function item(type: number, ...value: Bytes[]): Bytes {
  const body = value.flat();
  return [type, 0x00, ...u16(body.length), ...body];
}

/** A PDU: type, reserved 00H, 4-byte PDU length, body (PS3.8 9.3.1). */
export function pdu(type: number, ...body: Bytes[]): Uint8Array {
  const flat = body.flat();
  return Uint8Array.from([type, 0x00, ...u32(flat.length), ...flat]);
}

/** The fixed fields of an A-ASSOCIATE-RQ/AC (Table 9-11 bytes 7-74). */
export function associateFixedFields(called: string, calling: string, protocolVersion = 0x0001): Bytes {
  return [
    ...u16(protocolVersion), // bytes 7-8: protocol version, bit 0 = version 1
    0x00, 0x00, // bytes 9-10: reserved
    ...aeField(called), // bytes 11-26: called AE title
    ...aeField(calling), // bytes 27-42: calling AE title
    ...new Array<number>(32).fill(0), // bytes 43-74: reserved
  ];
}

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const VERIFICATION = '1.2.840.10008.1.1';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const DCMTK_CLASS_UID = '1.2.276.0.7230010.3.0.3.6.7';

/** An A-ASSOCIATE-RQ as DCMTK storescu sends it with `-usr alice -pwd secret -rsp`. */
export const sampleRequest: AssociateRequest = {
  type: PduType.AssociateRequest,
  protocolVersion: 1,
  calledAETitle: 'PACS',
  callingAETitle: 'CT_SCANNER_1',
  applicationContext: '1.2.840.10008.3.1.1.1',
  presentationContexts: [
    { id: 1, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN] },
    { id: 3, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] },
  ],
  userInformation: {
    maxLength: 16384,
    implementationClassUid: DCMTK_CLASS_UID,
    roleSelections: [],
    implementationVersionName: 'OFFIS_DCMTK_367',
    extendedNegotiations: [],
    commonExtendedNegotiations: [],
    userIdentity: {
      identityType: 2,
      positiveResponseRequested: true,
      primaryField: Uint8Array.from(text('alice')),
      secondaryField: Uint8Array.from(text('secret')),
    },
    unknownSubItems: [],
  },
};

/** The user information item of `sampleRequest` (PS3.8 Table 9-16). */
export const sampleRequestUserInformation: Bytes = item(
  0x50,
  item(0x51, u32(16384)), // PS3.8 Table D.1-1: maximum length received
  item(0x52, text(DCMTK_CLASS_UID)), // PS3.7 Table D.3-1: implementation class UID
  item(0x55, text('OFFIS_DCMTK_367')), // PS3.7 Table D.3-3: implementation version name
  item(
    0x58, // PS3.7 Table D.3-14: user identity negotiation (RQ)
    [0x02], // user identity type: 2, username and passcode
    [0x01], // positive response requested
    lengthPrefixed(text('alice')), // primary field length, primary field
    lengthPrefixed(text('secret')), // secondary field length, secondary field
  ),
);

/** `sampleRequest` laid out by hand from PS3.8 Table 9-11. */
export const sampleRequestBytes: Uint8Array = pdu(
  0x01, // A-ASSOCIATE-RQ
  associateFixedFields('PACS', 'CT_SCANNER_1'),
  item(0x10, text('1.2.840.10008.3.1.1.1')), // Table 9-12: application context, at offset 74
  item(
    0x20, // Table 9-13: presentation context (RQ)
    [0x01, 0x00, 0x00, 0x00], // context ID 1, three reserved bytes
    item(0x30, text(CT_IMAGE_STORAGE)), // Table 9-14: abstract syntax
    item(0x40, text(EXPLICIT_VR_LITTLE_ENDIAN)), // Table 9-15: transfer syntaxes, in order of preference
    item(0x40, text(IMPLICIT_VR_LITTLE_ENDIAN)),
  ),
  item(0x20, [0x03, 0x00, 0x00, 0x00], item(0x30, text(VERIFICATION)), item(0x40, text(IMPLICIT_VR_LITTLE_ENDIAN))),
  sampleRequestUserInformation,
);

/** The PACS's answer to `sampleRequest`: CT accepted, verification refused. */
export const sampleAccept: AssociateAccept = {
  type: PduType.AssociateAccept,
  protocolVersion: 1,
  calledAETitle: 'PACS',
  callingAETitle: 'CT_SCANNER_1',
  applicationContext: '1.2.840.10008.3.1.1.1',
  presentationContexts: [
    { id: 1, result: 0, transferSyntax: EXPLICIT_VR_LITTLE_ENDIAN },
    { id: 3, result: 3, transferSyntax: '' },
  ],
  userInformation: {
    maxLength: 0,
    implementationClassUid: DCMTK_CLASS_UID,
    roleSelections: [],
    implementationVersionName: 'OFFIS_DCMTK_367',
    extendedNegotiations: [],
    commonExtendedNegotiations: [],
    userIdentityServerResponse: new Uint8Array(0),
    unknownSubItems: [],
  },
};

/** `sampleAccept` laid out by hand from PS3.8 Table 9-17. */
export const sampleAcceptBytes: Uint8Array = pdu(
  0x02, // A-ASSOCIATE-AC
  associateFixedFields('PACS', 'CT_SCANNER_1'), // AE fields echo the RQ
  item(0x10, text('1.2.840.10008.3.1.1.1')),
  item(
    0x21, // Table 9-18: presentation context (AC)
    [0x01, 0x00, 0x00, 0x00], // context ID 1, reserved, result 0 (acceptance), reserved
    item(0x40, text(EXPLICIT_VR_LITTLE_ENDIAN)), // Table 9-19: the one transfer syntax
  ),
  item(0x21, [0x03, 0x00, 0x03, 0x00], item(0x40)), // context 3: abstract syntax not supported, empty transfer syntax
  item(
    0x50, // Table 9-20: user information
    item(0x51, u32(0)), // maximum length 0: no maximum
    item(0x52, text(DCMTK_CLASS_UID)),
    item(0x55, text('OFFIS_DCMTK_367')),
    item(0x59, lengthPrefixed([])), // PS3.7 Table D.3-15: server response, empty for identity type 2
  ),
);
