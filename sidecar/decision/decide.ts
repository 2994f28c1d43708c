// The association decision: a pure function of the A-ASSOCIATE-RQ, where it came from,
// what was verified about the caller, and the policy. No I/O, no clock.
//
// It runs in two steps so that expensive identity checks (bcrypt, LDAP) only happen for
// requests that got past the cheap ones:
//   screen(): protocol version, application context, called AE title, calling AE title
//             bound to source address and client certificate -> candidate peers
//   admit():  user identity, the peers' users/groups, association limits, services
// decide() composes both for callers that have everything at hand.
import type { AssociateRequest } from '../wire/pdu.ts';
import { DICOM_APPLICATION_CONTEXT } from '../wire/pdu.ts';
import { aeTitleProblem, printableAETitle } from '../dicom/ae-title.ts';
import { isStorageSopClass, servicesAllowGet, servicesCover } from '../dicom/services.ts';
import type { Address } from './address.ts';
import { peerAllowsAddress, type Peer, type Policy } from './policy.ts';
import { Reject, type RejectCode } from './reject.ts';

/** What TLS told us about the client, when the connection is TLS. */
export interface ClientCertificate {
  /** SAN DNS names and the subject CN, lower-cased; verified against clientCAFile. */
  names: readonly string[];
  subject: string;
}

/** The outcome of verifying the user identity sub-item (identity/ verifiers). */
export type IdentityOutcome =
  | { status: 'absent' }
  | { status: 'verified'; identityType: number; username: string; groups: readonly string[] }
  | {
      status: 'failed';
      identityType: number;
      why: string;
      /** The verifier could not reach what it needed (the directory, the JWKS URL): not the caller's fault, and may pass later. */
      transient?: boolean;
    };

export interface ScreenInput {
  request: AssociateRequest;
  source: Address;
  sourceText: string;
  clientCertificate?: ClientCertificate | undefined;
  /** The failed-attempts tracker has blocked this source address for now. */
  sourceBlocked?: boolean;
}

export interface AdmitInput {
  request: AssociateRequest;
  identity: IdentityOutcome;
  activeAssociations: number;
  activeAssociationsOfPeer: (peerName: string) => number;
}

export interface Rejection {
  verdict: 'reject';
  reject: RejectCode;
  /** In words, for the log and audit record (never sent on the wire). */
  why: string;
  /** The peer the caller claimed to be, when one was identified. */
  peer?: string;
}

export interface Screened {
  verdict: 'screened';
  candidates: readonly Peer[];
}

export interface Acceptance {
  verdict: 'accept';
  peer: Peer;
  identity: IdentityOutcome;
  /** Presentation context IDs the peer may not use: refused with result 3 (PS3.8 Table 9-18). */
  refusedPresentationContexts: readonly number[];
  /** The requestor asked for a positive identity response and the identity was verified (PS3.7 D.3.3.7). */
  identityResponseRequested: boolean;
}

export type Decision = Rejection | Acceptance;

const reject = (code: RejectCode, why: string, peer?: string): Rejection => (peer ? { verdict: 'reject', reject: code, why, peer } : { verdict: 'reject', reject: code, why });

/** Step 1: everything that needs no identity verification. */
export function screen(input: ScreenInput, policy: Policy): Rejection | Screened {
  const { request } = input;
  if (input.sourceBlocked) {
    return reject(Reject.TemporaryCongestion, `source address ${input.sourceText} is blocked after repeated refused associations`);
  }
  // PS3.8 9.3.2: bit 0 of the protocol version field is version 1, the only one defined.
  if ((request.protocolVersion & 0x0001) === 0) {
    return reject(Reject.ProtocolVersionNotSupported, `protocol version 0x${request.protocolVersion.toString(16).padStart(4, '0')} does not include version 1`);
  }
  // PS3.7 A.2.1: one application context name for all of DICOM.
  if (request.applicationContext !== DICOM_APPLICATION_CONTEXT) {
    return reject(Reject.ApplicationContextNotSupported, `application context "${request.applicationContext}" is not the DICOM application context ${DICOM_APPLICATION_CONTEXT}`);
  }
  const calledProblem = aeTitleProblem(request.calledAETitle);
  if (calledProblem || !policy.calledAETitles.has(request.calledAETitle)) {
    return reject(
      Reject.CalledAETitleNotRecognized,
      calledProblem
        ? `called AE title ${printableAETitle(request.calledAETitle)} is invalid: ${calledProblem}`
        : `called AE title ${printableAETitle(request.calledAETitle)} is not one of ${[...policy.calledAETitles].join(', ')}`,
    );
  }
  const calling = request.callingAETitle;
  const callingProblem = aeTitleProblem(calling);
  if (callingProblem) {
    return reject(Reject.CallingAETitleNotRecognized, `calling AE title ${printableAETitle(calling)} is invalid: ${callingProblem}`);
  }

  const candidates: Peer[] = [];
  let refusedBy: { peer: string; why: string } | undefined;
  for (const peer of policy.peers) {
    if (peer.aeTitles && !peer.aeTitles.has(calling)) continue;
    if (!peerAllowsAddress(peer, input.source)) {
      refusedBy ??= { peer: peer.name, why: `calling AE title ${printableAETitle(calling)} (peer ${peer.name}) is not allowed from ${input.sourceText}; allowed: ${peer.ipBlocks!.map((b) => b.cidr).join('; ')}` };
      continue;
    }
    if (peer.clientCertificateNames) {
      const names = input.clientCertificate?.names ?? [];
      if (!names.some((name) => peer.clientCertificateNames!.has(name))) {
        refusedBy ??= {
          peer: peer.name,
          why: `calling AE title ${printableAETitle(calling)} (peer ${peer.name}) needs a client certificate for ${[...peer.clientCertificateNames].join(', ')}; ${input.clientCertificate ? `the certificate names ${names.join(', ') || '(none)'}` : 'none was presented'}`,
        };
        continue;
      }
    }
    candidates.push(peer);
  }
  if (candidates.length === 0) {
    return refusedBy
      ? reject(Reject.CallingAETitleNotRecognized, refusedBy.why, refusedBy.peer)
      : reject(Reject.CallingAETitleNotRecognized, `calling AE title ${printableAETitle(calling)} is not listed by any peer`);
  }
  return { verdict: 'screened', candidates };
}

function identityMatches(peer: Peer, identity: IdentityOutcome): boolean {
  if (!peer.users && !peer.groups) return true;
  if (identity.status !== 'verified') return false;
  return Boolean(peer.users?.has(identity.username) || identity.groups.some((g) => peer.groups?.has(g)));
}

function describeIdentity(identity: IdentityOutcome): string {
  return identity.status === 'verified' ? `user "${identity.username}"` : 'an anonymous caller';
}

/**
 * Whether the peer may use a presentation context for `abstractSyntax`: one of its
 * services covers it, or it is a storage SOP class the caller proposes to take the SCP
 * role for (role selection, PS3.7 D.3.3.4) and the peer may C-GET: a C-GET returns its
 * instances on such contexts (PS3.4 C.4.3.3). The message guard then lets only the PACS
 * send C-STORE-RQ on them, unless the peer may store too.
 */
function contextAllowed(peer: Peer, request: AssociateRequest, abstractSyntax: string): boolean {
  if (servicesCover(peer.services, abstractSyntax)) return true;
  if (!isStorageSopClass(abstractSyntax) || !servicesAllowGet(peer.services)) return false;
  return request.userInformation.roleSelections.some((role) => role.sopClassUid === abstractSyntax && role.scpRole === 1);
}

/** Step 2: identity, the peers' users and groups, limits and services. */
export function admit(candidates: readonly Peer[], input: AdmitInput, policy: Policy): Decision {
  const { identity, request } = input;
  const mode = policy.config.identity.mode;
  const calling = printableAETitle(request.callingAETitle);

  if (mode !== 'Disabled') {
    if (identity.status === 'failed') {
      // A directory or key set we cannot reach is our outage, not a wrong passcode: the
      // caller may retry, and it does not count toward limits.failedAttempts.
      if (identity.transient) return reject(Reject.TemporaryCongestion, identity.why, candidates[0]?.name);
      return reject(Reject.IdentityRejected, identity.why, candidates[0]?.name);
    }
    if (identity.status === 'absent' && mode === 'Required') {
      return reject(Reject.IdentityRejected, `identity.mode is Required and ${calling} sent no user identity`, candidates[0]?.name);
    }
  }
  const effectiveIdentity: IdentityOutcome = mode === 'Disabled' ? { status: 'absent' } : identity;

  const peer = candidates.find((p) => identityMatches(p, effectiveIdentity));
  if (!peer) {
    const named = candidates[0]!;
    return reject(Reject.IdentityRejected, `${describeIdentity(effectiveIdentity)} is not among the users or groups of peer ${named.name}`, named.name);
  }

  const limits = policy.config.limits;
  if (input.activeAssociations >= limits.maxAssociations) {
    return reject(Reject.LocalLimitExceeded, `${input.activeAssociations} associations are open; limits.maxAssociations is ${limits.maxAssociations}`, peer.name);
  }
  const ofPeer = input.activeAssociationsOfPeer(peer.name);
  if (ofPeer >= limits.maxAssociationsPerPeer) {
    return reject(Reject.LocalLimitExceeded, `peer ${peer.name} has ${ofPeer} associations open; limits.maxAssociationsPerPeer is ${limits.maxAssociationsPerPeer}`, peer.name);
  }

  const refused = request.presentationContexts.filter((pc) => !contextAllowed(peer, request, pc.abstractSyntax)).map((pc) => pc.id);
  if (refused.length > 0 && refused.length === request.presentationContexts.length) {
    return reject(Reject.NoReasonGiven, `peer ${peer.name} may use only ${peer.services!.join(', ')}; none of the ${refused.length} proposed presentation contexts is one of them`, peer.name);
  }

  const asked = request.userInformation.userIdentity?.positiveResponseRequested ?? false;
  return {
    verdict: 'accept',
    peer,
    identity: effectiveIdentity,
    refusedPresentationContexts: refused,
    identityResponseRequested: asked && effectiveIdentity.status === 'verified',
  };
}

/** Both steps, for callers that have the identity outcome already. */
export function decide(input: ScreenInput & AdmitInput, policy: Policy): Decision {
  const screened = screen(input, policy);
  if (screened.verdict === 'reject') return screened;
  return admit(screened.candidates, input, policy);
}

/** Whether the request carries an identity the configured mode wants verified. */
export function identityToVerify(request: AssociateRequest, policy: Policy): boolean {
  return policy.config.identity.mode !== 'Disabled' && request.userInformation.userIdentity !== undefined;
}

