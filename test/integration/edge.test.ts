// Edge mode, site to site: a legacy modality (DCMTK storescu: no TLS, no identity) sends
// to a dicom-guard at the hospital edge, which opens TLS with a client certificate to the
// dicom-guard in front of a remote PACS (Orthanc) and presents the site's identity there.
// Both are real sidecar processes; certificates and the htpasswd file are made per run.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bcrypt } from 'hash-wasm';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import type { SidecarConfigInput } from '../../sidecar/config/schema.ts';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { configRefusal, startSidecar, type SidecarProcess } from '../harness/sidecar.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { createPki, type CertificateFiles, type Pki } from '../harness/pki.ts';
import { writeImage, type GeneratedImage } from '../harness/dicom-file.ts';
import { waitFor } from '../harness/processes.ts';

const ISSUER = 'https://idp.remote.example.org';
const PASSCODE = 'edge site passcode';

interface Context {
  dir: string;
  orthanc: Orthanc;
  pki: Pki;
  otherPki: Pki;
  edgeCertificate: CertificateFiles;
  rotatedCertificate: CertificateFiles;
  /** Where the edge reads its client certificate and key; rotated by rename, as Kubernetes does. */
  clientFiles: CertificateFiles;
  image: GeneratedImage;
  signingKey: CryptoKey;
  /** The dicom-guard in front of the remote PACS: TLS and a client certificate required, identity required. */
  far: SidecarProcess;
}

const test = suite<Context>('edge mode');

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-edge-'));
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
  context.pki = await createPki('remote hospital CA');
  context.otherPki = await createPki('some other CA');
  const server = await context.pki.issue('pacs.remote.example.org', { usage: 'server' });
  context.edgeCertificate = await context.pki.issue('edge-a.hospital.example.org', { usage: 'client' });
  context.rotatedCertificate = await context.pki.issue('edge-a2.hospital.example.org', { usage: 'client' });
  context.clientFiles = { cert: join(context.dir, 'client.crt'), key: join(context.dir, 'client.key') };
  await copyFile(context.edgeCertificate.cert, context.clientFiles.cert);
  await copyFile(context.edgeCertificate.key, context.clientFiles.key);
  const hash = await bcrypt({ password: PASSCODE, salt: new Uint8Array(randomBytes(16)), costFactor: 6, outputType: 'encoded' });
  await writeFile(join(context.dir, 'htpasswd'), `site-a:${hash}\n`);
  await writeFile(join(context.dir, 'passcode'), `${PASSCODE}\n`);
  const signing = await generateKeyPair('RS256', { extractable: true });
  context.signingKey = signing.privateKey;
  await writeFile(join(context.dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(signing.publicKey)), kid: 'remote-1', alg: 'RS256', use: 'sig' }] }));
  context.image = await writeImage(join(context.dir, 'image.dcm'));
  context.far = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'site-a', aeTitles: ['CT01'], users: ['site-a', 'site-b'], clientCertificateNames: ['edge-a.hospital.example.org', 'edge-a2.hospital.example.org'] }],
    identity: {
      mode: 'Required',
      htpasswd: { file: join(context.dir, 'htpasswd') },
      jwt: { issuer: ISSUER, audiences: ['pacs'], jwksFile: join(context.dir, 'jwks.json'), algorithms: ['RS256'] },
    },
    tls: { mode: 'Required', certFile: server.cert, keyFile: server.key, clientCAFile: context.pki.ca.cert, clientCertificates: 'Required' },
  });
});

test.after(async (context) => {
  await context.far?.stop();
  await context.orthanc?.stop();
  for (const dir of [context.dir, context.pki?.dir, context.otherPki?.dir]) if (dir) await rm(dir, { recursive: true, force: true });
});

type Upstream = NonNullable<SidecarConfigInput['upstream']>;

/** An edge in front of the far sidecar: plain DICOM in, TLS and the site's identity out. */
function startEdge(context: Context, overrides: { tls?: Partial<NonNullable<Upstream['tls']>>; identity?: Upstream['identity'] } = {}): Promise<SidecarProcess> {
  return startSidecar({
    upstream: {
      host: '127.0.0.1',
      port: context.far.port,
      tls: { caFile: context.pki.ca.cert, serverName: 'pacs.remote.example.org', certFile: context.clientFiles.cert, keyFile: context.clientFiles.key, ...overrides.tls },
      identity: overrides.identity ?? { username: 'site-a', passcodeFile: join(context.dir, 'passcode'), positiveResponseRequested: true },
    },
    calledAETitles: ['PACS'],
    peers: [{ name: 'ct', aeTitles: ['CT01'] }],
  });
}

const store = (context: Context, port: number) => dcmtk('storescu', ['-aet', 'CT01', '-aec', 'PACS'], port, '127.0.0.1', [context.image.path]);

test('storescu -> edge -> TLS, client certificate, identity -> far sidecar -> Orthanc; both audit records name the same association', async (context) => {
  const edge = await startEdge(context);
  try {
    const before = await context.orthanc.countInstances();
    const sent = await store(context, edge.port);
    assert.is(sent.code, 0, sent.output);
    assert.is(await context.orthanc.countInstances(), before + 1, 'the instance arrived');
    const near = await edge.waitForAudit((r) => r.decision === 'accepted' && r.ended === 'released');
    assert.equal([near.upstream?.tls?.version, near.upstream?.identityType, near.upstream?.user], ['TLSv1.3', 2, 'site-a']);
    assert.match(near.upstream?.tls?.serverCertificateSubject ?? '', /CN=pacs\.remote\.example\.org/);
    const far = await context.far.waitForAudit((r) => r.decision === 'accepted' && r.source.port === near.upstream?.localPort);
    assert.is(far.user, 'site-a', 'the identity the edge added, verified by the far sidecar');
    assert.is(far.identityType, 2);
    assert.match(far.tls?.clientCertificateSubject ?? '', /CN=edge-a\.hospital\.example\.org/);
    assert.is(far.callingAETitle, 'CT01', 'the modality\'s AE title goes through unchanged');
    for (const logs of [edge.logs(), context.far.logs()]) assert.not.ok(JSON.stringify(logs).includes(PASSCODE), 'the passcode is never logged');
  } finally {
    await edge.stop();
  }
});

test('a wrong server name or an unknown CA at the edge: A-ASSOCIATE-RJ (2,3,1) to the modality, the audit says why, nothing reaches the far side', async (context) => {
  for (const [tls, why] of [
    [{ serverName: 'pacs.elsewhere.example.org' }, /TLS: Hostname\/IP does not match certificate's altnames/],
    [{ caFile: context.otherPki.ca.cert }, /TLS: (unable to verify|self[- ]signed|certificate)/i],
  ] as const) {
    const edge = await startEdge(context, { tls });
    try {
      const farAccepted = context.far.audits().filter((r) => r.decision === 'accepted').length;
      const sent = await store(context, edge.port);
      assert.is.not(sent.code, 0);
      assert.match(sent.output, /Rejected Transient/);
      assert.match(sent.output, /Temporary Congestion/);
      const record = await edge.waitForAudit((r) => r.decision === 'rejected');
      assert.equal(record.reject?.name, 'temporary-congestion');
      assert.match(record.why ?? '', why);
      assert.is(context.far.audits().filter((r) => r.decision === 'accepted').length, farAccepted);
    } finally {
      await edge.stop();
    }
  }
});

test('positive response requested and not given: the edge refuses rather than send unconfirmed', async (context) => {
  // A far side that does not verify identities: it accepts, but without the 0x59 sub-item.
  const server = await context.pki.issue('pacs.remote.example.org', { usage: 'server', file: 'lax' });
  const lax = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'anyone', aeTitles: ['CT01'] }],
    tls: { mode: 'Required', certFile: server.cert, keyFile: server.key, clientCAFile: context.pki.ca.cert, clientCertificates: 'Optional' },
  });
  const edge = await startSidecar({
    upstream: { host: '127.0.0.1', port: lax.port, tls: { caFile: context.pki.ca.cert, serverName: 'pacs.remote.example.org' }, identity: { username: 'site-a', passcodeFile: join(context.dir, 'passcode'), positiveResponseRequested: true } },
    calledAETitles: ['PACS'],
    peers: [{ name: 'ct', aeTitles: ['CT01'] }],
  });
  try {
    const sent = await store(context, edge.port);
    assert.match(sent.output, /Temporary Congestion/);
    const record = await edge.waitForAudit((r) => r.decision === 'rejected');
    assert.match(record.why ?? '', /upstream accepted without confirming the user identity/);
    await lax.waitForAudit((r) => r.ended === 'aborted-by-client');
  } finally {
    await edge.stop();
    await lax.stop();
  }
});

test('a JWT from a file (type 5), and a rotated client certificate, used by new associations without a restart', async (context) => {
  const token = async (subject: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'remote-1' }).setIssuer(ISSUER).setAudience('pacs').setSubject(subject).setIssuedAt().setExpirationTime('5m').sign(context.signingKey);
  const jwtFile = join(context.dir, 'token.jwt');
  await writeFile(jwtFile, `${await token('site-a')}\n`);
  const edge = await startEdge(context, { identity: { jwtFile } });
  try {
    const first = await store(context, edge.port);
    assert.is(first.code, 0, first.output);
    let near = await edge.waitForAudit((r) => r.decision === 'accepted');
    let far = await context.far.waitForAudit((r) => r.decision === 'accepted' && r.source.port === near.upstream?.localPort);
    assert.equal([far.user, far.identityType], ['site-a', 5]);
    assert.match(far.tls?.clientCertificateSubject ?? '', /CN=edge-a\.hospital\.example\.org/);

    // Rotation, as cert-manager and the kubelet do it: new files renamed over the old; a new token.
    const reloads = edge.logs().filter((r) => r.msg === 'config reloaded; new associations use it').length;
    await copyFile(context.rotatedCertificate.cert, `${context.clientFiles.cert}.new`);
    await copyFile(context.rotatedCertificate.key, `${context.clientFiles.key}.new`);
    await rename(`${context.clientFiles.key}.new`, context.clientFiles.key);
    await rename(`${context.clientFiles.cert}.new`, context.clientFiles.cert);
    await writeFile(`${jwtFile}.new`, await token('site-b'));
    await rename(`${jwtFile}.new`, jwtFile);
    await waitFor('the edge reloads', () => edge.logs().filter((r) => r.msg === 'config reloaded; new associations use it').length > reloads, 15_000, 100);
    await waitFor('the reload saw every file', async () => {
      const sent = await store(context, edge.port);
      assert.is(sent.code, 0, sent.output);
      near = edge.audits().filter((r) => r.decision === 'accepted').at(-1)!;
      far = await context.far.waitForAudit((r) => r.decision === 'accepted' && r.source.port === near.upstream?.localPort);
      return far.user === 'site-b' && /CN=edge-a2\.hospital\.example\.org/.test(far.tls?.clientCertificateSubject ?? '');
    }, 20_000, 200);
  } finally {
    await edge.stop();
  }
});

test('a broken edge config is refused naming the field', async (context) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ tls: { certFile: context.clientFiles.cert } }, /upstream\.tls\.keyFile: a client certificate needs both certFile and keyFile/],
    [{ tls: { certFile: context.clientFiles.cert, keyFile: context.otherPki.ca.key } }, /upstream\.tls\.keyFile: the private key does not belong to the certificate/],
    [{ tls: { caFile: join(context.dir, 'passcode') } }, /upstream\.tls\.caFile: not a PEM certificate/],
    [{ identity: { username: 'site-a', jwtFile: join(context.dir, 'passcode') } }, /upstream\.identity\.username: set exactly one of username and jwtFile/],
    [{ identity: { jwtFile: join(context.dir, 'passcode') } }, /upstream\.identity\.jwtFile: not a compact JWT/],
    [{ identity: { username: 'site-a', passcodeFile: join(context.dir, 'missing') } }, /upstream\.identity\.passcodeFile: cannot read/],
  ];
  for (const [upstream, message] of cases) assert.match(await configRefusal(context.dir, { calledAETitles: ['PACS'], upstream: { host: 'pacs.remote.example.org', port: 11112, ...upstream } }), message);

});

test.run();
