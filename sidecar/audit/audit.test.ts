// The pure parts of the audit trail: XML escaping, syslog framing, and which associations
// are security alerts of which type. (Schema validity against PS3.15 A.5.1 is checked with
// jing in test/integration/atna.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditRecord } from '../proxy/association.ts';
import { associationAlert } from './association-alerts.ts';
import { securityAlert, EVENT_TYPE } from './atna.ts';
import { octetCounted, syslogMessage } from './syslog-format.ts';
import { escapeXml, renderXml } from './xml.ts';

test('XML: markup and quotes escaped; characters XML cannot carry replaced; line breaks kept as references', () => {
  assert.is(escapeXml('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  assert.is(escapeXml('a\u0000b\u001bc\uFFFEd'), 'a\uFFFDb\uFFFDc\uFFFDd');
  assert.is(escapeXml('\ud800 lone surrogate'), '\uFFFD lone surrogate');
  assert.is(escapeXml('two\nlines\ttab'), 'two&#10;lines&#9;tab');
  assert.is(renderXml({ name: 'E', attributes: { a: 'x"y', b: undefined, c: false } }), '<E a="x&quot;y" c="false"/>');
  assert.is(renderXml({ name: 'E', children: [undefined, { name: 'F', text: '<' }] }), '<E><F>&lt;</F></E>');
});

test('a crafted AE title or reason cannot break out of the message', () => {
  const self = { auditSourceId: 'pacs-0', processId: '1', aeTitles: ['PACS'] };
  const xml = securityAlert({ type: EVENT_TYPE.nodeAuthentication, outcome: 4, remote: { address: '10.0.0.5', aeTitle: '"/><X a="' }, description: '</AuditMessage><AuditMessage>' }, self, new Date(0));
  assert.not.ok(xml.includes('<X'));
  assert.is(xml.match(/<AuditMessage>/g)?.length, 1);
  assert.ok(xml.includes('&lt;/AuditMessage&gt;'));
});

test('syslog: RFC 5424 with PRI <85> and the IHE MSGID; octet counting for TLS (RFC 5425)', () => {
  const message = syslogMessage({ hostname: 'pacs 0', appName: 'dicom-guard', procId: '' }, new Date('2026-12-08T01:02:03.456Z'), '<A>ü</A>');
  assert.is(message.toString('utf8'), '<85>1 2026-12-08T01:02:03.456Z pacs0 dicom-guard - IHE+RFC-3881 - <A>ü</A>');
  const framed = octetCounted(message);
  const space = framed.indexOf(0x20);
  assert.is(Number(framed.subarray(0, space).toString()), message.length, 'the length in octets, not characters');
  assert.equal(framed.subarray(space + 1), message);
});

const base: AuditRecord = { connectionId: 'c', source: { address: '10.0.0.5', port: 40000 }, calledAETitle: 'PACS', callingAETitle: 'CT01', decision: 'rejected', bytes: { toUpstream: 0, toClient: 10 }, durationMs: 1, ended: 'rejected' };
const reject = (name: string, peer?: string): AuditRecord => ({ ...base, reject: { result: 1, source: 1, reason: 3, name, meaning: '' }, why: 'because', ...(peer ? { peer } : {}) });
const kind = (record: AuditRecord) => {
  const alert = associationAlert(record);
  return alert ? [alert.type.code, alert.outcome] : undefined;
};

test('which associations are Security Alerts, of which type and outcome', () => {
  assert.equal(kind(reject('calling-ae-title-not-recognized')), ['110126', 4], 'who the caller is: Node Authentication');
  assert.equal(kind(reject('called-ae-title-not-recognized')), ['110126', 4]);
  assert.equal(kind(reject('identity-rejected')), ['110143', 4], 'Authentication Decision');
  assert.equal(kind(reject('no-reason-given')), ['110132', 4], '(1,1,1): services the peer may not use');
  assert.equal(kind(reject('local-limit-exceeded')), ['110147', 4], 'Access Control Decision');
  assert.equal(kind(reject('temporary-congestion')), ['110126', 4], 'a blocked source (no peer matched)');
  assert.is(kind(reject('temporary-congestion', 'ct')), undefined, 'the PACS unreachable: operational, not a security event');
  const edgeTls = associationAlert({ ...reject('temporary-congestion', 'ct'), fault: 'upstream', upstream: { address: 'pacs.remote.example.org', localPort: undefined } })!;
  assert.equal([edgeTls.type.code, edgeTls.remote.address], ['110126', 'pacs.remote.example.org'], 'edge mode: the remote failed TLS; it is the subject');
  assert.equal(kind({ ...base, decision: 'closed', ended: 'address-not-allowed' }), ['110126', 4]);
  assert.equal(kind({ ...base, decision: 'closed', ended: 'tls-failed' }), ['110126', 4]);
  assert.equal(kind({ ...base, decision: 'aborted', ended: 'aborted-protocol-error', fault: 'client' }), ['110126', 8]);
  assert.is(kind({ ...base, decision: 'aborted', ended: 'aborted-protocol-error', fault: 'upstream' }), undefined);
  const refused = { from: 'client' as const, rule: 'service-not-allowed' as const, presentationContextId: 1, abstractSyntax: '1.2', command: 'C-STORE-RQ' } as AuditRecord['refusedMessage'];
  assert.equal(kind({ ...base, decision: 'accepted', ended: 'message-refused', refusedMessage: refused!, why: 'C-STORE-RQ is outside the services' }), ['110132', 8]);
  assert.match(associationAlert({ ...base, decision: 'accepted', peer: 'ct', ended: 'message-refused', refusedMessage: refused!, why: 'C-STORE-RQ is outside the services' })!.description, /message-refused: C-STORE-RQ is outside the services$/);
  for (const ended of ['released', 'aborted-by-client', 'aborted-by-upstream', 'rejected-by-upstream', 'idle-timeout', 'client-closed', 'shutdown', 'upstream-closed'] as const) {
    assert.is(kind({ ...base, decision: 'accepted', ended }), undefined, ended);
  }
});

test.run();
