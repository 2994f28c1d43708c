// A generation is everything one config file and the files it names turn into: the
// compiled policy, the TLS context, the identity verifier. It is built whole or not at
// all; the sidecar swaps generations on reload and every association keeps the one it
// started with (api.md: "open associations finish on the config they started with").
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ConfigError } from '../config/error.ts';
import { parseSidecarConfigInThread } from '../config/parse-thread.ts';
import { materialFiles, readMaterial } from '../config/material.ts';
import { compilePolicy, type Policy } from '../decision/policy.ts';
import { buildTlsSettings, TlsMaterialError, type TlsSettings } from '../tls/context.ts';
import { IdentityMaterialError } from '../identity/material.ts';
import { upstreamIdentityRequest } from '../identity/upstream-identity.ts';
import { buildClientTls, type ClientTlsSettings } from '../tls/client.ts';
import { defaultAuditSource, type AuditTrailSettings } from '../audit/trail.ts';
import type { UserIdentityRequest } from '../wire/pdu.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';

export interface Generation {
  readonly policy: Policy;
  readonly tls: TlsSettings | undefined;
  readonly verifier: IdentityVerifier | undefined;
  /** Edge mode: TLS to the upstream, and the identity put into every forwarded A-ASSOCIATE-RQ. */
  readonly upstream: { readonly tls?: ClientTlsSettings; readonly identity?: UserIdentityRequest };
  /** audit.syslog: where DICOM audit messages go. */
  readonly auditSyslog: AuditTrailSettings | undefined;
  /** The config file and every file it names: what to watch. */
  readonly files: readonly string[];
  /** Same fingerprint, same generation: a touched but unchanged file is not a reload. */
  readonly fingerprint: string;
}

/** The config file's text; a ConfigError when it cannot be read. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
}

/** Build a generation from the config file; a ConfigError names every field at fault. */
export async function loadGeneration(configPath: string, logger: Logger): Promise<Generation> {
  const text = await readConfigText(configPath);
  const config = await parseSidecarConfigInThread(text, configPath);
  const material = await readMaterial(config, configPath);
  const file = (field: string) => material.byField.get(field);

  // The files' contents turned into TLS contexts and identities: what is wrong in them is a ConfigError naming the field.
  const fromMaterial = <T>(build: () => T): T => {
    try {
      return build();
    } catch (error) {
      if (error instanceof TlsMaterialError || error instanceof IdentityMaterialError) throw new ConfigError(configPath, [error.message]);
      throw error;
    }
  };

  const tls: TlsSettings | undefined =
    config.tls.mode === 'Disabled' ? undefined : fromMaterial(() => buildTlsSettings(config.tls, { cert: file('tls.certFile')!, key: file('tls.keyFile')!, clientCA: file('tls.clientCAFile') }));

  const upstream: { tls?: ClientTlsSettings; identity?: UserIdentityRequest } = {};
  const upstreamTls = config.upstream.tls;
  const upstreamIdentity = config.upstream.identity;
  if (upstreamTls) upstream.tls = fromMaterial(() => buildClientTls('upstream.tls', upstreamTls, config.upstream.host, { ca: file('upstream.tls.caFile'), cert: file('upstream.tls.certFile'), key: file('upstream.tls.keyFile') }));
  if (upstreamIdentity) upstream.identity = fromMaterial(() => upstreamIdentityRequest(upstreamIdentity, { passcode: file('upstream.identity.passcodeFile'), jwt: file('upstream.identity.jwtFile') }));

  let auditSyslog: AuditTrailSettings | undefined;
  const syslog = config.audit.syslog;
  if (syslog) {
    const syslogMaterial = { ca: file('audit.syslog.caFile'), cert: file('audit.syslog.certFile'), key: file('audit.syslog.keyFile') };
    const syslogTls = syslog.transport === 'TLS' ? fromMaterial(() => buildClientTls('audit.syslog', { serverName: syslog.serverName, minVersion: 'TLSv1.2' }, syslog.host, syslogMaterial)) : undefined;
    const source = syslog.auditSourceId ?? defaultAuditSource();
    auditSyslog = {
      key: createHash('sha256').update(JSON.stringify(syslog)).update(JSON.stringify(syslogMaterial)).digest('hex'),
      target: {
        host: syslog.host,
        port: syslog.port ?? (syslog.transport === 'TLS' ? 6514 : 514),
        transport: syslog.transport,
        ...(syslogTls ? { tls: syslogTls } : {}),
        header: { hostname: source, appName: syslog.appName, procId: String(process.pid) },
        queueSize: syslog.queueSize,
      },
      auditSourceId: source,
      ...(syslog.enterpriseSiteId ? { enterpriseSiteId: syslog.enterpriseSiteId } : {}),
    };
  }

  let verifier: IdentityVerifier | undefined;
  if (config.identity.mode !== 'Disabled') {
    // Loaded only when identities are verified: jose and ldapts stay out of the heap of
    // a sidecar that does not need them, and every MiB kept there makes each full GC
    // of the relay's buffers dearer (bench/: C-STORE CPU per GiB).
    const { createIdentityVerifier } = await import('../identity/verifier.ts');
    verifier = fromMaterial(() =>
      createIdentityVerifier(config.identity, { htpasswd: file('identity.htpasswd.file'), jwks: file('identity.jwt.jwksFile'), ldapCA: file('identity.ldap.caFile') }, logger),
    );
  }

  return {
    policy: compilePolicy(config),
    tls,
    verifier,
    upstream,
    auditSyslog,
    files: [configPath, ...materialFiles(config).map((f) => f.path)],
    fingerprint: createHash('sha256').update(text).update(material.fingerprint).digest('hex'),
  };
}
