// What the PACS receives and what the caller gets back: presentation contexts, and the
// user identity stripped, forwarded or replaced (edge mode).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Acceptance } from '../decision/decide.ts';
import { DICOM_APPLICATION_CONTEXT, UserIdentityType, type AssociateAccept, type AssociateRequest, type UserIdentityRequest } from '../wire/pdu.ts';
import { acceptForClient, requestForUpstream, type UpstreamIdentity } from './rewrite.ts';

const utf8 = new TextEncoder();
const callers: UserIdentityRequest = { identityType: UserIdentityType.UsernameAndPasscode, positiveResponseRequested: true, primaryField: utf8.encode('alice'), secondaryField: utf8.encode('correct horse') };
const site: UserIdentityRequest = { identityType: UserIdentityType.UsernameAndPasscode, positiveResponseRequested: true, primaryField: utf8.encode('site-a'), secondaryField: utf8.encode('edge site passcode') };

const userInformation = { maxLength: 16384, implementationClassUid: '1.2.3', roleSelections: [], extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] };
const request: AssociateRequest = {
  type: 0x01,
  protocolVersion: 1,
  calledAETitle: 'PACS',
  callingAETitle: 'CT01',
  applicationContext: DICOM_APPLICATION_CONTEXT,
  presentationContexts: [
    { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
    { id: 3, abstractSyntax: '1.2.840.10008.5.1.4.1.2.2.1', transferSyntaxes: ['1.2.840.10008.1.2'] },
  ],
  userInformation: { ...userInformation, userIdentity: callers },
} as AssociateRequest;
const acceptance = (identityResponseRequested: boolean): Acceptance => ({ verdict: 'accept', peer: { name: 'ct' } as Acceptance['peer'], identity: { status: 'absent' }, refusedPresentationContexts: [3], identityResponseRequested });
const accept = (serverResponse?: Uint8Array): AssociateAccept =>
  ({
    type: 0x02,
    protocolVersion: 1,
    calledAETitle: 'PACS',
    callingAETitle: 'CT01',
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: [{ id: 1, result: 0, transferSyntax: '1.2.840.10008.1.2' }],
    userInformation: { ...userInformation, ...(serverResponse ? { userIdentityServerResponse: serverResponse } : {}) },
  }) as AssociateAccept;

const strip: UpstreamIdentity = { kind: 'strip' };
const replace: UpstreamIdentity = { kind: 'replace', identity: site };

test('requestForUpstream: refused contexts left out; the caller\'s identity stripped, forwarded or replaced', () => {
  assert.equal(requestForUpstream(request, acceptance(false), strip).presentationContexts.map((pc) => pc.id), [1]);
  assert.is(requestForUpstream(request, acceptance(false), strip).userInformation.userIdentity, undefined, 'passcodes stop at the sidecar');
  assert.is(requestForUpstream(request, acceptance(false), { kind: 'forward' }).userInformation.userIdentity, callers);
  assert.is(requestForUpstream(request, acceptance(false), replace).userInformation.userIdentity, site, 'edge mode: the site\'s identity, never the caller\'s');
  const { userIdentity: _, ...withoutIdentity } = request.userInformation;
  assert.is(requestForUpstream({ ...request, userInformation: withoutIdentity }, acceptance(false), replace).userInformation.userIdentity, site, 'added where the caller sent none');
  assert.equal(requestForUpstream(request, acceptance(false), replace).userInformation.implementationClassUid, '1.2.3', 'the rest is the caller\'s');
});

test('acceptForClient: every proposed context answered; the 0x59 response is the caller\'s, not the one given to the edge\'s identity', () => {
  const answered = acceptForClient(accept(), request, acceptance(false), strip);
  assert.equal(answered.presentationContexts.map((pc) => [pc.id, pc.result]), [[1, 0], [3, 3]]);
  assert.is(answered.userInformation.userIdentityServerResponse, undefined);
  assert.equal(acceptForClient(accept(), request, acceptance(true), strip).userInformation.userIdentityServerResponse, new Uint8Array(0), 'verified and asked for: a zero-length response');
  const fromPacs = utf8.encode('server ticket');
  assert.is(acceptForClient(accept(fromPacs), request, acceptance(false), { kind: 'forward' }).userInformation.userIdentityServerResponse, fromPacs, 'forwarded identity: the PACS answers it');
  assert.is(acceptForClient(accept(fromPacs), request, acceptance(false), replace).userInformation.userIdentityServerResponse, undefined, 'the far side\'s answer to the site\'s identity stays at the edge');
  assert.equal(acceptForClient(accept(fromPacs), request, acceptance(true), replace).userInformation.userIdentityServerResponse, new Uint8Array(0), 'the caller gets the edge\'s own answer');
});

test.run();
