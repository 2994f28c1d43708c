// TLS for DICOM (PS3.15 Annex B.4, "BCP 195 TLS Secure Transport Connection Profile"):
// the secure context built from the certificate, key and client CA the config points to.
// A new TLS server object is built on every reload (cert-manager rotates the files); connections
// already open keep the context they were made with.
import { Server as TlsServer } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { TlsConfig } from '../config/schema.ts';

/**
 * RFC 9325 (BCP 195) section 4.2: TLS 1.2 only with ECDHE and AEAD ciphers; TLS 1.3's
 * own suites, all AEAD. Listed explicitly so an OpenSSL default change cannot widen them.
 */
export const BCP195_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface TlsMaterial {
  cert: string;
  key: string;
  clientCA?: string | undefined;
}

export interface TlsSettings {
  mode: TlsConfig['mode'];
  clientCertificates: TlsConfig['clientCertificates'];
  /**
   * Never listens: accepted TCP sockets are handed to it after the address check
   * (handshake.ts), so Node's own server-side certificate verification applies.
   */
  server: TlsServer;
  /** For logs: the serving certificate's subject, names and expiry. */
  certificate: { subject: string; names: string[]; validTo: string; fingerprint256: string };
}

export class TlsMaterialError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'TlsMaterialError';
    this.field = field;
  }
}

/** Build the TLS settings of one config generation; a TlsMaterialError names the field at fault. */
export function buildTlsSettings(config: TlsConfig, material: TlsMaterial): TlsSettings {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(material.cert);
  } catch (error) {
    throw new TlsMaterialError('tls.certFile', `not a PEM certificate (${(error as Error).message})`);
  }
  let server: TlsServer;
  try {
    server = new TlsServer({
      cert: material.cert,
      key: material.key,
      ...(material.clientCA && config.clientCertificates !== 'None' ? { ca: material.clientCA } : {}),
      minVersion: config.minVersion,
      ciphers: BCP195_CIPHERS,
      honorCipherOrder: true,
      ecdhCurve: 'X25519:P-256:P-384',
      requestCert: config.clientCertificates !== 'None',
      // Node verifies the client certificate against `ca` once the handshake is done and
      // reports it as authorized/authorizationError; handshake.ts refuses what fails, with
      // the reason in the audit record (rejectUnauthorized would drop the socket unseen).
      rejectUnauthorized: false,
    });
  } catch (error) {
    const message = (error as Error).message;
    if (/key values mismatch|KEY_VALUES_MISMATCH/i.test(message)) throw new TlsMaterialError('tls.keyFile', 'the private key does not belong to the certificate in tls.certFile');
    if (/ca|certificate/i.test(message) && material.clientCA) throw new TlsMaterialError('tls.clientCAFile', `not usable as a CA bundle (${message})`);
    throw new TlsMaterialError('tls.keyFile', `not usable (${message})`);
  }
  if (config.clientCertificates !== 'None' && material.clientCA) {
    try {
      new X509Certificate(material.clientCA);
    } catch (error) {
      throw new TlsMaterialError('tls.clientCAFile', `not a PEM certificate (${(error as Error).message})`);
    }
  }
  return {
    mode: config.mode,
    clientCertificates: config.clientCertificates,
    server,
    certificate: {
      subject: certificate.subject.replace(/\n/g, ', '),
      names: subjectAltDnsNames(certificate.subjectAltName),
      validTo: certificate.validTo,
      fingerprint256: certificate.fingerprint256,
    },
  };
}

/** "DNS:a.example, DNS:b.example, IP Address:10.0.0.1" -> ["a.example", "b.example"]. */
export function subjectAltDnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}

/** The names a client certificate proves (SAN DNS names and the subject CN), lower-cased. */
export function clientCertificateNames(peer: { subjectaltname?: string; subject?: Record<string, string | string[]> }): string[] {
  const names = subjectAltDnsNames(peer.subjectaltname);
  const cn = peer.subject?.CN;
  for (const value of Array.isArray(cn) ? cn : cn ? [cn] : []) names.push(value.toLowerCase());
  return [...new Set(names)];
}
