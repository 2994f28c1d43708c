import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { bcrypt } from 'hash-wasm';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { sidecarConfigSchema, type IdentityConfig, type SidecarConfigInput } from '../config/schema.ts';
import type { IdentityOutcome } from '../decision/decide.ts';
import { createLogger } from '../log.ts';
import type { UserIdentityRequest } from '../wire/pdu.ts';
import { createIdentityVerifier, IdentityMaterialError, MAX_USERNAME_LENGTH, type IdentityMaterial } from './verifier.ts';

const encoder = new TextEncoder();

function identityConfig(identity: SidecarConfigInput['identity']): IdentityConfig {
  return sidecarConfigSchema.parse({ apiVersion: 'dicomguard.io/v1alpha1', kind: 'SidecarConfig', calledAETitles: ['PACS'], identity }).identity;
}

/** A logger whose every line (at trace and up) is kept. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = createLogger('identity-test', 'trace', { write: (line: string) => void lines.push(line) });
  return { logger, text: () => lines.join(''), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function identity(identityType: number, primary: string | Uint8Array, secondary: string | Uint8Array = '', positiveResponseRequested = false): UserIdentityRequest {
  const bytes = (v: string | Uint8Array) => (typeof v === 'string' ? encoder.encode(v) : v);
  return { identityType, positiveResponseRequested, primaryField: bytes(primary), secondaryField: bytes(secondary) };
}

const context = { connectionId: 'test-1' };

async function bcryptLine(user: string, passcode: string): Promise<string> {
  const hash = await bcrypt({ password: passcode, salt: crypto.getRandomValues(new Uint8Array(16)), costFactor: 4, outputType: 'encoded' });
  return `${user}:$2y$${hash.slice(4)}`;
}

/** A TCP "directory" that counts connections and never answers. */
async function silentDirectory() {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const failed = (outcome: IdentityOutcome, why: string | RegExp) => {
  assert.is(outcome.status, 'failed', JSON.stringify(outcome));
  if (outcome.status === 'failed') assert.match(outcome.why, why);
};

test('type 1: refused unless identity.acceptUsernameOnly', async () => {
  const { logger } = capturedLogger();
  const strict = createIdentityVerifier(identityConfig({ mode: 'Required', htpasswd: { file: '/h' } }), { htpasswd: '' }, logger);
  assert.equal(await strict.verify(identity(1, 'alice'), context), {
    status: 'failed',
    identityType: 1,
    why: 'username-only identities are not accepted (identity.acceptUsernameOnly is false)',
  });
  strict.close();
  const lenient = createIdentityVerifier(identityConfig({ mode: 'Required', acceptUsernameOnly: true }), {}, logger);
  assert.equal(await lenient.verify(identity(1, 'alice', '', true), context), { status: 'verified', identityType: 1, username: 'alice', groups: [] });
  lenient.close();
});

test('usernames: UTF-8, not empty, no control characters, bounded', async () => {
  const { logger } = capturedLogger();
  const verifier = createIdentityVerifier(identityConfig({ mode: 'Required', acceptUsernameOnly: true }), {}, logger);
  assert.equal(await verifier.verify(identity(1, 'jörg'), context), { status: 'verified', identityType: 1, username: 'jörg', groups: [] });
  failed(await verifier.verify(identity(1, ''), context), 'the username is empty');
  failed(await verifier.verify(identity(1, Uint8Array.from([0x61, 0xff, 0x62])), context), 'the username is not valid UTF-8');
  failed(await verifier.verify(identity(1, 'alice\nadmin'), context), 'the username "alice\\nadmin" contains control characters');
  failed(await verifier.verify(identity(1, 'a'.repeat(MAX_USERNAME_LENGTH + 1)), context), `the username is longer than ${MAX_USERNAME_LENGTH} characters`);
  assert.is((await verifier.verify(identity(1, 'a'.repeat(MAX_USERNAME_LENGTH)), context)).status, 'verified');
  verifier.close();
});

test('type 2 with htpasswd: right, wrong, unknown, empty passcode', async () => {
  const { logger } = capturedLogger();
  const verifier = createIdentityVerifier(identityConfig({ mode: 'Required', htpasswd: { file: '/etc/h' } }), { htpasswd: `${await bcryptLine('alice', 'open sesame')}\n` }, logger);
  try {
    assert.equal(await verifier.verify(identity(2, 'alice', 'open sesame', true), context), { status: 'verified', identityType: 2, username: 'alice', groups: [] });
    assert.equal(await verifier.verify(identity(2, 'alice', 'open sesame!'), context), { status: 'failed', identityType: 2, why: 'wrong passcode for user "alice" (identity.htpasswd.file)' });
    assert.equal(await verifier.verify(identity(2, 'bob', 'open sesame'), context), { status: 'failed', identityType: 2, why: 'user "bob" is not in identity.htpasswd.file' });
    assert.equal(await verifier.verify(identity(2, 'alice', ''), context), { status: 'failed', identityType: 2, why: 'user "alice" sent an empty passcode' });
  } finally {
    verifier.close();
  }
});

test('type 2 with htpasswd and LDAP: the file decides for its users, the directory for the others', async () => {
  const directory = await silentDirectory();
  const { logger, records } = capturedLogger();
  const verifier = createIdentityVerifier(
    identityConfig({ mode: 'Required', htpasswd: { file: '/etc/h' }, ldap: { url: directory.url, userDN: 'uid={username},dc=example,dc=org', timeoutSeconds: 0.3 } }),
    { htpasswd: await bcryptLine('alice', 'open sesame') },
    logger,
  );
  try {
    assert.is((await verifier.verify(identity(2, 'alice', 'open sesame'), context)).status, 'verified');
    failed(await verifier.verify(identity(2, 'alice', 'wrong'), context), 'wrong passcode for user "alice" (identity.htpasswd.file)');
    assert.is(directory.connections(), 0, 'a user of the file is never tried against the directory');

    const outcome = await verifier.verify(identity(2, 'bob', 'secret'), context);
    assert.equal(outcome, {
      status: 'failed',
      identityType: 2,
      why: `user "bob" could not be verified: the directory ${directory.url} is unreachable: no answer within 0.3 s`,
      transient: true,
    });
    assert.is(directory.connections(), 1);
    const warning = records().find((r) => r.level === 'warn' && String(r.msg).includes('directory is unreachable'));
    assert.ok(warning, 'an unreachable directory is a warning for the operator');
    failed(await verifier.verify(identity(2, 'bob', ''), context), 'user "bob" sent an empty passcode');
    assert.is(directory.connections(), 1, 'an empty passcode never reaches the directory');
    failed(await verifier.verify(identity(2, 'bob', Uint8Array.from([0xc3, 0x28])), context), 'the passcode of user "bob" is not valid UTF-8, which an LDAP bind needs');
  } finally {
    verifier.close();
    await directory.close();
  }
});

test('type 2 without htpasswd or LDAP', async () => {
  const { logger } = capturedLogger();
  const verifier = createIdentityVerifier(identityConfig({ mode: 'Required', acceptUsernameOnly: true }), {}, logger);
  failed(await verifier.verify(identity(2, 'alice', 'x'), context), 'username and passcode identities cannot be verified: neither identity.htpasswd nor identity.ldap is configured');
  verifier.close();
});

test('types 3 (Kerberos) and 4 (SAML): not supported, with a warning', async () => {
  const { logger, records } = capturedLogger();
  const verifier = createIdentityVerifier(identityConfig({ mode: 'Required', acceptUsernameOnly: true }), {}, logger);
  failed(await verifier.verify(identity(3, 'a kerberos ticket'), context), /^Kerberos identities \(user identity type 3\) are not supported/);
  failed(await verifier.verify(identity(4, '<saml:Assertion/>'), context), /^SAML identities \(user identity type 4\) are not supported/);
  const warnings = records().filter((r) => r.level === 'warn');
  assert.equal(
    warnings.map((w) => [w.identityType, w.connectionId]),
    [
      [3, 'test-1'],
      [4, 'test-1'],
    ],
  );
  assert.match(String(warnings[0]!.msg), 'not supported');
  verifier.close();
});

test('undefined types fail', async () => {
  const { logger } = capturedLogger();
  const verifier = createIdentityVerifier(identityConfig({ mode: 'Required', acceptUsernameOnly: true }), {}, logger);
  for (const type of [0, 6, 255]) failed(await verifier.verify(identity(type, 'alice'), context), `user identity type ${type} is not defined (PS3.7 Table D.3-14 defines types 1 to 5)`);
  verifier.close();
});

test('type 5 without identity.jwt, and with it', async () => {
  const { logger } = capturedLogger();
  const none = createIdentityVerifier(identityConfig({ mode: 'Required', acceptUsernameOnly: true }), {}, logger);
  failed(await none.verify(identity(5, 'a.b.c'), context), 'JWT identities (user identity type 5) are not accepted: identity.jwt is not configured');
  none.close();

  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] });
  const verifier = createIdentityVerifier(identityConfig({ mode: 'Required', jwt: { issuer: 'https://idp', audiences: ['pacs'], jwksFile: '/j.json' } }), { jwks }, logger);
  const token = await new SignJWT({ groups: 'radiology' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('carol').setIssuer('https://idp').setAudience('pacs').setExpirationTime('1m').sign(privateKey);
  assert.equal(await verifier.verify(identity(5, token, '', true), context), { status: 'verified', identityType: 5, username: 'carol', groups: ['radiology'] });
  failed(await verifier.verify(identity(5, Uint8Array.from([0xff])), context), 'the JWT is not valid UTF-8');
  verifier.close();
});

test('the log of failed (and passed) verifications holds neither passcodes nor tokens', async () => {
  const directory = await silentDirectory();
  const { logger, text } = capturedLogger();
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] });
  const verifier = createIdentityVerifier(
    identityConfig({
      mode: 'Required',
      htpasswd: { file: '/etc/h' },
      ldap: { url: directory.url, userDN: 'uid={username},dc=example,dc=org', timeoutSeconds: 0.2 },
      jwt: { issuer: 'https://idp', audiences: ['pacs'], jwksFile: '/j.json' },
    }),
    { htpasswd: await bcryptLine('alice', 'Passcode-Of-Alice-123'), jwks },
    logger,
  );
  const sign = (aud: string, exp: string) => new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('dave').setIssuer('https://idp').setAudience(aud).setExpirationTime(exp).sign(privateKey);
  const tokens = [await sign('pacs', '1m'), await sign('billing', '1m'), await sign('pacs', '-5m')];
  try {
    const outcomes = [
      await verifier.verify(identity(2, 'alice', 'Wrong-Passcode-Of-Alice-456'), context),
      await verifier.verify(identity(2, 'alice', 'Passcode-Of-Alice-123'), context),
      await verifier.verify(identity(2, 'bob', 'Passcode-Of-Bob-789'), context),
      ...(await Promise.all(tokens.map((t) => verifier.verify(identity(5, t), context)))),
      await verifier.verify(identity(5, `${tokens[0]!.slice(0, -4)}AAAA`), context),
      await verifier.verify(identity(3, 'Kerberos-Ticket-Bytes'), context),
    ];
    assert.equal(
      outcomes.map((o) => o.status),
      ['failed', 'verified', 'failed', 'verified', 'failed', 'failed', 'failed', 'failed'],
    );
    // An error nobody expected, from a library that quotes its input: failed, and the log scrubbed.
    const internals = verifier as unknown as { jwt: { verify: () => Promise<never> }; pool: { verify: () => Promise<never> } };
    internals.jwt.verify = async () => {
      throw new TypeError(`cannot parse ${tokens[0]}`);
    };
    internals.pool.verify = async () => {
      throw new RangeError('bad input: Passcode-Of-Alice-123');
    };
    failed(await verifier.verify(identity(5, tokens[0]!), context), 'the JWT identity could not be verified (internal error: TypeError; see the log)');
    failed(await verifier.verify(identity(2, 'alice', 'Passcode-Of-Alice-123'), context), 'the username and passcode identity could not be verified (internal error: RangeError; see the log)');
    delete (internals.pool as Partial<typeof internals.pool>).verify;
    verifier.close();
    // After close(), the passcode pool is gone: a transient failure.
    const closed = await verifier.verify(identity(2, 'alice', 'Passcode-Of-Alice-123'), context);
    failed(closed, 'user "alice" could not be verified: the passcode pool is closed');
    assert.is(closed.status === 'failed' && closed.transient, true);

    const log = text();
    assert.is(log.match(/"level":"error"/g)?.length, 2, 'each unexpected error is logged');
    assert.match(log, /cannot parse \[redacted\]/);
    assert.match(log, /bad input: \[redacted\]/);
    assert.match(log, /wrong passcode for user \\"alice\\"/, 'the failures are logged');
    for (const secret of ['Passcode-Of-Alice-123', 'Wrong-Passcode-Of-Alice-456', 'Passcode-Of-Bob-789', 'Kerberos-Ticket-Bytes', ...tokens, ...tokens.map((t) => t.split('.')[2]!)]) {
      assert.not.ok(log.includes(secret), `the log contains ${secret.slice(0, 12)}...`);
    }
    for (const outcome of outcomes) {
      if (outcome.status === 'failed') for (const token of tokens) assert.not.ok(outcome.why.includes(token));
    }
  } finally {
    await directory.close();
  }
});

test('a verification whose connection went away is not verified', async () => {
  const { logger } = capturedLogger();
  const verifier = createIdentityVerifier(identityConfig({ mode: 'Required', acceptUsernameOnly: true }), {}, logger);
  const controller = new AbortController();
  controller.abort();
  failed(await verifier.verify(identity(1, 'alice'), { connectionId: 'x', signal: controller.signal }), 'verification abandoned: the connection went away');
  verifier.close();
});

test('material that cannot be used is refused at construction, naming the file and line', async () => {
  const { logger } = capturedLogger();
  const build = (identityInput: SidecarConfigInput['identity'], material: IdentityMaterial) => () => createIdentityVerifier(identityConfig(identityInput), material, logger);
  const refused = (fn: () => unknown, message: string | RegExp) => {
    try {
      fn();
    } catch (error) {
      assert.instance(error, IdentityMaterialError);
      assert.match((error as Error).message, message);
      return;
    }
    assert.unreachable('expected an IdentityMaterialError');
  };
  const htpasswd: SidecarConfigInput['identity'] = { mode: 'Required', htpasswd: { file: '/etc/dicom-guard/identity/htpasswd' } };
  refused(build(htpasswd, {}), 'identity.htpasswd.file /etc/dicom-guard/identity/htpasswd: its contents were not provided');
  refused(build(htpasswd, { htpasswd: `${await bcryptLine('a', 'x')}\nbob:$apr1$hh4FUvhs$7ZdpTXXnRdcCNZ9vbLWBk/\n` }), /^\/etc\/dicom-guard\/identity\/htpasswd line 2: user "bob" has an MD5 \(apr1\) hash/);

  const jwt: SidecarConfigInput['identity'] = { mode: 'Required', jwt: { issuer: 'i', audiences: ['a'], jwksFile: '/j.json' } };
  refused(build(jwt, {}), 'identity.jwt.jwksFile /j.json: its contents were not provided');
  refused(build(jwt, { jwks: '{"kty": "RSA"}' }), 'identity.jwt.jwksFile /j.json: not a JSON Web Key Set');

  const ldap: SidecarConfigInput['identity'] = { mode: 'Required', ldap: { url: 'ldaps://ldap.example.org', userDN: 'uid={username},dc=x', caFile: '/ca.crt' } };
  refused(build(ldap, {}), 'identity.ldap.caFile /ca.crt: its contents were not provided');
  refused(build(ldap, { ldapCA: 'hello' }), 'identity.ldap.caFile /ca.crt: no PEM certificate');
  refused(build(ldap, { ldapCA: '# CA\n\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }), /^identity\.ldap\.caFile \/ca\.crt line 3: certificate 1 does not parse/);
});

test('plain ldap:// without StartTLS and a plain http:// jwksUrl are warnings; ldaps:// with startTLS is a config error', () => {
  const { logger, records } = capturedLogger();
  createIdentityVerifier(identityConfig({ mode: 'Required', ldap: { url: 'ldap://ldap.example.org', userDN: 'uid={username},dc=x' } }), {}, logger).close();
  assert.ok(records().some((r) => r.level === 'warn' && String(r.msg).includes('passcodes cross the network unencrypted')));
  createIdentityVerifier(identityConfig({ mode: 'Required', jwt: { issuer: 'i', audiences: ['a'], jwksUrl: 'http://idp.example.org/certs' } }), {}, logger).close();
  assert.ok(records().some((r) => r.level === 'warn' && String(r.msg).includes('is plain http://')));
  const before = records().length;
  createIdentityVerifier(identityConfig({ mode: 'Required', jwt: { issuer: 'i', audiences: ['a'], jwksUrl: 'https://idp.example.org/certs' } }), {}, logger).close();
  assert.is(records().length, before, 'https:// is not warned about');
  const result = sidecarConfigSchema.safeParse({
    apiVersion: 'dicomguard.io/v1alpha1',
    kind: 'SidecarConfig',
    calledAETitles: ['PACS'],
    identity: { mode: 'Required', ldap: { url: 'ldaps://ldap.example.org', userDN: 'uid={username},dc=x', startTLS: true } },
  });
  assert.not.ok(result.success);
  assert.match(JSON.stringify(result.error?.issues), /startTLS is for ldap:\/\/ URLs/);
});

test.run();
