// TLS in the sidecar with real clients: DCMTK (+tls, +tla, +cf), openssl s_client for
// protocol versions, pynetdicom for an association held open across a certificate
// rotation. Certificates are generated per run.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { startSidecar } from '../harness/sidecar.ts';
import { startScu } from '../harness/pynetdicom.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { createPki, type CertificateFiles, type Pki } from '../harness/pki.ts';
import { run, waitFor } from '../harness/processes.ts';
import { requireProgram } from '../harness/tools.ts';

interface Context {
  orthanc: Orthanc;
  pki: Pki;
  otherPki: Pki;
  server: CertificateFiles;
  ct: CertificateFiles;
  viewer: CertificateFiles;
  stranger: CertificateFiles;
}

const test = suite<Context>('TLS');

test.before(async (context) => {
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
  context.pki = await createPki();
  context.otherPki = await createPki('some other CA');
  context.server = await context.pki.issue('localhost', { names: ['localhost', 'pacs.hospital.example.org'], usage: 'server' });
  context.ct = await context.pki.issue('ct01.hospital.example.org', { usage: 'client' });
  context.viewer = await context.pki.issue('viewer.hospital.example.org', { usage: 'client' });
  context.stranger = await context.otherPki.issue('ct01.hospital.example.org', { usage: 'client' });
});

test.after(async (context) => {
  await context.orthanc?.stop();
  await rm(context.pki.dir, { recursive: true, force: true });
  await rm(context.otherPki.dir, { recursive: true, force: true });
});

const tlsConfig = (context: Context, overrides: Record<string, unknown> = {}) => ({
  mode: 'Required' as const,
  certFile: context.server.cert,
  keyFile: context.server.key,
  clientCAFile: context.pki.ca.cert,
  clientCertificates: 'Optional' as const,
  ...overrides,
});

const echoTls = (context: Context, port: number, aet: string, client?: CertificateFiles) =>
  dcmtk('echoscu', [...(client ? ['+tls', client.key, client.cert] : ['+tla']), '+cf', context.pki.ca.cert, '-aet', aet, '-aec', 'PACS'], port, 'localhost');

async function sClient(port: number, version: string, ca: string): Promise<{ code: number | string; output: string }> {
  const result = await run(requireProgram('openssl'), ['s_client', '-connect', `127.0.0.1:${port}`, version, '-CAfile', ca, '-servername', 'localhost', '-brief'], { input: '', timeoutMs: 10_000 });
  return { code: result.code, output: result.output };
}

test('Required: DCMTK over TLS is admitted, plain DICOM is refused, the audit shows the TLS version and subject', async (context) => {
  const sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'ct', aeTitles: ['CT01'] }],
    tls: tlsConfig(context),
  });
  try {
    const withCert = await echoTls(context, sidecar.port, 'CT01', context.ct);
    assert.is(withCert.code, 0, withCert.output);
    const anonymous = await echoTls(context, sidecar.port, 'CT01');
    assert.is(anonymous.code, 0, `+tla (no client certificate) is fine when clientCertificates is Optional: ${anonymous.output}`);
    const plain = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.is.not(plain.code, 0);
    const audit = await sidecar.waitForAudit((r) => r.decision === 'accepted' && r.tls?.clientCertificateSubject !== undefined);
    assert.match(audit.tls!.version ?? '', /^TLSv1\.[23]$/);
    assert.match(audit.tls!.clientCertificateSubject!, /CN=ct01\.hospital\.example\.org/);
    await sidecar.waitForAudit((r) => r.ended === 'tls-failed');
  } finally {
    await sidecar.stop();
  }
});

test('minVersion: TLS 1.1 is refused, 1.2 and 1.3 work; with minVersion TLSv1.3, 1.2 is refused', async (context) => {
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort }, calledAETitles: ['PACS'], peers: [{ name: 'ct', aeTitles: ['CT01'] }], tls: tlsConfig(context, { clientCertificates: 'None', clientCAFile: undefined }) });
  try {
    assert.is.not((await sClient(sidecar.port, '-tls1_1', context.pki.ca.cert)).code, 0, 'TLS 1.1 refused');
    const v12 = await sClient(sidecar.port, '-tls1_2', context.pki.ca.cert);
    assert.match(v12.output, /Protocol version: TLSv1\.2/);
    assert.match(v12.output, /Ciphersuite: ECDHE-RSA-AES(128|256)-GCM-SHA(256|384)|Ciphersuite: ECDHE-RSA-CHACHA20-POLY1305/);
    assert.match((await sClient(sidecar.port, '-tls1_3', context.pki.ca.cert)).output, /Protocol version: TLSv1\.3/);
  } finally {
    await sidecar.stop();
  }
  const strict = await startSidecar({ upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort }, calledAETitles: ['PACS'], peers: [{ name: 'ct', aeTitles: ['CT01'] }], tls: tlsConfig(context, { clientCertificates: 'None', clientCAFile: undefined, minVersion: 'TLSv1.3' }) });
  try {
    assert.is.not((await sClient(strict.port, '-tls1_2', context.pki.ca.cert)).code, 0, 'TLS 1.2 refused under minVersion TLSv1.3');
    assert.match((await sClient(strict.port, '-tls1_3', context.pki.ca.cert)).output, /Protocol version: TLSv1\.3/);
  } finally {
    await strict.stop();
  }
});

test('Optional: TLS and plain DICOM on one port', async (context) => {
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort }, calledAETitles: ['PACS'], peers: [{ name: 'ct', aeTitles: ['CT01'] }], tls: tlsConfig(context, { mode: 'Optional' }) });
  try {
    const secure = await echoTls(context, sidecar.port, 'CT01', context.ct);
    assert.is(secure.code, 0, secure.output);
    const plain = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.is(plain.code, 0, plain.output);
    // The audit record is written when the connection closes, just after the client exits.
    await sidecar.waitForAudit((r) => r.decision === 'accepted' && r.tls !== undefined);
    await sidecar.waitForAudit((r) => r.decision === 'accepted' && r.tls === undefined);
  } finally {
    await sidecar.stop();
  }
});

test('client certificates Required: none or one from another CA fails the handshake', async (context) => {
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort }, calledAETitles: ['PACS'], peers: [{ name: 'ct', aeTitles: ['CT01'] }], tls: tlsConfig(context, { clientCertificates: 'Required' }) });
  try {
    assert.is((await echoTls(context, sidecar.port, 'CT01', context.ct)).code, 0);
    assert.is.not((await echoTls(context, sidecar.port, 'CT01')).code, 0, 'no client certificate');
    assert.is.not((await echoTls(context, sidecar.port, 'CT01', context.stranger)).code, 0, 'certificate from an untrusted CA');
    await waitFor('two tls-failed audit records', () => sidecar.audits().filter((r) => r.ended === 'tls-failed').length === 2);
    assert.ok(sidecar.audits().some((r) => /no client certificate presented/.test(r.why ?? '')));
    assert.ok(sidecar.audits().some((r) => /not trusted by tls\.clientCAFile/.test(r.why ?? '')));
  } finally {
    await sidecar.stop();
  }
});

test('a client certificate bound to a peer: the right name is admitted, another name gets (1,1,3)', async (context) => {
  const sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'ct', aeTitles: ['CT01'], clientCertificateNames: ['ct01.hospital.example.org'] }],
    tls: tlsConfig(context),
  });
  try {
    assert.is((await echoTls(context, sidecar.port, 'CT01', context.ct)).code, 0);
    const wrongName = await echoTls(context, sidecar.port, 'CT01', context.viewer);
    assert.match(wrongName.output, /Calling AE Title Not Recognized/);
    const noCert = await echoTls(context, sidecar.port, 'CT01');
    assert.match(noCert.output, /Calling AE Title Not Recognized/);
    const audit = await sidecar.waitForAudit((r) => r.decision === 'rejected' && /viewer/.test(r.why ?? ''));
    assert.match(audit.why!, /needs a client certificate for ct01\.hospital\.example\.org; the certificate names viewer\.hospital\.example\.org/);
  } finally {
    await sidecar.stop();
  }
});

test('certificate rotation: the open association goes on, new connections get the new certificate', async (context) => {
  const live = { cert: join(context.pki.dir, 'live.crt'), key: join(context.pki.dir, 'live.key') };
  await copyFile(context.server.cert, live.cert);
  await copyFile(context.server.key, live.key);
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort }, calledAETitles: ['PACS'], peers: [{ name: 'ct', aeTitles: ['CT01'] }], tls: tlsConfig(context, { certFile: live.cert, keyFile: live.key, clientCertificates: 'None', clientCAFile: undefined }) });
  const scu = startScu(sidecar.port, { aet: 'CT01', tls: { ca: context.pki.ca.cert } });
  try {
    assert.is((await scu.send('associate')).established, true);
    const before = (await scu.send('peercert')).sha256 as string;
    const oldFingerprint = new X509Certificate(await readFile(context.server.cert)).fingerprint256.replace(/:/g, '').toLowerCase();
    assert.is(before, oldFingerprint);

    // cert-manager writes new files; the sidecar picks them up without a restart.
    const rotated = await context.pki.issue('localhost', { names: ['localhost'], usage: 'server', file: 'rotated' });
    await copyFile(rotated.key, `${live.key}.new`);
    await copyFile(rotated.cert, `${live.cert}.new`);
    await rename(`${live.key}.new`, live.key);
    await rename(`${live.cert}.new`, live.cert);
    await sidecar.waitForLog((r) => r.msg.startsWith('config reloaded'));

    assert.is((await scu.send('echo')).ok, true, 'the association opened before the rotation still works');
    assert.is((await scu.send('release')).released, true);

    const newFingerprint = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: sidecar.port, servername: 'localhost', ca: [context.pki.ca.cert].map((p) => p), rejectUnauthorized: false }, () => {
        resolve(socket.getPeerX509Certificate()!.fingerprint256);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    assert.is(newFingerprint, new X509Certificate(await readFile(rotated.cert)).fingerprint256);
    // A caller that vanishes right after the handshake is finished with at once, not after ARTIM.
    await sidecar.waitForAudit((r) => r.ended === 'tls-failed' && /hang up|closed during/.test(r.why ?? ''), 2000);
  } finally {
    await scu.close();
    await sidecar.stop();
  }
});

test('a key that does not match the certificate is refused at start, naming tls.keyFile', async (context) => {
  const result = await startSidecar({ upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort }, calledAETitles: ['PACS'], peers: [], tls: tlsConfig(context, { keyFile: context.ct.key }) }).then(
    async (s) => {
      await s.stop();
      return 'started';
    },
    (error: Error) => error.message,
  );
  assert.match(result, /tls\.keyFile: the private key does not belong to the certificate in tls\.certFile/);
});

test.run();
