// Table-driven tests of the association decision (pure: no sockets).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSidecarConfig } from '../config/load.ts';
import type { AssociateRequest, PresentationContextRequest } from '../wire/pdu.ts';
import { DICOM_APPLICATION_CONTEXT, PduType } from '../wire/pdu.ts';
import { parseSourceAddress } from './address.ts';
import { decide, type IdentityOutcome, type ClientCertificate } from './decide.ts';
import { compilePolicy, mayConnect } from './policy.ts';
import { Reject } from './reject.ts';

const VERIFICATION = '1.2.840.10008.1.1';
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const STUDY_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const STUDY_GET = '1.2.840.10008.5.1.4.1.2.2.3';
const asScp = (sopClassUid: string, scuRole = 0) => ({ maxLength: 16384, roleSelections: [{ sopClassUid, scuRole, scpRole: 1 }], extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] });

const policy = compilePolicy(
  parseSidecarConfig(`
apiVersion: dicomguard.io/v1alpha1
kind: SidecarConfig
calledAETitles: [PACS, ARCHIVE]
peers:
  - name: ct-scanner
    aeTitles: [CT01]
    ipBlocks: [{cidr: 10.20.0.0/24, except: [10.20.0.99/32]}]
  - name: ct-v6
    aeTitles: [CT06]
    ipBlocks: [{cidr: "2001:db8::/64"}]
  - name: viewer
    aeTitles: [VIEWER]
    services: [verification, query]
  - name: retriever
    aeTitles: [RETRIEVER]
    services: [verification, query, retrieve]
  - name: radiologists
    aeTitles: [RADWS]
    users: [alice]
    groups: [radiology]
  - name: mtls
    aeTitles: [MOD]
    clientCertificateNames: [mod.hospital.example.org]
identity:
  mode: Optional
  acceptUsernameOnly: true
tls:
  mode: Required
  certFile: /x.crt
  keyFile: /x.key
  clientCAFile: /ca.crt
  clientCertificates: Optional
limits: {maxAssociations: 10, maxAssociationsPerPeer: 2}
`),
);

function request(overrides: Partial<AssociateRequest> & { abstractSyntaxes?: string[] } = {}): AssociateRequest {
  const syntaxes = overrides.abstractSyntaxes ?? [VERIFICATION];
  const presentationContexts: PresentationContextRequest[] = syntaxes.map((abstractSyntax, i) => ({
    id: 2 * i + 1,
    abstractSyntax,
    transferSyntaxes: ['1.2.840.10008.1.2'],
  }));
  const { abstractSyntaxes: _ignored, ...rest } = overrides;
  return {
    type: PduType.AssociateRequest,
    protocolVersion: 1,
    calledAETitle: 'PACS',
    callingAETitle: 'CT01',
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts,
    userInformation: { maxLength: 16384, roleSelections: [], extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] },
    ...rest,
  };
}

interface Case {
  name: string;
  request?: Partial<AssociateRequest> & { abstractSyntaxes?: string[] };
  source?: string;
  identity?: IdentityOutcome;
  certificate?: ClientCertificate;
  active?: number;
  activeOfPeer?: number;
  blocked?: boolean;
  expect: { verdict: 'accept'; peer: string; refused?: number[] } | { verdict: 'reject'; code: (typeof Reject)[keyof typeof Reject]; why: RegExp };
}

const alice: IdentityOutcome = { status: 'verified', identityType: 2, username: 'alice', groups: [] };
const bob: IdentityOutcome = { status: 'verified', identityType: 2, username: 'bob', groups: ['radiology'] };
const carol: IdentityOutcome = { status: 'verified', identityType: 2, username: 'carol', groups: ['cardiology'] };

const cases: Case[] = [
  { name: 'known AE from its block', source: '10.20.0.5', expect: { verdict: 'accept', peer: 'ct-scanner' } },
  { name: 'IPv4-mapped IPv6 source is compared as IPv4', source: '::ffff:10.20.0.5', expect: { verdict: 'accept', peer: 'ct-scanner' } },
  { name: 'second called AE title', request: { calledAETitle: 'ARCHIVE' }, source: '10.20.0.5', expect: { verdict: 'accept', peer: 'ct-scanner' } },
  { name: 'wrong called AE title (1,1,7)', request: { calledAETitle: 'OTHER' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.CalledAETitleNotRecognized, why: /"OTHER" is not one of PACS, ARCHIVE/ } },
  { name: 'called AE match is case-sensitive', request: { calledAETitle: 'pacs' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.CalledAETitleNotRecognized, why: /"pacs"/ } },
  { name: 'called AE all spaces (1,1,7)', request: { calledAETitle: '' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.CalledAETitleNotRecognized, why: /empty or all spaces/ } },
  { name: 'unknown calling AE (1,1,3)', request: { callingAETitle: 'EVIL' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /"EVIL" is not listed by any peer/ } },
  { name: 'calling AE with a control character (1,1,3)', request: { callingAETitle: 'CT\x0701' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /control characters/ } },
  { name: 'calling AE non-ASCII (1,1,3)', request: { callingAETitle: 'CT\u00e901' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /ASCII only/ } },
  { name: 'known AE from outside its block (1,1,3)', source: '10.99.0.5', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /\(peer ct-scanner\) is not allowed from 10\.99\.0\.5/ } },
  { name: 'known AE from an excepted address (1,1,3)', source: '10.20.0.99', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /except 10\.20\.0\.99\/32/ } },
  { name: 'IPv6 block admits IPv6 source', request: { callingAETitle: 'CT06' }, source: '2001:db8::7', expect: { verdict: 'accept', peer: 'ct-v6' } },
  { name: 'IPv6 block refuses other IPv6 source', request: { callingAETitle: 'CT06' }, source: '2001:db9::7', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /not allowed from 2001:db9::7/ } },
  { name: 'IPv6 block refuses IPv4 source', request: { callingAETitle: 'CT06' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /not allowed/ } },
  { name: 'protocol version without bit 0 (1,2,2)', request: { protocolVersion: 2 }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.ProtocolVersionNotSupported, why: /0x0002/ } },
  { name: 'foreign application context (1,1,2)', request: { applicationContext: '1.2.3.4' }, source: '10.20.0.5', expect: { verdict: 'reject', code: Reject.ApplicationContextNotSupported, why: /"1\.2\.3\.4"/ } },
  { name: 'blocked source (2,3,1)', source: '10.20.0.5', blocked: true, expect: { verdict: 'reject', code: Reject.TemporaryCongestion, why: /blocked/ } },
  { name: 'maxAssociations reached (2,3,2)', source: '10.20.0.5', active: 10, expect: { verdict: 'reject', code: Reject.LocalLimitExceeded, why: /maxAssociations is 10/ } },
  { name: 'maxAssociationsPerPeer reached (2,3,2)', source: '10.20.0.5', activeOfPeer: 2, expect: { verdict: 'reject', code: Reject.LocalLimitExceeded, why: /peer ct-scanner has 2 associations open; limits.maxAssociationsPerPeer is 2/ } },
  { name: 'one below the limits is admitted', source: '10.20.0.5', active: 9, activeOfPeer: 1, expect: { verdict: 'accept', peer: 'ct-scanner' } },
  { name: 'services: refused contexts are listed', request: { callingAETitle: 'VIEWER', abstractSyntaxes: [VERIFICATION, CT_IMAGE, STUDY_FIND] }, source: '192.0.2.1', expect: { verdict: 'accept', peer: 'viewer', refused: [3] } },
  { name: 'services: nothing allowed proposed (1,1,1)', request: { callingAETitle: 'VIEWER', abstractSyntaxes: [CT_IMAGE] }, source: '192.0.2.1', expect: { verdict: 'reject', code: Reject.NoReasonGiven, why: /may use only verification, query/ } },
  {
    name: 'C-GET: storage contexts proposed with the SCP role are accepted for a peer that may retrieve',
    request: { callingAETitle: 'RETRIEVER', abstractSyntaxes: [STUDY_GET, CT_IMAGE], userInformation: asScp(CT_IMAGE, 1) },
    source: '192.0.2.1',
    expect: { verdict: 'accept', peer: 'retriever', refused: [] },
  },
  { name: 'C-GET: ... but not without role selection', request: { callingAETitle: 'RETRIEVER', abstractSyntaxes: [STUDY_GET, CT_IMAGE] }, source: '192.0.2.1', expect: { verdict: 'accept', peer: 'retriever', refused: [3] } },
  { name: 'C-GET: ... nor for a peer that may not retrieve', request: { callingAETitle: 'VIEWER', abstractSyntaxes: [STUDY_FIND, CT_IMAGE], userInformation: asScp(CT_IMAGE) }, source: '192.0.2.1', expect: { verdict: 'accept', peer: 'viewer', refused: [3] } },
  { name: 'peer with users: listed user', request: { callingAETitle: 'RADWS' }, source: '192.0.2.1', identity: alice, expect: { verdict: 'accept', peer: 'radiologists' } },
  { name: 'peer with groups: member of a listed group', request: { callingAETitle: 'RADWS' }, source: '192.0.2.1', identity: bob, expect: { verdict: 'accept', peer: 'radiologists' } },
  { name: 'peer with users: other user (1,2,1)', request: { callingAETitle: 'RADWS' }, source: '192.0.2.1', identity: carol, expect: { verdict: 'reject', code: Reject.IdentityRejected, why: /user "carol" is not among the users or groups of peer radiologists/ } },
  { name: 'peer with users: anonymous (1,2,1)', request: { callingAETitle: 'RADWS' }, source: '192.0.2.1', expect: { verdict: 'reject', code: Reject.IdentityRejected, why: /anonymous/ } },
  { name: 'failed identity in Optional mode (1,2,1)', source: '10.20.0.5', identity: { status: 'failed', identityType: 2, why: 'wrong passcode for "alice"' }, expect: { verdict: 'reject', code: Reject.IdentityRejected, why: /wrong passcode/ } },
  { name: 'identity check that could not reach its directory (2,3,1)', source: '10.20.0.5', identity: { status: 'failed', identityType: 2, why: 'LDAP directory unreachable', transient: true }, expect: { verdict: 'reject', code: Reject.TemporaryCongestion, why: /unreachable/ } },
  { name: 'client certificate with the peer name', request: { callingAETitle: 'MOD' }, source: '192.0.2.1', certificate: { names: ['mod.hospital.example.org'], subject: 'CN=mod.hospital.example.org' }, expect: { verdict: 'accept', peer: 'mtls' } },
  { name: 'client certificate with another name (1,1,3)', request: { callingAETitle: 'MOD' }, source: '192.0.2.1', certificate: { names: ['other.example.org'], subject: 'CN=other.example.org' }, expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /the certificate names other\.example\.org/ } },
  { name: 'no client certificate (1,1,3)', request: { callingAETitle: 'MOD' }, source: '192.0.2.1', expect: { verdict: 'reject', code: Reject.CallingAETitleNotRecognized, why: /none was presented/ } },
];

for (const c of cases) {
  test(c.name, () => {
    const source = parseSourceAddress(c.source ?? '192.0.2.1')!;
    const decision = decide(
      {
        request: request(c.request),
        source,
        sourceText: c.source ?? '192.0.2.1',
        clientCertificate: c.certificate,
        sourceBlocked: c.blocked ?? false,
        identity: c.identity ?? { status: 'absent' },
        activeAssociations: c.active ?? 0,
        activeAssociationsOfPeer: () => c.activeOfPeer ?? 0,
      },
      policy,
    );
    if (c.expect.verdict === 'accept') {
      assert.is(decision.verdict, 'accept', decision.verdict === 'reject' ? decision.why : '');
      if (decision.verdict !== 'accept') return;
      assert.is(decision.peer.name, c.expect.peer);
      assert.equal(decision.refusedPresentationContexts, c.expect.refused ?? []);
    } else {
      assert.is(decision.verdict, 'reject');
      if (decision.verdict !== 'reject') return;
      assert.is(decision.reject, c.expect.code, `${decision.reject.name}: ${decision.why}`);
      assert.match(decision.why, c.expect.why);
    }
  });
}

test('Required identity mode refuses an anonymous caller with (1,2,1)', () => {
  const required = compilePolicy(
    parseSidecarConfig(`
apiVersion: dicomguard.io/v1alpha1
kind: SidecarConfig
calledAETitles: [PACS]
peers: [{name: any, aeTitles: ["*"]}]
identity: {mode: Required, acceptUsernameOnly: true}
`),
  );
  const common = { request: request(), source: parseSourceAddress('192.0.2.1')!, sourceText: '192.0.2.1', activeAssociations: 0, activeAssociationsOfPeer: () => 0 };
  const anonymous = decide({ ...common, identity: { status: 'absent' } }, required);
  assert.is(anonymous.verdict === 'reject' && anonymous.reject, Reject.IdentityRejected);
  const verified = decide({ ...common, identity: alice }, required);
  assert.is(verified.verdict, 'accept');
});

test('identity mode Disabled ignores even a failed identity', () => {
  const disabled = compilePolicy(parseSidecarConfig('{apiVersion: dicomguard.io/v1alpha1, kind: SidecarConfig, calledAETitles: [PACS], peers: [{name: any, aeTitles: ["*"]}]}'));
  const decision = decide(
    { request: request(), source: parseSourceAddress('192.0.2.1')!, sourceText: '192.0.2.1', activeAssociations: 0, activeAssociationsOfPeer: () => 0, identity: { status: 'failed', identityType: 2, why: 'x' } },
    disabled,
  );
  assert.is(decision.verdict, 'accept');
});

test('mayConnect: an address outside every block cannot connect when all peers are bound', () => {
  const bound = compilePolicy(
    parseSidecarConfig(`
apiVersion: dicomguard.io/v1alpha1
kind: SidecarConfig
calledAETitles: [PACS]
peers:
  - {name: a, aeTitles: [A], ipBlocks: [{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}]}
  - {name: b, aeTitles: [B], ipBlocks: [{cidr: "fd00::/8"}]}
`),
  );
  assert.ok(mayConnect(bound, parseSourceAddress('10.1.1.1')!));
  assert.ok(mayConnect(bound, parseSourceAddress('::ffff:10.1.1.1')!));
  assert.ok(mayConnect(bound, parseSourceAddress('fd12::1')!));
  assert.not.ok(mayConnect(bound, parseSourceAddress('10.9.1.1')!));
  assert.not.ok(mayConnect(bound, parseSourceAddress('192.168.1.1')!));
  assert.not.ok(mayConnect(bound, parseSourceAddress('fe80::1%eth0')!));
  // One unbound peer makes every address a possible caller.
  assert.ok(mayConnect(policy, parseSourceAddress('192.168.1.1')!));
});

test.run();
