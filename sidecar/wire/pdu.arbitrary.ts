// fast-check generators of valid PDUs of every type, for the codec's property tests
// (round trip, split input, mutation fuzzing, framing). Test support only: nothing in the
// sidecar imports this module.
//
// "Valid" means what the reader accepts and gives back unchanged: AE titles without
// leading/trailing spaces (they are not significant, PS3.8 Table 9-11), UIDs of digits
// and dots up to 64 characters (Annex F), odd unique presentation context IDs, optional
// fields absent rather than undefined.

import fc from 'fast-check';
import { PduType } from './pdu.ts';
import type {
  Abort,
  AssociateAccept,
  AssociateReject,
  AssociateRequest,
  DataTransfer,
  Pdu,
  PresentationContextAccept,
  PresentationContextRequest,
  PresentationDataValue,
  ReleaseRequest,
  ReleaseResponse,
  UserInformation,
} from './pdu.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const oddId = fc.integer({ min: 0, max: 127 }).map((n) => 2 * n + 1);
const smallBytes = fc.uint8Array({ maxLength: 40 });

/** Drops keys whose value is undefined, so that optional fields are absent, as the reader leaves them. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Records as plain objects: fast-check may otherwise use a null prototype, which deep equality tells apart. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

/** Any ISO 8859-1 text (every byte value), the way the reader decodes 8-bit fields. */
export function latin1Text(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.array(u8, { minLength, maxLength }).map((codes) => String.fromCharCode(...codes));
}

/** UIDs: well-known ones and random digit-and-dot strings of 1 to 64 characters. */
export const uid: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1.2.840.10008.3.1.1.1', '1.2.840.10008.1.1', '1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.2'),
  fc
    .array(fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,11}$/)), { minLength: 1, maxLength: 12 })
    .map((parts) => parts.join('.'))
    .filter((text) => text.length <= 64),
);

/** AE titles: up to 16 bytes, any byte value (control characters, non-ASCII), spaces trimmed. */
export const aeTitle: fc.Arbitrary<string> = latin1Text(0, 16).map((text) => text.replace(/^ +| +$/g, ''));

const requestContexts: fc.Arbitrary<PresentationContextRequest[]> = fc.uniqueArray(
  record({ id: oddId, abstractSyntax: uid, transferSyntaxes: fc.array(uid, { minLength: 1, maxLength: 4 }) }),
  { minLength: 1, maxLength: 6, selector: (context) => context.id },
);

const acceptContexts: fc.Arbitrary<PresentationContextAccept[]> = fc.uniqueArray(
  fc.oneof(
    record({ id: oddId, result: fc.constant(0), transferSyntax: uid }),
    // Not accepted: the transfer syntax is not significant and may be empty.
    record({ id: oddId, result: fc.integer({ min: 1, max: 4 }), transferSyntax: fc.oneof(fc.constant(''), uid) }),
  ),
  { minLength: 1, maxLength: 6, selector: (context) => context.id },
);

function userInformation(isRequest: boolean): fc.Arbitrary<UserInformation> {
  return fc
    .record({
      maxLength: optional(u32),
      implementationClassUid: optional(uid),
      asynchronousOperationsWindow: optional(record({ maxOperationsInvoked: u16, maxOperationsPerformed: u16 })),
      roleSelections: fc.uniqueArray(record({ sopClassUid: uid, scuRole: u8, scpRole: u8 }), { maxLength: 3, selector: (r) => r.sopClassUid }),
      implementationVersionName: optional(latin1Text(1, 16)),
      extendedNegotiations: fc.uniqueArray(record({ sopClassUid: uid, applicationInformation: smallBytes }), { maxLength: 3, selector: (n) => n.sopClassUid }),
      commonExtendedNegotiations: fc.uniqueArray(
        record({ sopClassUid: uid, serviceClassUid: uid, relatedGeneralSopClassUids: fc.array(uid, { maxLength: 3 }) }),
        { maxLength: 2, selector: (n) => n.sopClassUid },
      ),
      userIdentity: isRequest
        ? optional(record({ identityType: u8, positiveResponseRequested: fc.boolean(), primaryField: smallBytes, secondaryField: smallBytes }))
        : fc.constant(undefined),
      userIdentityServerResponse: isRequest ? fc.constant(undefined) : optional(smallBytes),
      unknownSubItems: fc.array(
        record({ itemType: u8.filter((type) => type < 0x51 || type > 0x59), data: smallBytes }),
        { maxLength: 3 },
      ),
    })
    .map((info) => withoutUndefined(info));
}

export const associateRequest: fc.Arbitrary<AssociateRequest> = record({
  type: fc.constant(PduType.AssociateRequest),
  protocolVersion: u16,
  calledAETitle: aeTitle,
  callingAETitle: aeTitle,
  applicationContext: uid,
  presentationContexts: requestContexts,
  userInformation: userInformation(true),
});

export const associateAccept: fc.Arbitrary<AssociateAccept> = record({
  type: fc.constant(PduType.AssociateAccept),
  protocolVersion: u16,
  calledAETitle: aeTitle,
  callingAETitle: aeTitle,
  applicationContext: uid,
  presentationContexts: acceptContexts,
  userInformation: userInformation(false),
});

export const associateReject: fc.Arbitrary<AssociateReject> = record({
  type: fc.constant(PduType.AssociateReject),
  result: u8,
  source: u8,
  reason: u8,
});

const presentationDataValue: fc.Arbitrary<PresentationDataValue> = record({
  presentationContextId: oddId,
  isCommand: fc.boolean(),
  isLast: fc.boolean(),
  data: fc.uint8Array({ maxLength: 300 }),
});

export const dataTransfer: fc.Arbitrary<DataTransfer> = record({
  type: fc.constant(PduType.DataTransfer),
  values: fc.array(presentationDataValue, { minLength: 1, maxLength: 4 }),
});

export const releaseRequest: fc.Arbitrary<ReleaseRequest> = fc.constant({ type: PduType.ReleaseRequest });
export const releaseResponse: fc.Arbitrary<ReleaseResponse> = fc.constant({ type: PduType.ReleaseResponse });

export const abortPdu: fc.Arbitrary<Abort> = record({ type: fc.constant(PduType.Abort), source: u8, reason: u8 });

/** Any valid PDU, every type equally likely. */
export const pdu: fc.Arbitrary<Pdu> = fc.oneof(
  associateRequest,
  associateAccept,
  associateReject,
  dataTransfer,
  releaseRequest,
  releaseResponse,
  abortPdu,
);
