// Typed DICOM upper-layer PDUs (PS3.8 section 9.3). Plain data: the reader turns bytes
// into these, the writer turns them back; nothing here touches a socket.

/** PDU type field values, PS3.8 Table 9-11 ... 9-26. */
export const PduType = {
  AssociateRequest: 0x01,
  AssociateAccept: 0x02,
  AssociateReject: 0x03,
  DataTransfer: 0x04,
  ReleaseRequest: 0x05,
  ReleaseResponse: 0x06,
  Abort: 0x07,
} as const;
export type PduTypeCode = (typeof PduType)[keyof typeof PduType];

/** Item and sub-item type field values (PS3.8 9.3.2, PS3.7 Annex D.3.3). */
export const ItemType = {
  ApplicationContext: 0x10,
  PresentationContextRequest: 0x20,
  PresentationContextAccept: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
  MaximumLength: 0x51,
  ImplementationClassUid: 0x52,
  AsynchronousOperationsWindow: 0x53,
  RoleSelection: 0x54,
  ImplementationVersionName: 0x55,
  SopClassExtendedNegotiation: 0x56,
  SopClassCommonExtendedNegotiation: 0x57,
  UserIdentityRequest: 0x58,
  UserIdentityAccept: 0x59,
} as const;

/** The only application context name DICOM defines (PS3.7 Annex A.2.1). */
export const DICOM_APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

/** Every PDU starts with type (1), reserved (1), length (4, big-endian). */
export const PDU_HEADER_LENGTH = 6;

/** A presentation context as proposed in an A-ASSOCIATE-RQ (item 0x20). */
export interface PresentationContextRequest {
  /** Odd integer 1..255 (PS3.8 9.3.2.2). */
  id: number;
  abstractSyntax: string;
  /** One or more transfer syntax UIDs, in the requestor's order of preference. */
  transferSyntaxes: string[];
}

/** Result/reason of a presentation context in the A-ASSOCIATE-AC (PS3.8 Table 9-18). */
export const PresentationContextResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;
export type PresentationContextResultCode = (typeof PresentationContextResult)[keyof typeof PresentationContextResult];

/** A presentation context as answered in an A-ASSOCIATE-AC (item 0x21). */
export interface PresentationContextAccept {
  id: number;
  result: number;
  /** Exactly one transfer syntax sub-item; its value is not significant unless accepted. */
  transferSyntax: string;
}

/** SCP/SCU role selection sub-item (PS3.7 D.3.3.4). */
export interface RoleSelection {
  sopClassUid: string;
  scuRole: number;
  scpRole: number;
}

/** SOP class extended negotiation sub-item (PS3.7 D.3.3.5); the info is service specific. */
export interface SopClassExtendedNegotiation {
  sopClassUid: string;
  applicationInformation: Uint8Array;
}

/** SOP class common extended negotiation sub-item (PS3.7 D.3.3.6, RQ only). */
export interface SopClassCommonExtendedNegotiation {
  sopClassUid: string;
  serviceClassUid: string;
  relatedGeneralSopClassUids: string[];
}

/** User identity types (PS3.7 Table D.3-14). */
export const UserIdentityType = {
  Username: 1,
  UsernameAndPasscode: 2,
  Kerberos: 3,
  Saml: 4,
  Jwt: 5,
} as const;

/** User identity negotiation sub-item, RQ (0x58, PS3.7 D.3.3.7.1). */
export interface UserIdentityRequest {
  identityType: number;
  positiveResponseRequested: boolean;
  /** Username, Kerberos ticket, SAML assertion or JWT (raw bytes; UTF-8 for types 1, 2, 5). */
  primaryField: Uint8Array;
  /** Passcode for type 2, empty otherwise. Secret: never logged. */
  secondaryField: Uint8Array;
}

/** A user information sub-item this codec does not interpret, kept to be relayed. */
export interface UnknownSubItem {
  itemType: number;
  data: Uint8Array;
}

/** User information item (0x50, PS3.8 9.3.2.3 and PS3.7 Annex D.3.3). */
export interface UserInformation {
  /** Maximum length received (0x51); 0 means unlimited (PS3.8 D.1). */
  maxLength?: number;
  implementationClassUid?: string;
  asynchronousOperationsWindow?: { maxOperationsInvoked: number; maxOperationsPerformed: number };
  roleSelections: RoleSelection[];
  implementationVersionName?: string;
  extendedNegotiations: SopClassExtendedNegotiation[];
  commonExtendedNegotiations: SopClassCommonExtendedNegotiation[];
  /** 0x58, only in an RQ. */
  userIdentity?: UserIdentityRequest;
  /** 0x59 server response, only in an AC (empty for identity types 1 and 2). */
  userIdentityServerResponse?: Uint8Array;
  unknownSubItems: UnknownSubItem[];
}

/** Fields shared by A-ASSOCIATE-RQ and -AC (PS3.8 Tables 9-11 and 9-17). */
interface AssociateCommon {
  /** Bit 0 set = version 1, the only version defined. */
  protocolVersion: number;
  /** Leading and trailing spaces removed (PS3.8 9.3.2: not significant). */
  calledAETitle: string;
  callingAETitle: string;
  applicationContext: string;
  userInformation: UserInformation;
}

export interface AssociateRequest extends AssociateCommon {
  type: typeof PduType.AssociateRequest;
  presentationContexts: PresentationContextRequest[];
}

export interface AssociateAccept extends AssociateCommon {
  type: typeof PduType.AssociateAccept;
  presentationContexts: PresentationContextAccept[];
}

export interface AssociateReject {
  type: typeof PduType.AssociateReject;
  /** 1 rejected-permanent, 2 rejected-transient. */
  result: number;
  /** 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation). */
  source: number;
  reason: number;
}

/** One presentation data value item inside a P-DATA-TF (PS3.8 9.3.5.1, Annex E.2). */
export interface PresentationDataValue {
  presentationContextId: number;
  /** Message control header: bit 0 = command (else data set), bit 1 = last fragment. */
  isCommand: boolean;
  isLast: boolean;
  data: Uint8Array;
}

export interface DataTransfer {
  type: typeof PduType.DataTransfer;
  values: PresentationDataValue[];
}

export interface ReleaseRequest {
  type: typeof PduType.ReleaseRequest;
}

export interface ReleaseResponse {
  type: typeof PduType.ReleaseResponse;
}

/** A-ABORT source values (PS3.8 Table 9-26). */
export const AbortSource = { ServiceUser: 0, ServiceProvider: 2 } as const;

/** A-ABORT reasons when the source is the service provider (PS3.8 Table 9-26). */
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;
export type AbortReasonCode = (typeof AbortReason)[keyof typeof AbortReason];

export interface Abort {
  type: typeof PduType.Abort;
  source: number;
  reason: number;
}

export type Pdu =
  | AssociateRequest
  | AssociateAccept
  | AssociateReject
  | DataTransfer
  | ReleaseRequest
  | ReleaseResponse
  | Abort;
