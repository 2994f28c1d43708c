// Verifying the user identity sub-item of an A-ASSOCIATE-RQ (0x58, PS3.7 D.3.3.7),
// behind one interface. The proxy builds a verifier from the config and the contents of
// the files it names, asks it once per association that carries an identity, and swaps
// in a new one (closing the old) when the config or the files change.
//
// By identity type (PS3.7 Table D.3-14):
//   1 username            verified as that name, no groups, only with identity.acceptUsernameOnly
//   2 username+passcode   identity.htpasswd for the names listed there; identity.ldap for
//                         all others (with both configured, the file is the final word for
//                         its users: a wrong passcode there is not retried against LDAP)
//   3 Kerberos, 4 SAML    not supported: failed, and a warning in the log
//   5 JWT                 identity.jwt
// Anything unexpected fails closed: an error inside a verifier is a failed identity.
//
// The positive response (0x59) is zero-length for every type verified here: PS3.7
// Table D.3-15 defines a server response only for Kerberos (3) and SAML (4), which is
// why IdentityOutcome carries none.
//
// Secrets (passcodes, tokens, hashes) are never logged and never put in a `why`.
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { IdentityConfig } from '../config/schema.ts';
import type { IdentityOutcome } from '../decision/decide.ts';
import { UserIdentityType, type UserIdentityRequest } from '../wire/pdu.ts';
import { HtpasswdVerifier, parseHtpasswd } from './htpasswd.ts';
import { localKeySource, parseKeySet, RemoteKeySet, type KeySource, type RemoteKeySetOptions } from './jwks.ts';
import { JwtVerifier } from './jwt.ts';
import { LdapVerifier } from './ldap.ts';
import { IdentityMaterialError, type IdentityMaterial } from './material.ts';
import { PasscodePool, PasscodePoolError, type PasscodePoolOptions } from './passcode-pool.ts';

export { IdentityMaterialError, type IdentityMaterial } from './material.ts';

export interface VerificationContext {
  /** For the log lines about this verification. */
  connectionId: string;
  /** Aborted when the caller's connection goes away: the verification is abandoned. */
  signal?: AbortSignal;
}

export interface IdentityVerifier {
  verify(identity: UserIdentityRequest, context: VerificationContext): Promise<IdentityOutcome>;
  /** Stops worker threads and drops cached keys; verifications in progress fail. */
  close(): void;
}

/** Knobs for tests; the proxy uses the defaults. */
export interface IdentityVerifierOptions {
  passcodePool?: PasscodePoolOptions;
  remoteKeySet?: RemoteKeySetOptions;
}

/** Usernames longer than this are refused (they would only ever be a mistake or an attack on the log). */
export const MAX_USERNAME_LENGTH = 256;

const TYPE_NAMES: Record<number, string> = { 1: 'username', 2: 'username and passcode', 3: 'Kerberos', 4: 'SAML', 5: 'JWT' };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Each PEM certificate of identity.ldap.caFile must parse; throws naming the file. */
function checkCertificates(pem: string, file: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new IdentityMaterialError(`identity.ldap.caFile ${file}: no PEM certificate ("-----BEGIN CERTIFICATE-----") in it`);
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      const line = pem.slice(0, pem.indexOf(block)).split('\n').length;
      throw new IdentityMaterialError(`identity.ldap.caFile ${file} line ${line}: certificate ${index + 1} does not parse (${(error as Error).message})`);
    }
  });
}

/**
 * Builds the verifier for `config`. Throws IdentityMaterialError (naming the file or
 * field and the line) when the material cannot be used: an htpasswd line with a hash
 * that is not accepted, a JWKS that is not a key set, a CA file without a certificate.
 */
export function createIdentityVerifier(config: IdentityConfig, material: IdentityMaterial, logger: Logger, options: IdentityVerifierOptions = {}): IdentityVerifier {
  return new ConfiguredVerifier(config, material, logger, options);
}

type Failure = Extract<IdentityOutcome, { status: 'failed' }>;

class ConfiguredVerifier implements IdentityVerifier {
  private readonly config: IdentityConfig;
  private readonly logger: Logger;
  private readonly pool: PasscodePool | undefined;
  private readonly htpasswd: HtpasswdVerifier | undefined;
  private readonly ldap: LdapVerifier | undefined;
  private readonly jwt: JwtVerifier | undefined;

  constructor(config: IdentityConfig, material: IdentityMaterial, logger: Logger, options: IdentityVerifierOptions) {
    this.config = config;
    this.logger = logger;

    if (config.htpasswd) {
      const file = config.htpasswd.file;
      if (material.htpasswd === undefined) throw new IdentityMaterialError(`identity.htpasswd.file ${file}: its contents were not provided`);
      const parsed = parseHtpasswd(material.htpasswd, file);
      if (parsed.entries.size === 0) logger.warn({ file }, `identity.htpasswd.file ${file} lists no users`);
      this.pool = new PasscodePool(options.passcodePool);
      this.htpasswd = new HtpasswdVerifier(parsed, this.pool);
    }

    if (config.ldap) {
      const { caFile, url, startTLS } = config.ldap;
      if (caFile) {
        if (material.ldapCA === undefined) throw new IdentityMaterialError(`identity.ldap.caFile ${caFile}: its contents were not provided`);
        checkCertificates(material.ldapCA, caFile);
      }
      if (url.startsWith('ldap://') && !startTLS) {
        logger.warn({ url }, `identity.ldap.url ${url} is plain ldap:// without startTLS: passcodes cross the network unencrypted`);
      }
      this.ldap = new LdapVerifier(config.ldap, caFile ? material.ldapCA : undefined);
    }

    if (config.jwt) {
      let keys: KeySource;
      if (config.jwt.jwksFile) {
        if (material.jwks === undefined) throw new IdentityMaterialError(`identity.jwt.jwksFile ${config.jwt.jwksFile}: its contents were not provided`);
        keys = localKeySource(parseKeySet(material.jwks, `identity.jwt.jwksFile ${config.jwt.jwksFile}`));
      } else {
        const url = new URL(config.jwt.jwksUrl!);
        if (url.protocol === 'http:') logger.warn({ jwksUrl: url.href }, `identity.jwt.jwksUrl ${url.href} is plain http://: whoever can alter the traffic can make the proxy trust their own keys`);
        keys = new RemoteKeySet(url, logger, options.remoteKeySet);
      }
      this.jwt = new JwtVerifier(config.jwt, keys);
    }
  }

  close(): void {
    this.pool?.close();
    this.jwt?.close();
  }

  async verify(identity: UserIdentityRequest, context: VerificationContext): Promise<IdentityOutcome> {
    const type = identity.identityType;
    const log = this.logger.child({ connectionId: context.connectionId, identityType: type });
    let outcome: IdentityOutcome;
    try {
      outcome = await this.verifyByType(identity, context, log);
    } catch (error) {
      // Fail closed. The message is scrubbed of the secrets in case a library quoted one.
      const err = error instanceof Error ? error : new Error(String(error));
      log.error({ error: { name: err.name, message: scrub(err.message, identity) } }, 'user identity verification failed unexpectedly; the identity is refused');
      outcome = { status: 'failed', identityType: type, why: `the ${TYPE_NAMES[type] ?? `type ${type}`} identity could not be verified (internal error: ${err.name}; see the log)` };
    }
    if (context.signal?.aborted && outcome.status === 'verified') {
      outcome = { status: 'failed', identityType: type, why: 'verification abandoned: the connection went away' };
    }
    if (outcome.status === 'verified') log.debug({ username: outcome.username, groups: outcome.groups }, 'user identity verified');
    else if (outcome.status === 'failed') log.debug({ why: outcome.why, transient: outcome.transient ?? false }, 'user identity refused');
    return outcome;
  }

  private async verifyByType(identity: UserIdentityRequest, context: VerificationContext, log: Logger): Promise<IdentityOutcome> {
    const type = identity.identityType;
    const fail = (why: string, transient?: boolean): Failure => (transient ? { status: 'failed', identityType: type, why, transient } : { status: 'failed', identityType: type, why });
    switch (type) {
      case UserIdentityType.Username: {
        if (!this.config.acceptUsernameOnly) return fail('username-only identities are not accepted (identity.acceptUsernameOnly is false)');
        const name = username(identity.primaryField);
        if (typeof name !== 'string') return fail(name.problem);
        return { status: 'verified', identityType: type, username: name, groups: [] };
      }
      case UserIdentityType.UsernameAndPasscode:
        return this.verifyPasscode(identity, context, log, fail);
      case UserIdentityType.Kerberos:
      case UserIdentityType.Saml: {
        const why = `${TYPE_NAMES[type]} identities (user identity type ${type}) are not supported; use a username and passcode (type 2) or a JWT (type 5)`;
        log.warn(`a caller sent a ${TYPE_NAMES[type]} identity (user identity type ${type}), which is not supported; refused`);
        return fail(why);
      }
      case UserIdentityType.Jwt: {
        if (!this.jwt) return fail('JWT identities (user identity type 5) are not accepted: identity.jwt is not configured');
        const token = decodeUtf8(identity.primaryField);
        if (token === undefined) return fail('the JWT is not valid UTF-8');
        const result = await this.jwt.verify(token);
        if (result.status === 'failed') {
          if (result.transient) log.warn({ why: result.why }, 'cannot verify JWT identities right now');
          return fail(result.why, result.transient);
        }
        return { status: 'verified', identityType: type, username: result.username, groups: result.groups };
      }
      default:
        return fail(`user identity type ${type} is not defined (PS3.7 Table D.3-14 defines types 1 to 5)`);
    }
  }

  private async verifyPasscode(identity: UserIdentityRequest, context: VerificationContext, log: Logger, fail: (why: string, transient?: boolean) => Failure): Promise<IdentityOutcome> {
    const type = identity.identityType;
    if (!this.htpasswd && !this.ldap) return fail('username and passcode identities cannot be verified: neither identity.htpasswd nor identity.ldap is configured');
    const name = username(identity.primaryField);
    if (typeof name !== 'string') return fail(name.problem);
    const who = `user ${JSON.stringify(name)}`;
    const passcode = identity.secondaryField;
    // Before any check: an empty password turns an LDAP bind into an anonymous one.
    if (passcode.length === 0) return fail(`${who} sent an empty passcode`);

    if (this.htpasswd && (this.htpasswd.has(name) || !this.ldap)) {
      let result;
      try {
        result = await this.htpasswd.check(name, passcode, context.signal);
      } catch (error) {
        if (!(error instanceof PasscodePoolError) || !error.transient) throw error;
        log.warn({ why: error.message }, `cannot verify ${who} right now`);
        return fail(`${who} could not be verified: ${error.message}`, true);
      }
      if (result === 'verified') return { status: 'verified', identityType: type, username: name, groups: [] };
      return fail(result === 'unknown-user' ? `${who} is not in identity.htpasswd.file` : `wrong passcode for ${who} (identity.htpasswd.file)`);
    }

    const text = decodeUtf8(passcode);
    if (text === undefined) return fail(`the passcode of ${who} is not valid UTF-8, which an LDAP bind needs`);
    const result = await this.ldap!.check(name, text, context.signal);
    if (result.status === 'verified') return { status: 'verified', identityType: type, username: name, groups: result.groups };
    if (result.status === 'unreachable') {
      log.warn({ why: result.why }, `cannot verify ${who}: the directory is unreachable`);
      return fail(`${who} could not be verified: ${result.why}`, true);
    }
    return fail(`${who} was refused: ${result.why}`);
  }
}

/** The username of a type 1 or 2 identity, or why it is not acceptable. */
function username(field: Uint8Array): string | { problem: string } {
  const name = decodeUtf8(field);
  if (name === undefined) return { problem: 'the username is not valid UTF-8' };
  if (name === '') return { problem: 'the username is empty' };
  if ([...name].length > MAX_USERNAME_LENGTH) return { problem: `the username is longer than ${MAX_USERNAME_LENGTH} characters` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return { problem: `the username ${JSON.stringify(name)} contains control characters` };
  return name;
}

/** `message` with the identity's secrets (the passcode; a token or ticket) replaced, should a library have quoted one. */
function scrub(message: string, identity: UserIdentityRequest): string {
  const secrets = identity.identityType >= UserIdentityType.Kerberos ? [identity.secondaryField, identity.primaryField] : [identity.secondaryField];
  let out = message;
  for (const secret of secrets) {
    const text = Buffer.from(secret).toString('utf8');
    if (text !== '') out = out.split(text).join('[redacted]');
  }
  return out;
}
