// DICOM audit messages (PS3.15 A.5) end to end: a sidecar in front of Orthanc sends them
// by syslog over TLS, with a client certificate, to a real rsyslog (Debian's, the ossl
// driver, client certificates required), and over UDP; DCMTK clients make the events.
// Every message received is validated with jing against the standard's schema
// (test/audit/dicom-audit-message.rnc).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bcrypt } from 'hash-wasm';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { configRefusal, startSidecar } from '../harness/sidecar.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { createPki, type CertificateFiles, type Pki } from '../harness/pki.ts';
import { startRsyslog, type Rsyslog, type SyslogRecord } from '../harness/rsyslog.ts';
import { run, waitFor } from '../harness/processes.ts';
import { requireProgram, ROOT } from '../harness/tools.ts';
import { writeImage, type GeneratedImage } from '../harness/dicom-file.ts';
import type { SidecarConfigInput } from '../../sidecar/config/schema.ts';

const SCHEMA = join(ROOT, 'test', 'audit', 'dicom-audit-message.rnc');

interface Context {
  dir: string;
  orthanc: Orthanc;
  pki: Pki;
  client: CertificateFiles;
  rsyslog: Rsyslog;
  image: GeneratedImage;
}

const test = suite<Context>('DICOM audit messages (ATNA)');

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-atna-'));
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
  context.pki = await createPki('audit repository CA');
  const server = await context.pki.issue('audit.hospital.example.org', { usage: 'server' });
  context.client = await context.pki.issue('pacs-sidecar.hospital.example.org', { usage: 'client' });
  context.rsyslog = await startRsyslog({ cert: server.cert, key: server.key, ca: context.pki.ca.cert, requireClientCertificate: true });
  const hash = await bcrypt({ password: 'correct horse', salt: new Uint8Array(randomBytes(16)), costFactor: 6, outputType: 'encoded' });
  await writeFile(join(context.dir, 'htpasswd'), `alice:${hash}\n`);
  context.image = await writeImage(join(context.dir, 'image.dcm'));
});

test.after(async (context) => {
  await context.rsyslog?.close();
  await context.orthanc?.stop();
  for (const dir of [context.dir, context.pki?.dir]) if (dir) await rm(dir, { recursive: true, force: true });
});

type Syslog = NonNullable<NonNullable<SidecarConfigInput['audit']>['syslog']>;

function sidecarConfig(context: Context, syslog: Partial<Syslog> = {}, limits?: SidecarConfigInput['limits']) {
  return {
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'ct', aeTitles: ['CT01'] }],
    identity: { mode: 'Optional' as const, htpasswd: { file: join(context.dir, 'htpasswd') } },
    audit: {
      syslog: {
        host: '127.0.0.1',
        port: context.rsyslog.tlsPort,
        caFile: context.pki.ca.cert,
        serverName: 'audit.hospital.example.org',
        certFile: context.client.cert,
        keyFile: context.client.key,
        enterpriseSiteId: 'Hospital Example',
        auditSourceId: 'pacs-0',
        ...syslog,
      },
    },
    ...(limits ? { limits } : {}),
  };
}

/** The parts of a message the tests look at, read back with a DOM-free regex parse of our own flat XML. */
interface Message {
  record: SyslogRecord;
  eventId: string;
  eventType: string;
  outcome: string;
  xml: string;
}

function parseMessage(record: SyslogRecord): Message {
  const code = (element: string) => new RegExp(`<${element} csd-code="(\\d+)"`).exec(record.msg)?.[1] ?? '';
  return { record, eventId: code('EventID'), eventType: code('EventTypeCode'), outcome: /EventOutcomeIndicator="(\d+)"/.exec(record.msg)?.[1] ?? '', xml: record.msg };
}

async function received(context: Context): Promise<Message[]> {
  return (await context.rsyslog.messages()).map(parseMessage);
}

async function waitForMessage(context: Context, predicate: (m: Message) => boolean, what: string, timeoutMs = 15_000): Promise<Message> {
  return waitFor(what, async () => (await received(context)).find(predicate), timeoutMs, 100);
}

/** jing, an independent RELAX NG validator, over every message: the first error, or undefined. */
async function schemaErrors(context: Context, messages: Message[]): Promise<string | undefined> {
  const dir = await mkdtemp(join(context.dir, 'xml-'));
  const files: string[] = [];
  for (const [i, m] of messages.entries()) {
    const file = join(dir, `${i}.xml`);
    await writeFile(file, m.xml);
    files.push(file);
  }
  const result = await run(requireProgram('jing'), ['-c', SCHEMA, ...files]);
  const errors = result.output.split('\n').filter((line) => line.includes('error'));
  return result.code === 0 ? undefined : errors.slice(0, 5).join('\n') || result.output;
}

const alertDescription = (m: Message) => Buffer.from(/type="Alert Description" value="([^"]*)"/.exec(m.xml)?.[1] ?? '', 'base64').toString('utf8');

test('start, a refused association, a failed and a verified login, a lockout, stop: each a schema-valid message with the right codes', async (context) => {
  const sidecar = await startSidecar(sidecarConfig(context, {}, { failedAttempts: { max: 3, windowSeconds: 60, blockSeconds: 60 } }));
  try {
    await waitForMessage(context, (m) => m.eventId === '110100' && m.eventType === '110120', 'Application Start');
    const start = (await received(context)).find((m) => m.eventType === '110120')!;
    assert.equal([start.record.pri, start.record.msgId, start.record.appName, start.record.hostname], [85, 'IHE+RFC-3881', 'dicom-guard', 'pacs-0'], 'PRI <85>, the IHE MSGID (PS3.15 A.6)');
    assert.match(start.xml, /AlternativeUserID="AETITLES=PACS"/);
    assert.match(start.xml, /AuditEnterpriseSiteID="Hospital Example" AuditSourceID="pacs-0"/);
    assert.ok((await received(context)).some((m) => m.eventId === '110113' && m.eventType === '110134'), 'Audit Recording Started');

    // AE title guessing: a Security Alert, Node Authentication, minor failure.
    const refused = await dcmtk('echoscu', ['-aet', 'INTRUDER', '-aec', 'PACS'], sidecar.port);
    assert.match(refused.output, /Calling AE Title Not Recognized/);
    const alert = await waitForMessage(context, (m) => m.eventId === '110113' && m.eventType === '110126' && m.xml.includes('AETITLES=INTRUDER'), 'the Security Alert');
    assert.is(alert.outcome, '4');
    assert.match(alert.xml, /UserID="127\.0\.0\.1" AlternativeUserID="AETITLES=INTRUDER" UserIsRequestor="false" NetworkAccessPointID="127\.0\.0\.1" NetworkAccessPointTypeCode="2"/);
    assert.match(alertDescription(alert), /rejected \(1,1,3 calling-ae-title-not-recognized\)/);

    // A wrong passcode: User Authentication Login, failed, naming the user; and an Authentication Decision alert.
    const wrong = await dcmtk('storescu', ['-aet', 'CT01', '-aec', 'PACS', '-usr', 'alice', '-pwd', 'battery staple'], sidecar.port, '127.0.0.1', [context.image.path]);
    assert.is.not(wrong.code, 0);
    const failedLogin = await waitForMessage(context, (m) => m.eventId === '110114' && m.eventType === '110122' && m.outcome === '4', 'the failed Login');
    assert.match(failedLogin.xml, /<ActiveParticipant UserID="alice" AlternativeUserID="AETITLES=CT01" UserIsRequestor="true" NetworkAccessPointID="127\.0\.0\.1" NetworkAccessPointTypeCode="2"\/>/);
    await waitForMessage(context, (m) => m.eventId === '110113' && m.eventType === '110143', 'the Authentication Decision alert');
    assert.not.ok((await received(context)).some((m) => m.xml.includes('battery staple')), 'the passcode is never in a message');

    // The right passcode: Login (success), then Logout when the association ends.
    const stored = await dcmtk('storescu', ['-aet', 'CT01', '-aec', 'PACS', '-usr', 'alice', '-pwd', 'correct horse'], sidecar.port, '127.0.0.1', [context.image.path]);
    assert.is(stored.code, 0, stored.output);
    await waitForMessage(context, (m) => m.eventId === '110114' && m.eventType === '110122' && m.outcome === '0' && m.xml.includes('UserID="alice"'), 'the Login');
    await waitForMessage(context, (m) => m.eventId === '110114' && m.eventType === '110123' && m.xml.includes('UserID="alice"'), 'the Logout');

    // A third refusal locks the address out: a major failure (the address is made unavailable).
    await dcmtk('echoscu', ['-aet', 'GUESS', '-aec', 'PACS'], sidecar.port);
    const lockout = await waitForMessage(context, (m) => m.eventId === '110113' && m.outcome === '12', 'the lockout alert');
    assert.match(alertDescription(lockout), /source address 127\.0\.0\.1 locked out for 60 s after 3 refused connections/);
  } finally {
    await sidecar.stop();
  }
  await waitForMessage(context, (m) => m.eventId === '110100' && m.eventType === '110121', 'Application Stop');
  const all = await received(context);
  assert.is(await schemaErrors(context, all), undefined, 'every message validates against the DICOM Audit Message Schema');
  assert.ok(all.length >= 10, `${all.length} messages`);
});

test('UDP (RFC 5426): one message per datagram, the same XML', async (context) => {
  const sidecar = await startSidecar(sidecarConfig(context, { transport: 'UDP', port: context.rsyslog.udpPort, caFile: undefined, serverName: undefined, certFile: undefined, keyFile: undefined, auditSourceId: 'pacs-udp' }));
  try {
    await dcmtk('echoscu', ['-aet', 'NOBODY', '-aec', 'PACS'], sidecar.port);
    const alert = await waitForMessage(context, (m) => m.record.hostname === 'pacs-udp' && m.eventType === '110126', 'the alert over UDP');
    assert.is(await schemaErrors(context, [alert]), undefined);
  } finally {
    await sidecar.stop();
  }
  await waitForMessage(context, (m) => m.record.hostname === 'pacs-udp' && m.eventType === '110121', 'Application Stop, sent before the sidecar exits');
});

test('the repository down: associations go on, messages queue, the overflow is dropped and counted; back up, the queue is delivered', async (context) => {
  await context.rsyslog.stop();
  const sidecar = await startSidecar(sidecarConfig(context, { auditSourceId: 'pacs-down', queueSize: 5 }, { failedAttempts: { max: 1000, windowSeconds: 60, blockSeconds: 60 } }));
  try {
    for (let i = 0; i < 10; i++) {
      const refused = await dcmtk('echoscu', ['-aet', `GUESS${i}`, '-aec', 'PACS'], sidecar.port);
      assert.match(refused.output, /Calling AE Title Not Recognized/, 'the DICOM side answers as always');
    }
    const accepted = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.is(accepted.code, 0, accepted.output);
    await sidecar.waitForLog((r) => r.msg === 'audit repository unreachable; audit messages are queued');
    const dropped = async () => Number(/dicomguard_audit_messages_total\{result="dropped"\} (\d+)/.exec(await sidecar.metrics())?.[1] ?? 0);
    // Application Start, Audit Recording Started and ten alerts, into a queue of five.
    await waitFor('drops counted', async () => (await dropped()) >= 7, 10_000, 100);

    await context.rsyslog.start();
    // The newest five are delivered once the sender's backoff lets it retry (up to 30 s).
    await waitFor('the queued messages delivered', async () => (await received(context)).filter((m) => m.record.hostname === 'pacs-down' && m.xml.includes('AETITLES=GUESS9')).length === 1, 45_000, 250);
    const fromThisSidecar = (await received(context)).filter((m) => m.record.hostname === 'pacs-down');
    assert.is(fromThisSidecar.length, 5, 'the queue bound held');
    assert.is(await schemaErrors(context, fromThisSidecar), undefined);
  } finally {
    await sidecar.stop();
  }
  assert.ok(sidecar.logs().some((r) => /audit message\(s\) dropped/.test(r.msg) && Number(r.dropped) >= 7), 'the drops are logged');
});

test('a broken audit.syslog is refused naming the field', async (context) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ host: 'audit', certFile: context.client.cert }, /audit\.syslog\.keyFile: a client certificate needs both certFile and keyFile/],
    [{ host: 'audit', transport: 'UDP', caFile: context.pki.ca.cert }, /audit\.syslog\.caFile: TLS settings need transport TLS/],
    [{ host: 'audit', caFile: join(context.dir, 'htpasswd') }, /audit\.syslog\.caFile: not a PEM certificate/],
    [{ host: 'audit', appName: 'dicom guard' }, /audit\.syslog\.appName: 1-48 printable ASCII characters, no spaces/],
  ];
  for (const [syslog, message] of cases) assert.match(await configRefusal(context.dir, { calledAETitles: ['PACS'], audit: { syslog } }), message);

});

test.run();
