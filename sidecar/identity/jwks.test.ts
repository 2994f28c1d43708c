// identity.jwt.jwksUrl: a JWKS served by a local node:http server, fetches counted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { RemoteKeySet } from './jwks.ts';
import { JwtVerifier, type JwtConfig, type JwtResult } from './jwt.ts';

const ISSUER = 'https://idp.example.org';
const silent = pino({ level: 'silent' });

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

function sign(key: Key, kid = key.kid): Promise<string> {
  return new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(ISSUER)
    .setAudience('pacs')
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

/** The issuer's JWKS endpoint: what it serves can change, and it counts requests. */
interface Issuer {
  url: string;
  requests: number;
  keys: JWK[];
  /** Instead of the key set: an HTTP status, a silence, or a body. */
  misbehave?: { status?: number; hang?: boolean; body?: string };
  close(): Promise<void>;
}

async function startIssuer(keys: JWK[]): Promise<Issuer> {
  const issuer = { requests: 0, keys } as Issuer;
  const server: Server = createServer((_request, response) => {
    issuer.requests++;
    const misbehave = issuer.misbehave;
    if (misbehave?.hang) return;
    if (misbehave?.status) {
      response.writeHead(misbehave.status).end('no');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/jwk-set+json' });
    response.end(misbehave?.body ?? JSON.stringify({ keys: issuer.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/hospital/protocol/openid-connect/certs`;
  issuer.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return issuer;
}

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

const config: JwtConfig = {
  issuer: ISSUER,
  audiences: ['pacs'],
  jwksUrl: 'http://placeholder',
  usernameClaim: 'sub',
  groupsClaim: 'groups',
  algorithms: ['ES256'],
  clockSkewSeconds: 30,
};

interface Scenario {
  issuer: Issuer;
  keys: RemoteKeySet;
  verifier: JwtVerifier;
  clock: ReturnType<typeof clock>;
}

/** An issuer serving `keys`, a verifier fetching from it on a fake clock; both closed afterwards. */
async function scenario(keys: JWK[], run: (s: Scenario) => Promise<void>, options: { fetchTimeoutMs?: number; maxBytes?: number } = {}): Promise<void> {
  const issuer = await startIssuer(keys);
  const c = clock();
  const keySet = new RemoteKeySet(new URL(issuer.url), silent, { now: c.now, minRefreshIntervalMs: 30_000, maxAgeMs: 600_000, ...options });
  const verifier = new JwtVerifier({ ...config, jwksUrl: issuer.url }, keySet);
  try {
    await run({ issuer, keys: keySet, verifier, clock: c });
  } finally {
    verifier.close();
    await issuer.close();
  }
}

const verified = (result: JwtResult) => assert.equal(result, { status: 'verified', username: 'alice', groups: [] });

const first = await makeKey('2024-01');
const second = await makeKey('2024-07');

test('fetched on first use, then cached', () =>
  scenario([first.jwk], async ({ issuer, verifier, keys }) => {
    assert.is(issuer.requests, 0, 'nothing is fetched before a token needs it');
    verified(await verifier.verify(await sign(first)));
    verified(await verifier.verify(await sign(first)));
    verified(await verifier.verify(await sign(first)));
    assert.is(issuer.requests, 1);
    assert.is(keys.fetches, 1);
  }));

test('concurrent first uses share one fetch', () =>
  scenario([first.jwk], async ({ issuer, verifier }) => {
    const token = await sign(first);
    const results = await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)));
    results.forEach(verified);
    assert.is(issuer.requests, 1);
  }));

test('an unknown kid refreshes the set (key rotation), at most once per 30 s', () =>
  scenario([first.jwk], async ({ issuer, verifier, clock: c }) => {
    verified(await verifier.verify(await sign(first)));
    issuer.keys = [first.jwk, second.jwk];
    c.advance(31);
    verified(await verifier.verify(await sign(second)));
    assert.is(issuer.requests, 2, 'the new kid made it fetch again');

    // Made-up kids: no fetch while the last one is less than 30 s old, however many tokens come.
    for (let i = 0; i < 20; i++) {
      const result = await verifier.verify(await sign(first, `made-up-${i}`));
      assert.is(result.status, 'failed');
      if (result.status === 'failed') assert.match(result.why, /^no key for the JWT \(ES256, kid "made-up-\d+"\) in the JWKS at http:.* \(fetched 0 s ago; an unknown kid makes it fetch again at most every 30 s\)$/);
    }
    assert.is(issuer.requests, 2);
    c.advance(29);
    await verifier.verify(await sign(first, 'made-up-again'));
    assert.is(issuer.requests, 2);
    c.advance(2);
    await verifier.verify(await sign(first, 'made-up-again'));
    assert.is(issuer.requests, 3, '30 s after the last fetch, an unknown kid may fetch once more');
    await verifier.verify(await sign(first, 'made-up-again'));
    assert.is(issuer.requests, 3);
  }));

test('a set older than 10 minutes is fetched again on its next use', () =>
  scenario([first.jwk], async ({ issuer, verifier, clock: c }) => {
    verified(await verifier.verify(await sign(first)));
    c.advance(599);
    verified(await verifier.verify(await sign(first)));
    assert.is(issuer.requests, 1);
    c.advance(2);
    issuer.keys = [second.jwk];
    const result = await verifier.verify(await sign(first));
    assert.is(issuer.requests, 2);
    assert.is(result.status, 'failed', 'the key removed by the issuer is no longer accepted');
  }));

test('a remembered token is checked again once the set is due for refetching: refused when the issuer removed its key', () =>
  scenario([first.jwk], async ({ issuer, verifier, clock: c }) => {
    const token = await sign(first);
    for (let i = 0; i < 3; i++) verified(await verifier.verify(token));
    assert.is(issuer.requests, 1);
    c.advance(601);
    issuer.keys = [second.jwk];
    const result = await verifier.verify(token);
    assert.is(issuer.requests, 2);
    assert.is(result.status, 'failed', 'the key removed by the issuer no longer vouches for the token');
  }));

test('the issuer failing: transient failure, failed fetches are rate-limited too, the last good set stays in use', () =>
  scenario([first.jwk], async ({ issuer, verifier, clock: c }) => {
    issuer.misbehave = { status: 503 };
    const token = await sign(first);
    const result = await verifier.verify(token);
    assert.equal(result, { status: 'failed', why: `the JWKS at ${issuer.url} could not be fetched (HTTP status 503)`, transient: true });
    for (let i = 0; i < 5; i++) await verifier.verify(token);
    assert.is(issuer.requests, 1, 'no fetch storm against a failing issuer');

    issuer.misbehave = undefined;
    c.advance(31);
    verified(await verifier.verify(token));
    assert.is(issuer.requests, 2);

    issuer.misbehave = { status: 500 };
    c.advance(601);
    verified(await verifier.verify(token));
    assert.is(issuer.requests, 3, 'a stale set is refetched; the fetch failed, the keys from before still verify');
  }));

test('a fetch that hangs times out', () =>
  scenario(
    [first.jwk],
    async ({ issuer, verifier }) => {
      issuer.misbehave = { hang: true };
      const started = Date.now();
      const result = await verifier.verify(await sign(first));
      assert.ok(Date.now() - started < 2000, `gave up after ${Date.now() - started} ms`);
      assert.equal(result, { status: 'failed', why: `the JWKS at ${issuer.url} could not be fetched (no answer within 0.2 s)`, transient: true });
    },
    { fetchTimeoutMs: 200 },
  ));

test('a response that is not a key set is not used', () =>
  scenario([first.jwk], async ({ issuer, verifier }) => {
    issuer.misbehave = { body: '<html>login page</html>' };
    const result = await verifier.verify(await sign(first));
    assert.is(result.status, 'failed');
    if (result.status === 'failed') assert.match(result.why, /could not be fetched \(the JWKS at http:.*: not valid JSON/);
  }));

test('a response larger than maxBytes is not read', () =>
  scenario(
    [first.jwk],
    async ({ issuer, verifier }) => {
      issuer.misbehave = { body: JSON.stringify({ keys: [first.jwk], padding: 'x'.repeat(5000) }) };
      const result = await verifier.verify(await sign(first));
      assert.is(result.status, 'failed');
      if (result.status === 'failed') assert.match(result.why, /at most 4096 are read/);
    },
    { maxBytes: 4096 },
  ));

test('after close(), nothing is fetched', () =>
  scenario([first.jwk], async ({ issuer, verifier }) => {
    verifier.close();
    const result = await verifier.verify(await sign(first));
    assert.equal(result, { status: 'failed', why: `the JWKS at ${issuer.url} could not be fetched (this verifier was closed; a newer one took its place)`, transient: true });
    assert.is(issuer.requests, 0);
  }));

test.run();
