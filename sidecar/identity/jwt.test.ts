import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { localKeySource, parseKeySet, type KeySource } from './jwks.ts';
import { JwtVerifier, type JwtConfig, type JwtResult } from './jwt.ts';
import { IdentityMaterialError } from './material.ts';

const ISSUER = 'https://keycloak.example.org/realms/hospital';
const now = () => Math.floor(Date.now() / 1000);

interface TestKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'RS384';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(alg: TestKey['alg'], kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const rsa = await makeKey('RS256', 'rsa-1');
const ec = await makeKey('ES256', 'ec-1');
const impostor = await makeKey('RS256', 'rsa-1'); // same kid, different key
const rs384 = await makeKey('RS384', 'rsa-384');

function config(overrides: Partial<JwtConfig> = {}): JwtConfig {
  return {
    issuer: ISSUER,
    audiences: ['pacs', 'viewer'],
    jwksFile: '/etc/dicom-guard/identity/jwks.json',
    usernameClaim: 'preferred_username',
    groupsClaim: 'groups',
    algorithms: ['RS256', 'ES256'],
    clockSkewSeconds: 30,
    ...overrides,
  };
}

function verifier(keys: JWK[] = [rsa.jwk, ec.jwk], overrides: Partial<JwtConfig> = {}): JwtVerifier {
  return new JwtVerifier(config(overrides), localKeySource(parseKeySet(JSON.stringify({ keys }), 'test JWKS')));
}

interface Claims {
  payload?: JWTPayload;
  iss?: string | undefined;
  aud?: string | string[] | undefined;
  exp?: number | undefined;
  nbf?: number;
  kid?: string | undefined;
}

async function sign(key: TestKey, claims: Claims = {}): Promise<string> {
  const jwt = new SignJWT({ preferred_username: 'alice', groups: ['radiology', 'night-shift'], ...claims.payload })
    .setProtectedHeader({ alg: key.alg, ...('kid' in claims ? (claims.kid === undefined ? {} : { kid: claims.kid }) : { kid: key.kid }), typ: 'JWT' })
    .setIssuedAt();
  const iss = 'iss' in claims ? claims.iss : ISSUER;
  if (iss !== undefined) jwt.setIssuer(iss);
  const aud = 'aud' in claims ? claims.aud : 'pacs';
  if (aud !== undefined) jwt.setAudience(aud);
  const exp = 'exp' in claims ? claims.exp : now() + 300;
  if (exp !== undefined) jwt.setExpirationTime(exp);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(key.privateKey);
}

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function failedWith(result: JwtResult, why: RegExp | string, token?: string): void {
  assert.is(result.status, 'failed', JSON.stringify(result));
  if (result.status !== 'failed') return;
  assert.match(result.why, why);
  if (token) {
    assert.not.ok(result.why.includes(token), 'the why never quotes the token');
    for (const part of token.split('.')) if (part.length > 8) assert.not.ok(result.why.includes(part), 'nor any part of it');
  }
}

test('a valid RS256 token: the username and groups from the configured claims', async () => {
  const result = await verifier().verify(await sign(rsa));
  assert.equal(result, { status: 'verified', username: 'alice', groups: ['radiology', 'night-shift'] });
});

test('a valid ES256 token', async () => {
  assert.equal(await verifier().verify(await sign(ec)), { status: 'verified', username: 'alice', groups: ['radiology', 'night-shift'] });
});

test('the audience may be any of identity.jwt.audiences, and the token may name several', async () => {
  assert.is((await verifier().verify(await sign(rsa, { aud: 'viewer' }))).status, 'verified');
  assert.is((await verifier().verify(await sign(rsa, { aud: ['billing', 'pacs'] }))).status, 'verified');
});

test('expired', async () => {
  const token = await sign(rsa, { exp: now() - 120 });
  failedWith(await verifier().verify(token), /^the JWT expired at \d{4}-\d\d-\d\dT.*\(clock skew allowed: 30 s\)$/, token);
});

test('not yet valid (nbf)', async () => {
  const token = await sign(rsa, { nbf: now() + 120 });
  failedWith(await verifier().verify(token), /^the JWT is not valid before \d{4}-/, token);
});

test('within the clock skew: just expired, or valid a few seconds from now', async () => {
  assert.is((await verifier().verify(await sign(rsa, { exp: now() - 10 }))).status, 'verified');
  assert.is((await verifier().verify(await sign(rsa, { nbf: now() + 10 }))).status, 'verified');
  const strict = verifier(undefined, { clockSkewSeconds: 0 });
  failedWith(await strict.verify(await sign(rsa, { exp: now() - 10 })), /expired/);
});

test('a token without exp is refused', async () => {
  failedWith(await verifier().verify(await sign(rsa, { exp: undefined })), 'the JWT has no "exp" claim');
});

test('wrong audience', async () => {
  const token = await sign(rsa, { aud: 'billing' });
  failedWith(await verifier().verify(token), `the JWT's audience "billing" includes none of identity.jwt.audiences (pacs, viewer)`, token);
  failedWith(await verifier().verify(await sign(rsa, { aud: undefined })), 'the JWT has no "aud" claim');
});

test('wrong issuer', async () => {
  const token = await sign(rsa, { iss: 'https://evil.example.org/realms/hospital' });
  failedWith(await verifier().verify(token), `the JWT was issued by "https://evil.example.org/realms/hospital", not by identity.jwt.issuer "${ISSUER}"`, token);
});

test('wrong key: signed by another key with the same kid', async () => {
  const token = await sign(impostor);
  failedWith(await verifier().verify(token), 'bad signature: the JWT (RS256, kid "rsa-1") does not verify with the JWKS key of that kid', token);
});

test('unknown kid', async () => {
  const token = await sign(rsa, { kid: 'rotated-away' });
  failedWith(await verifier().verify(token), 'no key for the JWT (RS256, kid "rotated-away") in the JWKS in identity.jwt.jwksFile', token);
});

test('alg "none" is never accepted (crafted by hand)', async () => {
  const payload = { preferred_username: 'admin', iss: ISSUER, aud: 'pacs', exp: now() + 300 };
  for (const alg of ['none', 'None', 'NONE']) {
    const token = `${b64url({ alg, typ: 'JWT' })}.${b64url(payload)}.`;
    failedWith(await verifier().verify(token), /unsigned \(alg "none"\)/, token);
  }
});

test('HS256 "signed" with the RSA public key as the shared secret (key confusion) is refused', async () => {
  const publicPem = await exportSPKI(rsa.publicKey);
  for (const secret of [publicPem, JSON.stringify(rsa.jwk)]) {
    const token = await new SignJWT({ preferred_username: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setIssuer(ISSUER)
      .setAudience('pacs')
      .setExpirationTime(now() + 300)
      .sign(new TextEncoder().encode(secret));
    failedWith(await verifier().verify(token), 'the JWT uses "HS256", a shared-secret algorithm; only public-key algorithms are accepted', token);
  }
});

test('an algorithm outside identity.jwt.algorithms is refused, even with a key for it', async () => {
  const token = await sign(rs384);
  failedWith(await verifier([rsa.jwk, rs384.jwk]).verify(token), 'the JWT uses alg "RS384", which is not in identity.jwt.algorithms (RS256, ES256)', token);
  assert.is((await verifier([rs384.jwk], { algorithms: ['RS384'] }).verify(token)).status, 'verified');
});

test('groups: a list, a single string, absent; anything else is refused', async () => {
  const groupsOf = async (groups: unknown) => verifier().verify(await sign(rsa, { payload: { groups } as JWTPayload }));
  assert.equal(await groupsOf(['a', 'b']), { status: 'verified', username: 'alice', groups: ['a', 'b'] });
  assert.equal(await groupsOf('radiology'), { status: 'verified', username: 'alice', groups: ['radiology'] });
  assert.equal(await groupsOf([]), { status: 'verified', username: 'alice', groups: [] });
  assert.equal(await groupsOf(undefined), { status: 'verified', username: 'alice', groups: [] });
  failedWith(await groupsOf(42), `the JWT's "groups" claim (identity.jwt.groupsClaim) is neither a string nor a list of strings`);
  failedWith(await groupsOf(['a', 1]), /neither a string nor a list of strings/);
  failedWith(await groupsOf({ admin: true }), /neither a string nor a list of strings/);
  const custom = verifier(undefined, { groupsClaim: 'roles' });
  assert.equal(await custom.verify(await sign(rsa, { payload: { roles: 'pacs-admin' } })), { status: 'verified', username: 'alice', groups: ['pacs-admin'] });
});

test('username: from identity.jwt.usernameClaim, which must be a non-empty string', async () => {
  assert.equal(await verifier(undefined, { usernameClaim: 'sub' }).verify(await sign(rsa, { payload: { sub: 'user-42' } })), {
    status: 'verified',
    username: 'user-42',
    groups: ['radiology', 'night-shift'],
  });
  failedWith(await verifier(undefined, { usernameClaim: 'email' }).verify(await sign(rsa)), 'the JWT has no "email" claim (identity.jwt.usernameClaim) to take the username from');
  failedWith(await verifier().verify(await sign(rsa, { payload: { preferred_username: '' } })), /is "", not a non-empty string/);
  failedWith(await verifier().verify(await sign(rsa, { payload: { preferred_username: ['alice'] } })), /not a non-empty string/);
});

test('several keys fit a token without kid: one of them must have signed it', async () => {
  const second = await makeKey('RS256', 'unused');
  const keys = [
    { ...rsa.jwk, kid: undefined },
    { ...second.jwk, kid: undefined },
  ];
  assert.is((await verifier(keys).verify(await sign(second, { kid: undefined }))).status, 'verified');
  failedWith(await verifier(keys).verify(await sign(impostor, { kid: undefined })), 'bad signature: the JWT (RS256, no kid) does not verify with the JWKS key of that algorithm');
});

test('what DCMTK reads from a file (a trailing newline, NUL padding) is trimmed', async () => {
  const token = await sign(rsa);
  assert.is((await verifier().verify(`${token}\n`)).status, 'verified');
  assert.is((await verifier().verify(`${token}\0`)).status, 'verified');
});

test('malformed tokens', async () => {
  failedWith(await verifier().verify(''), 'the JWT is empty');
  failedWith(await verifier().verify('not a token'), 'the primary field is not a JWT in compact form (three dot-separated parts)');
  failedWith(await verifier().verify('a.b.c.d.e'), /encrypted \(JWE\)/);
  failedWith(await verifier().verify('!!!.@@@.###'), 'the JWT header is not base64url-encoded JSON');
  failedWith(await verifier().verify(`${b64url({ typ: 'JWT' })}.${b64url({})}.sig`), 'the JWT header has no alg');
  const token = await sign(rsa);
  const [header, , signature] = token.split('.');
  failedWith(await verifier().verify(`${header}.${b64url('[1,2]')}.${signature}`), /bad signature|malformed/);
  const tampered = `${header}.${b64url({ preferred_username: 'admin', iss: ISSUER, aud: 'pacs', exp: now() + 300 })}.${signature}`;
  failedWith(await verifier().verify(tampered), /^bad signature/, tampered);
});

/** A local key source whose key lookups are counted and whose version the test sets. */
function watchedKeys(keys: JWK[] = [rsa.jwk, ec.jwk]) {
  const local = localKeySource(parseKeySet(JSON.stringify({ keys }), 'test JWKS'));
  const watched = { lookups: 0, version: 0 as number | undefined };
  const source: KeySource = {
    key: (header, token) => {
      watched.lookups++;
      return local.key(header, token);
    },
    freshness: () => local.freshness(),
    keysVersion: () => watched.version,
    close: () => local.close(),
  };
  return { watched, source };
}

test('a verified token is remembered: presented again, its signature is not checked again; failures are not remembered', async () => {
  const { watched, source } = watchedKeys();
  const jwt = new JwtVerifier(config(), source);
  const token = await sign(rsa);
  const expected = { status: 'verified', username: 'alice', groups: ['radiology', 'night-shift'] };
  assert.equal(await jwt.verify(token), expected);
  assert.equal(await jwt.verify(`${token}\n`), expected, 'the same token, as DCMTK may send it');
  assert.is(watched.lookups, 1);
  const refused = await sign(rsa, { aud: 'billing' });
  failedWith(await jwt.verify(refused), /audience/);
  failedWith(await jwt.verify(refused), /audience/);
  assert.is(watched.lookups, 3, 'a refused token is checked each time');
});

test('a remembered token is checked again when it expires, when the keys change, and not remembered without a key version', async () => {
  const { watched, source } = watchedKeys();
  let t = now();
  const jwt = new JwtVerifier(config({ clockSkewSeconds: 5 }), source, { now: () => t });
  const token = await sign(rsa, { exp: t + 60 });
  assert.is((await jwt.verify(token)).status, 'verified');
  t += 60;
  assert.is((await jwt.verify(token)).status, 'verified', 'expired, but within the clock skew');
  assert.is(watched.lookups, 1);
  t += 5;
  failedWith(await jwt.verify(token), /^the JWT expired at /, token);
  assert.is(watched.lookups, 2, 'near and past exp the whole check decides');

  const other = await sign(rsa);
  await jwt.verify(other);
  watched.version = 1;
  assert.is((await jwt.verify(other)).status, 'verified');
  assert.is(watched.lookups, 4, 'other keys: checked again');
  watched.version = undefined;
  await jwt.verify(other);
  await jwt.verify(other);
  assert.is(watched.lookups, 6, 'keys that must be looked at again: never remembered');
});

test('parseKeySet: refuses what is not a usable public key set, naming the key or the line', async () => {
  const refused = (text: string): string => {
    try {
      parseKeySet(text, 'identity.jwt.jwksFile /j.json');
    } catch (error) {
      assert.instance(error, IdentityMaterialError);
      return (error as Error).message;
    }
    throw new Error(`accepted: ${text}`);
  };
  assert.match(refused('{\n  "keys": [\n    {"kty": "RSA",}\n  ]\n}'), /^identity\.jwt\.jwksFile \/j\.json: not valid JSON: .*line 3 column/);
  assert.match(refused('[]'), /not a JSON Web Key Set/);
  assert.match(refused('{"keys": []}'), /has no keys/);
  assert.match(refused(JSON.stringify({ keys: [rsa.jwk, { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }] })), 'key 1 (kid "hmac") is a shared secret (kty "oct")');
  const privateJwk = { ...(await exportJWK(rsa.privateKey)), kid: 'oops' };
  const message = refused(JSON.stringify({ keys: [privateJwk] }));
  assert.match(message, 'key 0 (kid "oops") contains a private key');
  assert.not.ok(message.includes(String(privateJwk.d)), 'the private part is not quoted');
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  assert.match(refused(JSON.stringify({ keys: [small] })), 'key 0 is an RSA key of 1024 bits; at least 2048 are required');
  assert.match(refused(JSON.stringify({ keys: [{ ...ec.jwk, x: 'AAAA' }] })), /key 0 \(kid "ec-1"\) is not a usable EC public key/);
  assert.match(refused(JSON.stringify({ keys: [{ kty: 'XYZ' }] })), 'key 0 has kty "XYZ"; expected RSA, EC or OKP');
});

test.run();
