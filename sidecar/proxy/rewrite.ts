// What the PACS receives and what the caller gets back, derived from the decision.
// Pure: typed PDUs in, typed PDUs out.
import type { AssociateAccept, AssociateRequest, PresentationContextAccept, UserIdentityRequest } from '../wire/pdu.ts';
import { PresentationContextResult } from '../wire/pdu.ts';
import type { Acceptance } from '../decision/decide.ts';

/** What becomes of the caller's user identity sub-item upstream. */
export type UpstreamIdentity =
  /** Removed (identity.forwardToUpstream false): passcodes and tokens stop here. */
  | { kind: 'strip' }
  /** Relayed as the caller sent it (identity.forwardToUpstream). */
  | { kind: 'forward' }
  /** Edge mode (upstream.identity): the sidecar's own identity in its place. */
  | { kind: 'replace'; identity: UserIdentityRequest };

/**
 * The A-ASSOCIATE-RQ forwarded upstream: the presentation contexts the peer may not use
 * are left out (the sidecar answers them itself), and the user identity sub-item is
 * removed, relayed or replaced (UpstreamIdentity).
 */
export function requestForUpstream(request: AssociateRequest, acceptance: Acceptance, identity: UpstreamIdentity): AssociateRequest {
  const refused = new Set(acceptance.refusedPresentationContexts);
  const { userIdentity, ...userInformation } = request.userInformation;
  const sent = identity.kind === 'replace' ? identity.identity : identity.kind === 'forward' ? userIdentity : undefined;
  return {
    ...request,
    presentationContexts: request.presentationContexts.filter((pc) => !refused.has(pc.id)),
    userInformation: sent ? { ...userInformation, userIdentity: sent } : userInformation,
  };
}

/**
 * The A-ASSOCIATE-AC relayed to the caller: every presentation context the caller
 * proposed is answered (PS3.8 9.3.3.2: one 0x21 item per proposed context), the ones
 * the sidecar refused with result 3 abstract-syntax-not-supported, in the caller's order;
 * and when the caller asked for a positive identity response that the sidecar verified,
 * a 0x59 sub-item (PS3.7 D.3.3.7.2: zero-length server response for types 1 and 2).
 */
export function acceptForClient(accept: AssociateAccept, request: AssociateRequest, acceptance: Acceptance, identity: UpstreamIdentity): AssociateAccept {
  const fromUpstream = new Map(accept.presentationContexts.map((pc) => [pc.id, pc]));
  const refused = new Set(acceptance.refusedPresentationContexts);
  const presentationContexts: PresentationContextAccept[] = [];
  for (const proposed of request.presentationContexts) {
    if (refused.has(proposed.id)) {
      presentationContexts.push({
        id: proposed.id,
        result: PresentationContextResult.AbstractSyntaxNotSupported,
        // PS3.8 9.3.3.2: the transfer syntax is not significant when the context is not accepted.
        transferSyntax: proposed.transferSyntaxes[0] ?? '',
      });
      continue;
    }
    const answered = fromUpstream.get(proposed.id);
    if (answered) presentationContexts.push(answered);
  }
  const userInformation = { ...accept.userInformation };
  // The upstream's response to the sidecar's own identity is not an answer to the caller's.
  if (identity.kind === 'replace') delete userInformation.userIdentityServerResponse;
  if (acceptance.identityResponseRequested && userInformation.userIdentityServerResponse === undefined) {
    userInformation.userIdentityServerResponse = new Uint8Array(0);
  }
  return { ...accept, presentationContexts, userInformation };
}
