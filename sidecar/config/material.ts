// The files a SidecarConfig points to (TLS certificate and key, client CA, htpasswd,
// JWKS, LDAP CA, and toward the upstream its CA, a client certificate and key, a passcode
// or a JWT): which they are, and reading them, each error naming its field.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { SidecarConfig } from './schema.ts';
import { ConfigError } from './error.ts';

export interface MaterialFile {
  /** The config field that names the file, e.g. "tls.certFile". */
  field: string;
  path: string;
}

/** Every file the config refers to, in a fixed order. Pure. */
export function materialFiles(config: SidecarConfig): MaterialFile[] {
  const files: MaterialFile[] = [];
  const add = (field: string, path: string | undefined) => {
    if (path) files.push({ field, path });
  };
  if (config.tls.mode !== 'Disabled') {
    add('tls.certFile', config.tls.certFile);
    add('tls.keyFile', config.tls.keyFile);
    if (config.tls.clientCertificates !== 'None') add('tls.clientCAFile', config.tls.clientCAFile);
  }
  const { tls: upstreamTls, identity: upstreamIdentity } = config.upstream;
  add('upstream.tls.caFile', upstreamTls?.caFile);
  add('upstream.tls.certFile', upstreamTls?.certFile);
  add('upstream.tls.keyFile', upstreamTls?.keyFile);
  add('upstream.identity.passcodeFile', upstreamIdentity?.passcodeFile);
  add('upstream.identity.jwtFile', upstreamIdentity?.jwtFile);
  const syslog = config.audit.syslog;
  add('audit.syslog.caFile', syslog?.caFile);
  add('audit.syslog.certFile', syslog?.certFile);
  add('audit.syslog.keyFile', syslog?.keyFile);
  if (config.identity.mode !== 'Disabled') {
    add('identity.htpasswd.file', config.identity.htpasswd?.file);
    add('identity.jwt.jwksFile', config.identity.jwt?.jwksFile);
    add('identity.ldap.caFile', config.identity.ldap?.caFile);
  }
  return files;
}

export interface Material {
  /** Contents by field name. */
  byField: ReadonlyMap<string, string>;
  /** Changes whenever any of the contents change (no-op reloads are skipped). */
  fingerprint: string;
}

/** Read every referenced file; a ConfigError lists each one that cannot be read. */
export async function readMaterial(config: SidecarConfig, source: string): Promise<Material> {
  const files = materialFiles(config);
  const problems: string[] = [];
  const byField = new Map<string, string>();
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      const text = await readFile(file.path, 'utf8');
      byField.set(file.field, text);
      hash.update(`${file.field}\0${text}\0`);
    } catch (error) {
      problems.push(`${file.field}: cannot read ${file.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  if (problems.length) throw new ConfigError(source, problems);
  return { byField, fingerprint: hash.digest('hex') };
}
