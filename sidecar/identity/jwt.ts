// User identity type 5: a JSON Web Token in the primary field (PS3.7 D.3.3.7.1). The
// token is checked with jose: a signature by a key of the configured JWKS, with an
// algorithm of identity.jwt.algorithms (public-key algorithms only: "none" and HS* are
// refused before any key is looked at, which also closes the old trick of an HS256 token
// "signed" with the RSA public key as the shared secret), then iss, aud, exp and nbf.
//
// Every failure gets a reason an operator can act on. The reasons quote claims (which
// anyone holding the token can read) but never the token, which is a bearer credential.
//
// A client presents the same token on every association until it expires, and checking
// its signature (WebCrypto, through jose) costs more CPU than the rest of a short
// association put together. So a token that verified is remembered, by its SHA-256 (the
// token itself is not kept), with what it proved, its exp and nbf, and the version of the
// keys it was checked with (jwks.ts keysVersion). The same token is accepted again without
// a signature check only while those keys are still the ones in use (a fetched set due
// for refetching is fetched first) and while jose would still accept its exp and nbf, by
// a second's margin; otherwise it goes through the whole check again. Failures are never
// remembered. Envoy's jwt_authn (jwt_cache_config) does the same.
import { createHash } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { IdentityConfig } from '../config/schema.ts';
import { KeySetUnavailableError, type KeySource } from './jwks.ts';

export type JwtConfig = NonNullable<IdentityConfig['jwt']>;

export type JwtResult = { status: 'verified'; username: string; groups: string[] } | { status: 'failed'; why: string; transient?: boolean };

/** A claim value for a message: JSON, cut short (claims are the caller's text). */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function time(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : quote(seconds);
}

const failed = (why: string, transient?: boolean): JwtResult => (transient ? { status: 'failed', why, transient } : { status: 'failed', why });

type Verified = Extract<JwtResult, { status: 'verified' }>;

/** A token that verified: what it proved, until when, with which keys. */
interface Remembered {
  result: Verified;
  exp: number;
  nbf: number | undefined;
  keysVersion: number;
}

/** Distinct verified tokens remembered at once; past that the oldest is forgotten. */
export const REMEMBERED_TOKENS = 1024;

export interface JwtVerifierOptions {
  /** The time in seconds since the epoch, for jose's claim checks too; the system clock by default. */
  now?: () => number;
}

export class JwtVerifier {
  private readonly config: JwtConfig;
  private readonly keys: KeySource;
  private readonly options: JWTVerifyOptions;
  private readonly clock: (() => number) | undefined;
  /** By the token's SHA-256 (base64), oldest first. */
  private readonly remembered = new Map<string, Remembered>();

  constructor(config: JwtConfig, keys: KeySource, options: JwtVerifierOptions = {}) {
    this.config = config;
    this.keys = keys;
    this.clock = options.now;
    this.options = {
      issuer: config.issuer,
      audience: config.audiences,
      algorithms: config.algorithms,
      clockTolerance: config.clockSkewSeconds,
      // A token without an expiry would be good forever.
      requiredClaims: ['exp'],
    };
  }

  close(): void {
    this.remembered.clear();
    this.keys.close();
  }

  /** `token` is the primary field as text; surrounding whitespace and NUL padding are dropped. */
  async verify(token: string): Promise<JwtResult> {
    token = token.replace(/^[\s\0]+|[\s\0]+$/g, '');
    if (token === '') return failed('the JWT is empty');
    const digest = createHash('sha256').update(token).digest('base64');
    const recalled = this.recall(digest);
    if (recalled) return recalled;
    const parts = token.split('.').length;
    if (parts === 5) return failed('the JWT is encrypted (JWE); only signed tokens (JWS) are accepted');
    if (parts !== 3) return failed('the primary field is not a JWT in compact form (three dot-separated parts)');

    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return failed('the JWT header is not base64url-encoded JSON');
    }
    const { alg, kid } = header;
    const keyName = kid === undefined ? 'no kid' : `kid ${quote(kid)}`;
    if (typeof alg !== 'string' || alg === '') return failed('the JWT header has no alg');
    if (alg.toLowerCase() === 'none') return failed('the JWT is unsigned (alg "none"), which is never accepted');
    if (/^HS/i.test(alg)) return failed(`the JWT uses ${quote(alg)}, a shared-secret algorithm; only public-key algorithms are accepted`);
    if (!(this.config.algorithms as readonly string[]).includes(alg)) {
      return failed(`the JWT uses alg ${quote(alg)}, which is not in identity.jwt.algorithms (${this.config.algorithms.join(', ')})`);
    }

    const keysVersion = this.keys.keysVersion();
    let payload: JWTPayload;
    try {
      payload = await this.verifyWithKeys(token);
    } catch (error) {
      return this.explain(error, alg, keyName);
    }
    const result = this.identityOf(payload);
    if (result.status === 'verified') this.remember(digest, result, payload, keysVersion);
    return result;
  }

  private now(): number {
    return this.clock ? this.clock() : Math.floor(Date.now() / 1000);
  }

  /** A remembered verification of this token, while its keys and its time are still good. */
  private recall(digest: string): JwtResult | undefined {
    const entry = this.remembered.get(digest);
    if (!entry) return undefined;
    const now = this.now();
    const skew = this.config.clockSkewSeconds;
    // jose accepts exp > now - skew and nbf <= now + skew; a second inside both, or check again.
    const timely = entry.exp - 1 > now - skew && (entry.nbf === undefined || entry.nbf + 1 <= now + skew);
    if (!timely || entry.keysVersion !== this.keys.keysVersion()) {
      this.remembered.delete(digest);
      return undefined;
    }
    return { status: 'verified', username: entry.result.username, groups: [...entry.result.groups] };
  }

  /** Only when the keys were the same before and after the check (a fetch may have replaced them meanwhile). */
  private remember(digest: string, result: Verified, payload: JWTPayload, keysVersion: number | undefined): void {
    if (keysVersion === undefined || keysVersion !== this.keys.keysVersion() || typeof payload.exp !== 'number') return;
    if (this.remembered.size >= REMEMBERED_TOKENS) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(digest, { result: { ...result, groups: [...result.groups] }, exp: payload.exp, nbf: typeof payload.nbf === 'number' ? payload.nbf : undefined, keysVersion });
  }

  private async verifyWithKeys(token: string): Promise<JWTPayload> {
    const options = this.clock ? { ...this.options, currentDate: new Date(this.clock() * 1000) } : this.options;
    try {
      return (await jwtVerify(token, this.keys.key, options)).payload;
    } catch (error) {
      // Several keys fit (no kid, or a kid used twice): the token must verify with one of them.
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      let last: unknown = new errors.JWKSNoMatchingKey();
      for await (const key of error) {
        try {
          return (await jwtVerify(token, key, options)).payload;
        } catch (attempt) {
          last = attempt;
          if (!(attempt instanceof errors.JWSSignatureVerificationFailed)) break;
        }
      }
      throw last;
    }
  }

  private explain(error: unknown, alg: string, keyName: string): JwtResult {
    const skew = `clock skew allowed: ${this.config.clockSkewSeconds} s`;
    if (error instanceof errors.JWTExpired) return failed(`the JWT expired at ${time(error.payload.exp)} (${skew})`);
    if (error instanceof errors.JWTClaimValidationFailed) {
      const { claim, reason, payload } = error;
      if (reason === 'missing') return failed(`the JWT has no ${quote(claim)} claim`);
      switch (claim) {
        case 'iss':
          return failed(`the JWT was issued by ${quote(payload.iss)}, not by identity.jwt.issuer ${quote(this.config.issuer)}`);
        case 'aud':
          return failed(`the JWT's audience ${quote(payload.aud)} includes none of identity.jwt.audiences (${this.config.audiences.join(', ')})`);
        case 'nbf':
          return failed(`the JWT is not valid before ${time(payload.nbf)} (${skew})`);
        default:
          return failed(`the JWT's ${quote(claim)} claim is invalid (${error.message})`);
      }
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) return failed(`bad signature: the JWT (${alg}, ${keyName}) does not verify with the JWKS key of that ${keyName === 'no kid' ? 'algorithm' : 'kid'}`);
    if (error instanceof errors.JWKSNoMatchingKey) return failed(`no key for the JWT (${alg}, ${keyName}) in the JWKS ${this.keys.freshness()}`);
    if (error instanceof errors.JOSEAlgNotAllowed) return failed(`the JWT uses alg ${quote(alg)}, which is not allowed`);
    if (error instanceof KeySetUnavailableError) return failed(error.message, true);
    // jose's own messages for malformed input are fixed sentences that never quote the token.
    if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid || error instanceof errors.JOSENotSupported) {
      return failed(`the JWT is malformed: ${error.message}`);
    }
    throw error;
  }

  private identityOf(payload: JWTPayload): JwtResult {
    const { usernameClaim, groupsClaim } = this.config;
    const username = payload[usernameClaim];
    if (username === undefined) return failed(`the JWT has no ${quote(usernameClaim)} claim (identity.jwt.usernameClaim) to take the username from`);
    if (typeof username !== 'string' || username === '') return failed(`the JWT's ${quote(usernameClaim)} claim (identity.jwt.usernameClaim) is ${quote(username)}, not a non-empty string`);
    const groups = payload[groupsClaim];
    if (groups === undefined) return { status: 'verified', username, groups: [] };
    if (typeof groups === 'string') return { status: 'verified', username, groups: [groups] };
    if (Array.isArray(groups) && groups.every((g): g is string => typeof g === 'string')) return { status: 'verified', username, groups: [...groups] };
    // Groups grant access: a claim of an unexpected shape is refused rather than guessed at.
    return failed(`the JWT's ${quote(groupsClaim)} claim (identity.jwt.groupsClaim) is neither a string nor a list of strings`);
  }
}
