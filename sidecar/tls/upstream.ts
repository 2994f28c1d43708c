// Edge mode: TLS from the sidecar to a remote upstream (PS3.15 Annex B.4 on the
// requestor's side). The same BCP 195 profile as the listening side; the remote's
// certificate must chain to upstream.tls.caFile (else Node's bundled Mozilla CAs) and
// name upstream.tls.serverName (else upstream.host); a client certificate when the
// remote asks for one. Built per generation, so a rotated client certificate is used by
// the associations that start after the reload.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, createSecureContext, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { UpstreamConfig } from '../config/schema.ts';
import { BCP195_CIPHERS, TlsMaterialError } from './context.ts';

export interface UpstreamTlsMaterial {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

export interface UpstreamTlsSettings {
  readonly context: SecureContext;
  /** The name the remote's certificate must carry (a DNS name or an IP address). */
  readonly serverName: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
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

/** A TlsMaterialError names the field at fault. */
export function buildUpstreamTls(config: NonNullable<UpstreamConfig['tls']>, host: string, material: UpstreamTlsMaterial): UpstreamTlsSettings {
  return buildClientTls('upstream.tls', config, host, material);
}

/**
 * The client side of a TLS connection the sidecar opens (to the upstream, to the audit
 * repository); `field` prefixes the config fields in errors.
 */
export function buildClientTls(field: string, config: { serverName?: string | undefined; minVersion: 'TLSv1.2' | 'TLSv1.3' }, host: string, material: UpstreamTlsMaterial): UpstreamTlsSettings {
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
    minVersion: config.minVersion,
    ...(certificate ? { clientCertificate: { subject: certificate.subject.replace(/\n/g, ', '), validTo: certificate.validTo, fingerprint256: certificate.fingerprint256 } } : {}),
  };
}

export type UpstreamHandshake = { ok: true; socket: TLSSocket; version: string; serverCertificateSubject: string } | { ok: false; why: string };

/** TLS over a connected TCP socket to the upstream; the certificate is checked before anything is sent. */
export function upstreamHandshake(socket: Socket, settings: UpstreamTlsSettings, timeoutMs: number): Promise<UpstreamHandshake> {
  return new Promise((resolve) => {
    const tls = tlsConnect({
      socket,
      secureContext: settings.context,
      minVersion: settings.minVersion,
      // SNI carries DNS names only (RFC 6066 3); an IP address is checked against the IP SANs.
      ...(isIP(settings.serverName) ? {} : { servername: settings.serverName }),
      checkServerIdentity: (_host: string, certificate: PeerCertificate) => checkServerIdentity(settings.serverName, certificate),
      rejectUnauthorized: true,
    });
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
