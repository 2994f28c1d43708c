// User identity type 2 against a directory: an LDAP simple bind (RFC 4513 section 5.1.3)
// as the user's own DN, built from identity.ldap.userDN with the username escaped
// (ldap-dn.ts). One connection per verification, closed right after.
//
// An empty passcode is refused before anything is sent: a simple bind with a DN and an
// empty password is an "unauthenticated bind" (RFC 4513 5.1.2), which some servers
// answer with success without checking anything.
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError } from 'ldapts';
import type { IdentityConfig } from '../config/schema.ts';
import { firstRdnValue, userDn } from './ldap-dn.ts';

export type LdapConfig = NonNullable<IdentityConfig['ldap']>;

export type LdapResult =
  | { status: 'verified'; groups: string[] }
  /** The directory answered: no. */
  | { status: 'refused'; why: string }
  /** The directory did not answer, or not over a connection we trust. */
  | { status: 'unreachable'; why: string };

const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/;

/** Why a connection failed, in words, from a Node.js or ldapts error. */
function connectionProblem(error: Error, timeoutSeconds: number): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code && TLS_FAILURE.test(code)) return `its TLS certificate was not accepted (${code}: ${error.message})`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name does not resolve (${code})`;
  if (error.message === 'Connection timeout') return `no connection within ${timeoutSeconds} s`;
  if (/Operation timed out/.test(error.message) || error.name === 'DeadlineError') return `no answer within ${timeoutSeconds} s`;
  return (code ? `${code}: ` : '') + error.message.replace(/\s+/g, ' ');
}

class DeadlineError extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'DeadlineError';
  }
}

export class LdapVerifier {
  private readonly config: LdapConfig;
  private readonly tls: ConnectionOptions;
  private readonly timeoutMs: number;

  constructor(config: LdapConfig, caPem: string | undefined) {
    this.config = config;
    this.timeoutMs = config.timeoutSeconds * 1000;
    const url = new URL(config.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.tls = {
      minVersion: 'TLSv1.2',
      // With caFile only that CA is trusted; without it, the system's.
      ...(caPem ? { ca: caPem } : {}),
      // For StartTLS the socket already exists; the name to check the certificate against is still the URL's host.
      host,
      ...(isIP(host) ? {} : { servername: host }),
    };
  }

  /** Binds as the user; `passcode` must not be empty (the caller checks). */
  async check(username: string, passcode: string, signal?: AbortSignal): Promise<LdapResult> {
    if (passcode === '') return { status: 'refused', why: 'empty passcode (an LDAP bind with it would be anonymous)' };
    const dn = userDn(this.config.userDN, username);
    const ldaps = this.config.url.startsWith('ldaps://');
    // ldapts speaks TLS from the start whenever tlsOptions are given, so ldap:// gets none here.
    const client = new Client({
      url: this.config.url,
      connectTimeout: this.timeoutMs,
      timeout: this.timeoutMs,
      ...(ldaps ? { tlsOptions: this.tls } : {}),
    });
    const close = () => void client.unbind().catch(() => undefined);
    signal?.addEventListener('abort', close, { once: true });
    try {
      if (this.config.startTLS) await this.within(client.startTLS({ ...this.tls }), 'StartTLS');
      try {
        await client.bind(dn, passcode);
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return { status: 'refused', why: `the directory refused the bind as ${dn} (invalid credentials)` };
        if (error instanceof ResultCodeError) return { status: 'refused', why: `the directory refused the bind as ${dn}: ${error.name} (LDAP result code ${error.code})` };
        throw error;
      }
      const groups = this.config.groupsAttribute ? await this.groupsOf(client, dn, this.config.groupsAttribute) : [];
      return { status: 'verified', groups };
    } catch (error) {
      if (signal?.aborted) return { status: 'unreachable', why: 'verification abandoned: the connection went away' };
      if (error instanceof ResultCodeError) return { status: 'refused', why: `the directory answered ${error.name} (LDAP result code ${error.code})` };
      return { status: 'unreachable', why: `the directory ${this.config.url} is unreachable: ${connectionProblem(error as Error, this.config.timeoutSeconds)}` };
    } finally {
      signal?.removeEventListener('abort', close);
      close();
    }
  }

  /**
   * The values of `attribute` in the user's own entry, read as the user just bound. A DN
   * value (as memberOf has) counts both as itself and as its first RDN's value, so a peer
   * may list "radiology" or "cn=radiology,ou=groups,dc=example,dc=org".
   */
  private async groupsOf(client: Client, dn: string, attribute: string): Promise<string[]> {
    const { searchEntries } = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [attribute] });
    const entry = searchEntries[0];
    if (!entry) return [];
    const key = Object.keys(entry).find((name) => name.toLowerCase() === attribute.toLowerCase());
    const raw = key === undefined ? [] : entry[key];
    const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => (v === undefined ? [] : [typeof v === 'string' ? v : v.toString('utf8')]));
    const groups = new Set<string>();
    for (const value of values) {
      groups.add(value);
      const first = firstRdnValue(value);
      if (first !== undefined) groups.add(first);
    }
    return [...groups];
  }

  /** ldapts bounds connect and each operation, but not the StartTLS handshake. */
  private within<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineError(`${what} took longer than ${this.config.timeoutSeconds} s`)), this.timeoutMs);
    });
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
  }
}
