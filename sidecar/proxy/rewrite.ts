// What the PACS receives and what the caller gets back, derived from the decision.
// Pure: typed PDUs in, typed PDUs out.
import type { AssociateAccept, AssociateRequest, PresentationContextAccept } from '../wire/pdu.ts';
import { PresentationContextResult } from '../wire/pdu.ts';
import type { Acceptance } from '../decision/decide.ts';

/**
 * The A-ASSOCIATE-RQ forwarded upstream: the presentation contexts the peer may not use
 * are left out (the sidecar answers them itself), and the user identity sub-item is
 * removed unless identity.forwardToUpstream is set, so passcodes and tokens stop here.
 */
export function requestForUpstream(request: AssociateRequest, acceptance: Acceptance, forwardIdentity: boolean): AssociateRequest {
  const refused = new Set(acceptance.refusedPresentationContexts);
  const { userIdentity, ...userInformation } = request.userInformation;
  return {
    ...request,
    presentationContexts: request.presentationContexts.filter((pc) => !refused.has(pc.id)),
    userInformation: forwardIdentity && userIdentity ? { ...userInformation, userIdentity } : userInformation,
  };
}

/**
 * The A-ASSOCIATE-AC relayed to the caller: every presentation context the caller
 * proposed is answered (PS3.8 9.3.3.2: one 0x21 item per proposed context), the ones
 * the sidecar refused with result 3 abstract-syntax-not-supported, in the caller's order;
 * and when the caller asked for a positive identity response that the sidecar verified,
 * a 0x59 sub-item (PS3.7 D.3.3.7.2: zero-length server response for types 1 and 2).
 */
export function acceptForClient(accept: AssociateAccept, request: AssociateRequest, acceptance: Acceptance, serverResponse: Uint8Array = new Uint8Array(0)): AssociateAccept {
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
  if (acceptance.identityResponseRequested && userInformation.userIdentityServerResponse === undefined) {
    userInformation.userIdentityServerResponse = serverResponse;
  }
  return { ...accept, presentationContexts, userInformation };
}
