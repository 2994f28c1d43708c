// TLS from the sidecar to a server: the upstream in edge mode (PS3.15 Annex B.4 on the
// requestor's side) and the audit repository (RFC 5425). The same BCP 195 profile as the
// listening side; the server's certificate must chain to the configured CA (else Node's
// bundled Mozilla CAs) and name the configured server name (else the host); a client
// certificate when one is configured. Built per generation, so a rotated client
// certificate is used by the connections opened after the reload.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, createSecureContext, type ConnectionOptions, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { BCP195_CIPHERS, TlsMaterialError } from './context.ts';

export interface ClientTlsMaterial {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

export interface ClientTlsSettings {
  /** The CA, client certificate, minimum version and ciphers. */
  readonly context: SecureContext;
  /** The name the server's certificate must carry (a DNS name or an IP address). */
  readonly serverName: string;
  /** For logs: the client certificate's subject and expiry. */
  readonly clientCertificate?: { subject: string; validTo: string; fingerprint256: string };
}

const pemCertificate = (field: string, text: string): X509Certificate => {
  try {
    return new X509Certificate(text);
  } catch (error) {
    throw new TlsMaterialError(field, `not a PEM certificate (${(error as Error).message})`);
  }
};

/**
 * The client side of a TLS connection the sidecar opens; `field` ("upstream.tls",
 * "audit.syslog") prefixes the config fields in errors, a TlsMaterialError naming the one at fault.
 */
export function buildClientTls(field: string, config: { serverName?: string | undefined; minVersion: 'TLSv1.2' | 'TLSv1.3' }, host: string, material: ClientTlsMaterial): ClientTlsSettings {
  if (material.ca) pemCertificate(`${field}.caFile`, material.ca);
  const certificate = material.cert ? pemCertificate(`${field}.certFile`, material.cert) : undefined;
  let context: SecureContext;
  try {
    context = createSecureContext({
      // With `ca`, only these anchors are trusted (not the bundled ones as well).
      ...(material.ca ? { ca: material.ca } : {}),
      ...(material.cert && material.key ? { cert: material.cert, key: material.key } : {}),
      minVersion: config.minVersion,
      ciphers: BCP195_CIPHERS,
      ecdhCurve: 'X25519:P-256:P-384',
    });
  } catch (error) {
    const message = (error as Error).message;
    if (/key values mismatch|KEY_VALUES_MISMATCH/i.test(message)) throw new TlsMaterialError(`${field}.keyFile`, `the private key does not belong to the certificate in ${field}.certFile`);
    if (material.key) throw new TlsMaterialError(`${field}.keyFile`, `not usable (${message})`);
    throw new TlsMaterialError(`${field}.caFile`, `not usable as a CA bundle (${message})`);
  }
  return {
    context,
    serverName: config.serverName ?? host,
    ...(certificate ? { clientCertificate: { subject: certificate.subject.replace(/\n/g, ', '), validTo: certificate.validTo, fingerprint256: certificate.fingerprint256 } } : {}),
  };
}

/** tls.connect options that check the server: the context, SNI, and the name against serverName rather than the address dialled. */
export function clientConnectOptions(settings: Pick<ClientTlsSettings, 'context' | 'serverName'>): ConnectionOptions {
  const { context, serverName } = settings;
  return {
    secureContext: context,
    // SNI carries DNS names only (RFC 6066 3); an IP address is checked against the IP SANs.
    ...(isIP(serverName) ? {} : { servername: serverName }),
    checkServerIdentity: (_host: string, certificate: PeerCertificate) => checkServerIdentity(serverName, certificate),
    rejectUnauthorized: true,
  };
}

export type UpstreamHandshake = { ok: true; socket: TLSSocket; version: string; serverCertificateSubject: string } | { ok: false; why: string };

/** TLS over a connected TCP socket to the upstream; the certificate is checked before anything is sent. */
export function upstreamHandshake(socket: Socket, settings: ClientTlsSettings, timeoutMs: number): Promise<UpstreamHandshake> {
  return new Promise((resolve) => {
    const tls = tlsConnect({ socket, ...clientConnectOptions(settings) });
    const done = (outcome: UpstreamHandshake) => {
      clearTimeout(timer);
      tls.off('error', onError);
      resolve(outcome);
    };
    const onError = (error: Error) => {
      tls.destroy();
      done({ ok: false, why: error.message });
    };
    const timer = setTimeout(() => {
      tls.destroy();
      done({ ok: false, why: `no TLS handshake within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    tls.once('secureConnect', () => {
      const subject = tls.getPeerCertificate().subject;
      const serverCertificateSubject = subject ? Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ') : '';
      done({ ok: true, socket: tls, version: tls.getProtocol() ?? 'unknown', serverCertificateSubject });
    });
    tls.once('error', onError);
  });
}
