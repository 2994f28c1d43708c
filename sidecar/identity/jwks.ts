// The keys JWTs are checked against: a JSON Web Key Set (RFC 7517 section 5), from
// identity.jwt.jwksFile (text handed over by the proxy) or fetched from identity.jwt.jwksUrl.
//
// A fetched set is cached. An unknown kid (the issuer rotated its keys) triggers a
// refetch, but fetches of any kind, successful or not, are at most one per
// minRefreshIntervalMs: otherwise every token with a made-up kid would make the proxy
// hammer the issuer. A set that can no longer be refreshed stays in use (keys do not go
// bad with age; a revoked key disappears at the next successful fetch).
import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { IdentityMaterialError } from './material.ts';

/** Key types that verify asymmetric signatures; "oct" (a shared secret) never does here. */
const PUBLIC_KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

function describeKey(index: number, key: Record<string, unknown>): string {
  return typeof key.kid === 'string' ? `key ${index} (kid ${JSON.stringify(key.kid)})` : `key ${index}`;
}

/**
 * A JWKS from its JSON text, every key checked: public, asymmetric, importable, RSA at
 * least 2048 bits. Throws IdentityMaterialError naming `source` and the key (or, for a
 * JSON syntax error, the line and column).
 */
export function parseKeySet(text: string, source: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8's message carries "(line L column C)".
    throw new IdentityMaterialError(`${source}: not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw new IdentityMaterialError(`${source}: not a JSON Web Key Set (expected an object with a "keys" array, RFC 7517 section 5)`);
  }
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0) throw new IdentityMaterialError(`${source}: the key set has no keys`);
  keys.forEach((key, index) => {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new IdentityMaterialError(`${source}: key ${index} is not an object`);
    const jwk = key as Record<string, unknown>;
    const name = describeKey(index, jwk);
    if (jwk.kty === 'oct') throw new IdentityMaterialError(`${source}: ${name} is a shared secret (kty "oct"); JWTs are verified with public keys only`);
    if (typeof jwk.kty !== 'string' || !PUBLIC_KEY_TYPES.has(jwk.kty)) {
      throw new IdentityMaterialError(`${source}: ${name} has kty ${JSON.stringify(jwk.kty)}; expected RSA, EC or OKP`);
    }
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
      throw new IdentityMaterialError(`${source}: ${name} contains a private key; publish only the public part`);
    }
    let modulusLength: number | undefined;
    try {
      modulusLength = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' }).asymmetricKeyDetails?.modulusLength;
    } catch (error) {
      throw new IdentityMaterialError(`${source}: ${name} is not a usable ${jwk.kty} public key (${(error as Error).message})`);
    }
    if (jwk.kty === 'RSA' && (modulusLength ?? 0) < 2048) {
      throw new IdentityMaterialError(`${source}: ${name} is an RSA key of ${modulusLength} bits; at least 2048 are required (RFC 7518 section 3.3)`);
    }
  });
  return { keys: keys as JWK[] };
}

/** No key set could be fetched at all: the caller is not at fault. */
export class KeySetUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySetUnavailableError';
  }
}

/** Where a verifier finds keys: jose's key function, and a note for "no such kid" messages. */
export interface KeySource {
  readonly key: JWTVerifyGetKey;
  /** Said after "no key with kid ..." (e.g. when the set was last fetched). */
  freshness(): string;
  /**
   * Names the keys in use right now, so that a token verified with them may be
   * remembered (jwt.ts) for as long as they stay the same; undefined when the keys must
   * be looked at again before any token is accepted (a fetched set due for refetching,
   * none fetched yet, a closed source).
   */
  keysVersion(): number | undefined;
  close(): void;
}

/** identity.jwt.jwksFile: the keys of one file; a changed file makes a new generation, and a new source. */
export function localKeySource(keySet: JSONWebKeySet): KeySource {
  const local = createLocalJWKSet(keySet);
  let closed = false;
  return {
    key: local,
    freshness: () => 'in identity.jwt.jwksFile',
    keysVersion: () => (closed ? undefined : 0),
    close: () => {
      closed = true;
    },
  };
}

export interface RemoteKeySetOptions {
  /** Give up on a fetch after this long (default 5 s). */
  fetchTimeoutMs?: number;
  /** At most one fetch per this interval, whatever its outcome (default 30 s). */
  minRefreshIntervalMs?: number;
  /** Refetch a set older than this on its next use (default 10 min). */
  maxAgeMs?: number;
  /** Refuse a response body larger than this (default 1 MiB). */
  maxBytes?: number;
  now?: () => number;
}

export class RemoteKeySet implements KeySource {
  readonly key: JWTVerifyGetKey;
  private readonly fetchTimeoutMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly maxAgeMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly closing = new AbortController();
  private local: JWTVerifyGetKey | undefined;
  private fetchedAt: number | undefined;
  private attemptedAt: number | undefined;
  private inFlight: Promise<void> | undefined;
  private lastFailure = '';
  /** Successful fetches: each may have brought other keys. */
  private keySets = 0;
  /** Fetches started, for tests and the log. */
  fetches = 0;

  private readonly url: URL;
  private readonly logger: Logger;

  constructor(url: URL, logger: Logger, options: RemoteKeySetOptions = {}) {
    this.url = url;
    this.logger = logger;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5000;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.key = (header, token) => this.find(header, token);
  }

  freshness(): string {
    if (this.fetchedAt === undefined) return `at ${this.url.href}`;
    const age = Math.round((this.now() - this.fetchedAt) / 1000);
    return `at ${this.url.href} (fetched ${age} s ago; an unknown kid makes it fetch again at most every ${this.minRefreshIntervalMs / 1000} s)`;
  }

  keysVersion(): number | undefined {
    // A set due for refetching is fetched (by find()) before anything is accepted again.
    if (!this.local || this.isStale()) return undefined;
    return this.keySets;
  }

  close(): void {
    this.closing.abort();
    this.local = undefined;
    this.lastFailure = 'this verifier was closed; a newer one took its place';
  }

  private isStale(): boolean {
    return this.fetchedAt === undefined || this.now() - this.fetchedAt >= this.maxAgeMs;
  }

  private async find(...args: Parameters<JWTVerifyGetKey>): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
    if (!this.local || this.isStale()) await this.refresh();
    if (!this.local) throw new KeySetUnavailableError(`the JWKS at ${this.url.href} could not be fetched (${this.lastFailure})`);
    try {
      return await this.local(...args);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !this.mayFetch()) throw error;
      // The issuer may have rotated its keys since the last fetch.
      await this.refresh();
      return this.local(...args);
    }
  }

  private mayFetch(): boolean {
    return this.attemptedAt === undefined || this.now() - this.attemptedAt >= this.minRefreshIntervalMs;
  }

  /** Fetch now unless a fetch is running (then join it) or the rate limit says wait. */
  private refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (!this.mayFetch() || this.closing.signal.aborted) return Promise.resolve();
    this.attemptedAt = this.now();
    this.fetches++;
    this.inFlight = this.fetchOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async fetchOnce(): Promise<void> {
    const url = this.url.href;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.fetchTimeoutMs), this.closing.signal]);
      const response = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/jwk-set+json, application/json' } });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`HTTP status ${response.status}`);
      }
      const text = await readBody(response, this.maxBytes);
      const keySet = parseKeySet(text, `the JWKS at ${url}`);
      if (this.closing.signal.aborted) return;
      this.local = createLocalJWKSet(keySet);
      this.keySets++;
      this.fetchedAt = this.now();
      this.logger.info({ jwksUrl: url, keys: keySet.keys.length }, `fetched the JWKS at ${url}: ${keySet.keys.length} key(s)`);
    } catch (error) {
      const err = error as Error;
      this.lastFailure =
        err.name === 'TimeoutError' ? `no answer within ${this.fetchTimeoutMs / 1000} s` : err instanceof IdentityMaterialError ? err.message : `${err.message}${causeOf(err)}`;
      this.logger.warn(
        { jwksUrl: url, keepingPrevious: this.local !== undefined },
        `cannot fetch the JWKS at ${url}: ${this.lastFailure}${this.local ? '; the keys fetched before stay in use' : ''}`,
      );
    }
  }
}

function causeOf(error: Error): string {
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ? ` (${cause.code})` : cause?.message ? ` (${cause.message})` : '';
}

async function readBody(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`the response is ${declared} bytes; at most ${maxBytes} are read`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new Error(`the response is over ${maxBytes} bytes; at most ${maxBytes} are read`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
