// User identity negotiation end to end: DCMTK storescu (-usr/-pwd, -rsp, --jwt, -kt,
// --saml) and pynetdicom (types 3 and 4, odd requests) through the sidecar to Orthanc,
// identities checked against an htpasswd file, a real slapd and a JWKS. A tripwire in
// front of Orthanc shows what the PACS receives.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { bcrypt } from 'hash-wasm';
import { randomBytes } from 'node:crypto';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { startSidecar, type SidecarProcess } from '../harness/sidecar.ts';
import { startTripwire, type Tripwire } from '../harness/tripwire.ts';
import { startSlapd, personDn, type Slapd } from '../harness/slapd.ts';
import { startScu } from '../harness/pynetdicom.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { writeImage, type GeneratedImage } from '../harness/dicom-file.ts';
import { waitFor } from '../harness/processes.ts';
import { readPdu } from '../../sidecar/wire/reader.ts';
import { DICOM_APPLICATION_CONTEXT, PduType, type AssociateRequest } from '../../sidecar/wire/pdu.ts';
import { writePdu } from '../../sidecar/wire/writer.ts';
import { exchange, rejectBytes } from '../harness/raw-client.ts';

const ISSUER = 'https://keycloak.hospital.example.org/realms/hospital';

interface Context {
  dir: string;
  orthanc: Orthanc;
  tripwire: Tripwire;
  slapd: Slapd;
  sidecar: SidecarProcess;
  image: GeneratedImage;
  signingKey: CryptoKey;
  otherKey: CryptoKey;
  jwk: JWK;
}

const test = suite<Context>('user identity');

async function token(context: Context, claims: Record<string, unknown>, options: { key?: CryptoKey; kid?: string; expiresIn?: string; audience?: string; issuer?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'hospital-1' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? 'pacs')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m');
  return jwt.sign(options.key ?? context.signingKey);
}

async function tokenFile(context: Context, name: string, value: string): Promise<string> {
  const path = join(context.dir, name);
  await writeFile(path, `${value}\n`);
  return path;
}

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-identity-'));
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
  context.tripwire = await startTripwire({ host: '127.0.0.1', port: context.orthanc.dicomPort });
  context.slapd = await startSlapd({ users: [{ dn: personDn('ldapuser'), uid: 'ldapuser', password: 'directory passcode' }] });
  const signing = await generateKeyPair('RS256', { extractable: true });
  context.signingKey = signing.privateKey;
  context.otherKey = (await generateKeyPair('RS256')).privateKey;
  context.jwk = { ...(await exportJWK(signing.publicKey)), kid: 'hospital-1', alg: 'RS256', use: 'sig' };
  await writeFile(join(context.dir, 'jwks.json'), JSON.stringify({ keys: [context.jwk] }));
  const salt = () => new Uint8Array(randomBytes(16));
  const line = async (user: string, passcode: string) => `${user}:${await bcrypt({ password: passcode, salt: salt(), costFactor: 6, outputType: 'encoded' })}`;
  await writeFile(join(context.dir, 'htpasswd'), `${await line('alice', 'correct horse')}\n${await line('carol', 'carol passcode')}\n`);
  await writeFile(join(context.dir, 'ldap-ca.crt'), context.slapd.caPem);
  context.image = await writeImage(join(context.dir, 'image.dcm'));
  context.sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.tripwire.port },
    calledAETitles: ['PACS'],
    peers: [
      { name: 'modalities', aeTitles: ['CT01', 'STORESCU', 'PYSCU'] },
      { name: 'radiologists', aeTitles: ['RADWS'], users: ['alice'], groups: ['radiology'] },
    ],
    identity: {
      mode: 'Required',
      htpasswd: { file: join(context.dir, 'htpasswd') },
      ldap: { url: context.slapd.ldapsUrl, userDN: 'uid={username},ou=people,dc=example,dc=org', caFile: join(context.dir, 'ldap-ca.crt'), timeoutSeconds: 3 },
      jwt: { issuer: ISSUER, audiences: ['pacs'], jwksFile: join(context.dir, 'jwks.json'), usernameClaim: 'preferred_username', groupsClaim: 'groups', algorithms: ['RS256'] },
    },
    limits: { failedAttempts: { max: 1000, windowSeconds: 60, blockSeconds: 300 } },
  });
});

test.after(async (context) => {
  await context.sidecar?.stop();
  await context.tripwire?.close();
  await context.slapd?.stop();
  await context.orthanc?.stop();
  await rm(context.dir, { recursive: true, force: true });
});

const store = (context: Context, args: string[], aet = 'CT01', port = context.sidecar.port) => dcmtk('storescu', ['-aet', aet, '-aec', 'PACS', ...args], port, '127.0.0.1', [context.image.path]);
const IDENTITY_REJECTED = /Rejected Permanent, Source: Service Provider \(ACSE Related\)/;

test('htpasswd: the right passcode stores an image, a wrong one is refused with (1,2,1)', async (context) => {
  const ok = await store(context, ['-usr', 'alice', '-pwd', 'correct horse']);
  assert.is(ok.code, 0, ok.output);
  const wrong = await store(context, ['-usr', 'alice', '-pwd', 'wrong horse']);
  assert.is.not(wrong.code, 0);
  assert.match(wrong.output, IDENTITY_REJECTED);
  const audit = await context.sidecar.waitForAudit((r) => r.decision === 'accepted' && r.user === 'alice');
  assert.is(audit.identityType, 2);
  assert.not.ok(JSON.stringify(context.sidecar.logs()).includes('correct horse'), 'the passcode never appears in a log line');
  assert.not.ok(JSON.stringify(context.sidecar.logs()).includes('wrong horse'), 'nor a wrong one');
});

test('positive response: storescu -rsp gets its 0x59 sub-item and succeeds', async (context) => {
  const result = await store(context, ['-usr', 'alice', '-pwd', 'correct horse', '-rsp']);
  assert.is(result.code, 0, result.output);
});

test('LDAP: a directory user binds with the right passcode, not with a wrong one', async (context) => {
  const ok = await store(context, ['-usr', 'ldapuser', '-pwd', 'directory passcode', '-rsp']);
  assert.is(ok.code, 0, ok.output);
  const wrong = await store(context, ['-usr', 'ldapuser', '-pwd', 'guess']);
  assert.match(wrong.output, IDENTITY_REJECTED);
});

test('JWT: a valid token passes; expired, wrong audience, wrong issuer, wrong key and alg none are refused', async (context) => {
  const valid = await tokenFile(context, 'valid.jwt', await token(context, { preferred_username: 'dr.who', groups: ['radiology'] }));
  const ok = await store(context, ['--jwt', valid, '-rsp']);
  assert.is(ok.code, 0, ok.output);
  await context.sidecar.waitForAudit((r) => r.user === 'dr.who' && r.identityType === 5);

  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ iss: ISSUER, aud: 'pacs', preferred_username: 'mallory', exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url');
  const bad: Record<string, string> = {
    expired: await token(context, { preferred_username: 'dr.who' }, { expiresIn: '-10m' }),
    'wrong audience': await token(context, { preferred_username: 'dr.who' }, { audience: 'billing' }),
    'wrong issuer': await token(context, { preferred_username: 'dr.who' }, { issuer: 'https://evil.example.org' }),
    'wrong key': await token(context, { preferred_username: 'dr.who' }, { key: context.otherKey }),
    'alg none': `${header}.${payload}.`,
  };
  for (const [name, value] of Object.entries(bad)) {
    const result = await store(context, ['--jwt', await tokenFile(context, `${name}.jwt`, value)]);
    assert.is.not(result.code, 0, `${name} must be refused`);
    assert.match(result.output, IDENTITY_REJECTED, name);
  }
  const whys = context.sidecar.audits().filter((r) => r.identityType === 5 && r.decision === 'rejected').map((r) => r.why ?? '');
  assert.is(whys.length, 5);
  for (const why of whys) assert.not.ok(/eyJ/.test(why), 'no token in the audit record');
});

test("a verified user outside the peer's users and groups is refused with (1,2,1)", async (context) => {
  const carol = await store(context, ['-usr', 'carol', '-pwd', 'carol passcode'], 'RADWS');
  assert.match(carol.output, IDENTITY_REJECTED);
  const alice = await store(context, ['-usr', 'alice', '-pwd', 'correct horse'], 'RADWS');
  assert.is(alice.code, 0, alice.output);
  const radiologist = await tokenFile(context, 'radiologist.jwt', await token(context, { preferred_username: 'dr.house', groups: ['radiology', 'staff'] }));
  const byGroup = await store(context, ['--jwt', radiologist], 'RADWS');
  assert.is(byGroup.code, 0, `a member of a listed group passes: ${byGroup.output}`);
  const audit = await context.sidecar.waitForAudit((r) => r.user === 'carol' && r.decision === 'rejected');
  assert.match(audit.why ?? '', /user "carol" is not among the users or groups of peer radiologists/);
});

test('Required: no identity at all is refused with (1,2,1)', async (context) => {
  const result = await store(context, []);
  assert.match(result.output, IDENTITY_REJECTED);
});

test('Kerberos and SAML (types 3 and 4) are refused and the log says they are not supported', async (context) => {
  const ticket = join(context.dir, 'ticket.bin');
  await writeFile(ticket, randomBytes(64));
  const kerberos = await store(context, ['-kt', ticket]);
  assert.match(kerberos.output, IDENTITY_REJECTED);
  const saml = join(context.dir, 'assertion.xml');
  await writeFile(saml, '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>');
  const viaDcmtk = await store(context, ['--saml', saml]);
  assert.match(viaDcmtk.output, IDENTITY_REJECTED);
  for (const identityType of [3, 4]) {
    const scu = startScu(context.sidecar.port, { aet: 'PYSCU', identityType, primary: 'opaque-credential' });
    try {
      const answer = await scu.send('associate');
      assert.is(answer.rejected, true);
      assert.equal(answer.reject, [1, 2, 1]);
    } finally {
      await scu.close();
    }
  }
  const lines = context.sidecar.logs().filter((r) => /not supported/i.test(r.msg));
  assert.ok(lines.some((r) => /Kerberos/.test(r.msg)) && lines.some((r) => /SAML/.test(r.msg)), 'a log line names each unsupported type');
});

test('odd identity requests: empty passcode (DCMTK -epw); username only, unknown type, a huge username (pynetdicom)', async (context) => {
  const empty = await store(context, ['-usr', 'alice', '-epw']);
  assert.match(empty.output, IDENTITY_REJECTED, 'an empty passcode is refused');
  const cases: [string, Parameters<typeof startScu>[1]][] = [
    ['username only (acceptUsernameOnly is false)', { identityType: 1, primary: 'alice' }],
    ['username of 60000 bytes', { identityType: 2, primary: 'a'.repeat(60000), secondary: 'x' }],
  ];
  for (const [name, options] of cases) {
    const scu = startScu(context.sidecar.port, { aet: 'PYSCU', ...options });
    try {
      const answer = await scu.send('associate');
      assert.equal(answer.reject, [1, 2, 1], name);
    } finally {
      await scu.close();
    }
  }
  // pynetdicom will not send an unknown identity type; the raw client does.
  const request: AssociateRequest = {
    type: PduType.AssociateRequest,
    protocolVersion: 1,
    calledAETitle: 'PACS',
    callingAETitle: 'CT01',
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
    userInformation: {
      maxLength: 16384,
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
      unknownSubItems: [],
      userIdentity: { identityType: 9, positiveResponseRequested: true, primaryField: new TextEncoder().encode('alice'), secondaryField: new Uint8Array(0) },
    },
  };
  const unknownType = await exchange(context.sidecar.port, writePdu(request), { waitMs: 5000 });
  assert.is(unknownType.received.toString('hex'), rejectBytes(1, 2, 1).toString('hex'), 'unknown identity type 9');
  const alive = await store(context, ['-usr', 'alice', '-pwd', 'correct horse']);
  assert.is(alive.code, 0, 'the sidecar still serves');
});

test('the PACS never sees the identity sub-item (forwardToUpstream: false)', async (context) => {
  const before = context.tripwire.connections;
  const result = await store(context, ['-usr', 'alice', '-pwd', 'correct horse']);
  assert.is(result.code, 0, result.output);
  assert.is(context.tripwire.connections, before + 1);
  const forwarded = readPdu(Buffer.concat(context.tripwire.received.at(-1)!), 1 << 20)!.pdu as AssociateRequest;
  assert.is(forwarded.callingAETitle, 'CT01');
  assert.is(forwarded.userInformation.userIdentity, undefined);
  assert.not.ok(Buffer.concat(context.tripwire.received.at(-1)!).includes(Buffer.from('correct horse')), 'the passcode bytes never reach the PACS');
});

test('forwardToUpstream: true passes the identity on', async (context) => {
  const tripwire = await startTripwire({ host: '127.0.0.1', port: context.orthanc.dicomPort });
  const sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: tripwire.port },
    calledAETitles: ['PACS'],
    peers: [{ name: 'modalities', aeTitles: ['CT01'] }],
    identity: { mode: 'Optional', htpasswd: { file: join(context.dir, 'htpasswd') }, forwardToUpstream: true },
  });
  try {
    const result = await store(context, ['-usr', 'alice', '-pwd', 'correct horse'], 'CT01', sidecar.port);
    assert.is(result.code, 0, result.output);
    const forwarded = readPdu(Buffer.concat(tripwire.received.at(-1)!), 1 << 20)!.pdu as AssociateRequest;
    assert.is(new TextDecoder().decode(forwarded.userInformation.userIdentity?.primaryField), 'alice');
    const anonymous = await store(context, [], 'CT01', sidecar.port);
    assert.is(anonymous.code, 0, `Optional mode admits a caller without identity: ${anonymous.output}`);
  } finally {
    await sidecar.stop();
    await tripwire.close();
  }
});

test('repeated refusals block the source address with (2,3,1), counted and logged', async (context) => {
  const sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'modalities', aeTitles: ['CT01'] }],
    identity: { mode: 'Required', htpasswd: { file: join(context.dir, 'htpasswd') } },
    limits: { failedAttempts: { max: 3, windowSeconds: 60, blockSeconds: 300 } },
  });
  try {
    await store(context, ['-usr', 'alice', '-pwd', 'guess 1'], 'CT01', sidecar.port);
    await dcmtk('echoscu', ['-aet', 'GUESSING', '-aec', 'PACS'], sidecar.port); // AE title guessing counts too
    await store(context, ['-usr', 'alice', '-pwd', 'guess 3'], 'CT01', sidecar.port);
    const blocked = await store(context, ['-usr', 'alice', '-pwd', 'correct horse'], 'CT01', sidecar.port);
    assert.match(blocked.output, /Rejected Transient/);
    assert.match(blocked.output, /Temporary Congestion/);
    await sidecar.waitForLog((r) => r.event === 'source-blocked' && /blocked for 300 s after 3 refused connections/.test(r.msg));
    await waitFor('metric', async () => /dicomguard_source_blocks_total 1/.test(await sidecar.metrics()));
  } finally {
    await sidecar.stop();
  }
});

test('identity over TLS: storescu +tls with -usr/-pwd', async (context) => {
  const { createPki } = await import('../harness/pki.ts');
  const pki = await createPki();
  const server = await pki.issue('localhost', { usage: 'server' });
  const sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'modalities', aeTitles: ['CT01'] }],
    identity: { mode: 'Required', htpasswd: { file: join(context.dir, 'htpasswd') } },
    tls: { mode: 'Required', certFile: server.cert, keyFile: server.key },
  });
  try {
    const result = await dcmtk('storescu', ['+tla', '+cf', pki.ca.cert, '-aet', 'CT01', '-aec', 'PACS', '-usr', 'alice', '-pwd', 'correct horse', '-rsp'], sidecar.port, 'localhost', [context.image.path]);
    assert.is(result.code, 0, result.output);
    const audit = await sidecar.waitForAudit((r) => r.decision === 'accepted');
    assert.is(audit.user, 'alice');
    assert.match(audit.tls?.version ?? '', /TLSv1\.[23]/);
  } finally {
    await sidecar.stop();
    await rm(pki.dir, { recursive: true, force: true });
  }
});

test.run();
