// What an association was negotiated for: the accepted presentation contexts and, for
// each, which roles the association requestor (the caller) and the acceptor (the PACS)
// may take. A pure function of the A-ASSOCIATE-RQ as the PACS received it and the
// A-ASSOCIATE-AC it answered; the relay holds every DIMSE message to it.

import type { AssociateAccept, AssociateRequest, RoleSelection } from '../wire/pdu.ts';
import { PresentationContextResult } from '../wire/pdu.ts';

export interface Roles {
  scu: boolean;
  scp: boolean;
}

export interface NegotiatedContext {
  id: number;
  abstractSyntax: string;
  /** The caller's roles; the PACS holds the opposite ones (PS3.7 D.3.3.4). */
  requestor: Roles;
}

export interface Negotiated {
  /** Accepted presentation contexts by ID. */
  accepted: ReadonlyMap<number, NegotiatedContext>;
  /** Context IDs the caller proposed (accepted or not), to tell a refused context from one never proposed. */
  proposed: ReadonlySet<number>;
}

/** Without role selection, the requestor is the SCU and the acceptor the SCP (PS3.7 D.3.3.4). */
const DEFAULT_REQUESTOR_ROLES: Roles = Object.freeze({ scu: true, scp: false });

/**
 * The requestor's roles for a SOP class (PS3.7 D.3.3.4): when both the RQ
 * and the AC carry a role selection item for it, the requestor has each role that it
 * proposed and the acceptor accepted; when either leaves it out, the default roles hold.
 * Neither role (the acceptor refused every proposed one) means no DIMSE message may
 * travel on the context, which the message guard then enforces.
 */
export function requestorRoles(proposed: RoleSelection | undefined, answered: RoleSelection | undefined): Roles {
  if (!proposed || !answered) return DEFAULT_REQUESTOR_ROLES;
  return { scu: proposed.scuRole === 1 && answered.scuRole === 1, scp: proposed.scpRole === 1 && answered.scpRole === 1 };
}

export function negotiate(request: AssociateRequest, accept: AssociateAccept): Negotiated {
  const abstractSyntaxes = new Map(request.presentationContexts.map((pc) => [pc.id, pc.abstractSyntax]));
  const firstBySopClass = (items: readonly RoleSelection[]) => {
    const map = new Map<string, RoleSelection>();
    for (const item of items) if (!map.has(item.sopClassUid)) map.set(item.sopClassUid, item);
    return map;
  };
  const proposedRoles = firstBySopClass(request.userInformation.roleSelections);
  const answeredRoles = firstBySopClass(accept.userInformation.roleSelections);
  const accepted = new Map<number, NegotiatedContext>();
  for (const pc of accept.presentationContexts) {
    const abstractSyntax = abstractSyntaxes.get(pc.id);
    // PS3.8 9.3.3.2: an AC item for a context the RQ did not propose accepts nothing.
    if (pc.result !== PresentationContextResult.Acceptance || abstractSyntax === undefined || accepted.has(pc.id)) continue;
    accepted.set(pc.id, { id: pc.id, abstractSyntax, requestor: requestorRoles(proposedRoles.get(abstractSyntax), answeredRoles.get(abstractSyntax)) });
  }
  return { accepted, proposed: new Set(abstractSyntaxes.keys()) };
}
