// The SidecarConfig contract (shared/design/api.md): the one definition of the file the
// sidecar reads. The operator renders it; people without Kubernetes write it by hand.
// Field names are fixed by the contract; every default is the secure choice; unknown
// fields are errors (a misspelt "ipBlock" must not silently allow every address).
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { aeTitleProblem } from '../dicom/ae-title.ts';
import { isKnownServiceName } from '../dicom/services.ts';

const port = z.number().int().min(1).max(65535);
const positiveSeconds = z.number().positive().max(86400 * 7);
const nonEmptyPath = z.string().min(1, 'a file path is required');

const aeTitle = z.string().superRefine((value, ctx) => {
  const problem = aeTitleProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

function cidrProblem(value: string): string | undefined {
  if (!ipaddr.isValidCIDR(value)) return `"${value}" is not a CIDR block (like 10.20.0.0/24 or 2001:db8::/32)`;
  return undefined;
}

const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Whether every address of `inner` lies in `outer` (both valid CIDRs). */
export function cidrContains(outer: string, inner: string): boolean {
  const [outerAddress, outerBits] = ipaddr.parseCIDR(outer);
  const [innerAddress, innerBits] = ipaddr.parseCIDR(inner);
  return outerAddress.kind() === innerAddress.kind() && innerBits >= outerBits && innerAddress.match(outerAddress, outerBits);
}

const ipBlock = z
  .strictObject({
    cidr,
    except: z.array(cidr).default([]),
  })
  .superRefine((block, ctx) => {
    if (cidrProblem(block.cidr)) return;
    block.except.forEach((inner, index) => {
      if (!cidrProblem(inner) && !cidrContains(block.cidr, inner)) {
        ctx.addIssue({ code: 'custom', path: ['except', index], message: `${inner} is not inside ${block.cidr}` });
      }
    });
  });

const service = z.string().superRefine((value, ctx) => {
  if (!isKnownServiceName(value) && !/^[0-2](\.(0|[1-9][0-9]*))+$/.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is neither a service (verification, storage, query, retrieve, worklist, mpps, storage-commitment) nor a SOP class UID`,
    });
  }
});

const peer = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9._]{0,61}[a-z0-9])?$/i, 'a peer name is 1-63 letters, digits, "-", "_" or "." (it is a metrics label)'),
  aeTitles: z.array(z.union([z.literal('*'), aeTitle])).min(1, 'list at least one calling AE title, or "*" for any'),
  ipBlocks: z.array(ipBlock).min(1, 'leave ipBlocks out to allow any address; an empty list would allow none').optional(),
  users: z.array(z.string().min(1)).min(1).optional(),
  groups: z.array(z.string().min(1)).min(1).optional(),
  clientCertificateNames: z.array(z.string().min(1)).min(1).optional(),
  services: z.array(service).min(1, 'leave services out to allow all; an empty list would allow none').optional(),
  /** C-MOVE destinations (AE titles) this peer may name; absent: any (the PACS's own list of destinations still applies). */
  moveDestinations: z.array(aeTitle).min(1, 'leave moveDestinations out to allow any; an empty list would allow none').optional(),
});

const identityMode = z.enum(['Disabled', 'Optional', 'Required']);

const identity = z
  .strictObject({
    mode: identityMode.default('Disabled'),
    acceptUsernameOnly: z.boolean().default(false),
    htpasswd: z.strictObject({ file: nonEmptyPath }).optional(),
    ldap: z
      .strictObject({
        url: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/, 'an ldap:// or ldaps:// URL with a host (and optional port)'),
        userDN: z.string().includes('{username}', { message: 'the DN template must contain {username}' }),
        caFile: nonEmptyPath.optional(),
        startTLS: z.boolean().default(false),
        timeoutSeconds: positiveSeconds.default(5),
        /** An attribute of the user's own entry (e.g. memberOf) whose values become the groups, read after the bind. */
        groupsAttribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an LDAP attribute name, like memberOf').optional(),
      })
      .superRefine((ldap, ctx) => {
        if (ldap.startTLS && ldap.url.startsWith('ldaps://')) {
          ctx.addIssue({ code: 'custom', path: ['startTLS'], message: 'startTLS is for ldap:// URLs; an ldaps:// connection is TLS from the start' });
        }
      })
      .optional(),
    jwt: z
      .strictObject({
        issuer: z.string().min(1),
        audiences: z.array(z.string().min(1)).min(1),
        jwksFile: nonEmptyPath.optional(),
        jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
        usernameClaim: z.string().min(1).default('sub'),
        groupsClaim: z.string().min(1).default('groups'),
        algorithms: z
          .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
          .min(1)
          .default(['RS256', 'ES256']),
        clockSkewSeconds: z.number().int().min(0).max(300).default(30),
      })
      .superRefine((jwt, ctx) => {
        if (!jwt.jwksFile === !jwt.jwksUrl) {
          ctx.addIssue({ code: 'custom', path: ['jwksFile'], message: 'set exactly one of jwksFile and jwksUrl' });
        }
      })
      .optional(),
    forwardToUpstream: z.boolean().default(false),
  })
  .superRefine((value, ctx) => {
    if (value.mode !== 'Disabled' && !value.htpasswd && !value.ldap && !value.jwt && !value.acceptUsernameOnly) {
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        message: `mode ${value.mode} needs a way to verify identities: htpasswd, ldap, jwt or acceptUsernameOnly`,
      });
    }
  });

const tls = z
  .strictObject({
    mode: z.enum(['Disabled', 'Required', 'Optional']).default('Disabled'),
    certFile: nonEmptyPath.optional(),
    keyFile: nonEmptyPath.optional(),
    clientCAFile: nonEmptyPath.optional(),
    clientCertificates: z.enum(['None', 'Optional', 'Required']).default('None'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  })
  .superRefine((value, ctx) => {
    if (value.mode !== 'Disabled') {
      for (const field of ['certFile', 'keyFile'] as const) {
        if (!value[field]) ctx.addIssue({ code: 'custom', path: [field], message: `required when mode is ${value.mode}` });
      }
    }
    if (value.clientCertificates !== 'None' && !value.clientCAFile) {
      ctx.addIssue({ code: 'custom', path: ['clientCAFile'], message: `required when clientCertificates is ${value.clientCertificates}` });
    }
    if (value.clientCertificates !== 'None' && value.mode === 'Disabled') {
      ctx.addIssue({ code: 'custom', path: ['clientCertificates'], message: 'client certificates need tls.mode Required or Optional' });
    }
  });

/**
 * Edge mode: TLS toward a remote PACS (or the dicom-guard in front of it), for callers
 * that speak only plain DICOM. The remote's certificate is verified against caFile (else
 * Node's bundled Mozilla CAs) and serverName (else upstream.host); certFile and keyFile
 * are the client certificate, reloaded when they change.
 */
const upstreamTls = z
  .strictObject({
    caFile: nonEmptyPath.optional(),
    serverName: z.string().min(1).max(253).optional(),
    certFile: nonEmptyPath.optional(),
    keyFile: nonEmptyPath.optional(),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  })
  .superRefine((value, ctx) => {
    if (Boolean(value.certFile) !== Boolean(value.keyFile)) {
      ctx.addIssue({ code: 'custom', path: [value.certFile ? 'keyFile' : 'certFile'], message: 'a client certificate needs both certFile and keyFile' });
    }
  });

/**
 * Edge mode: the user identity (PS3.7 D.3.3.7) put into every forwarded A-ASSOCIATE-RQ
 * in place of the caller's: a username (type 1), with passcodeFile a username and
 * passcode (type 2), or a JWT read from jwtFile (type 5), each file reloaded on change.
 */
const upstreamIdentity = z
  .strictObject({
    username: z.string().min(1).max(65535).optional(),
    passcodeFile: nonEmptyPath.optional(),
    jwtFile: nonEmptyPath.optional(),
    /** Ask the remote to confirm it verified the identity; without its confirmation the association is refused. */
    positiveResponseRequested: z.boolean().default(false),
  })
  .superRefine((value, ctx) => {
    if (Boolean(value.username) === Boolean(value.jwtFile)) ctx.addIssue({ code: 'custom', path: ['username'], message: 'set exactly one of username and jwtFile' });
    if (value.passcodeFile && !value.username) ctx.addIssue({ code: 'custom', path: ['passcodeFile'], message: 'a passcode goes with a username' });
  });

/**
 * DICOM audit messages (PS3.15 A.5) to an audit repository by syslog, beside the JSON
 * audit records (which stay): RFC 5425 over TLS (octet counting), or RFC 5426 over UDP.
 */
const syslog = z
  .strictObject({
    host: z.string().min(1).max(253),
    /** Default: 6514 for TLS (RFC 5425), 514 for UDP (RFC 5426). */
    port: port.optional(),
    transport: z.enum(['TLS', 'UDP']).default('TLS'),
    /** The repository's CA; absent: Node's bundled CAs. */
    caFile: nonEmptyPath.optional(),
    /** The name the repository's certificate must carry; absent: host. */
    serverName: z.string().min(1).max(253).optional(),
    certFile: nonEmptyPath.optional(),
    keyFile: nonEmptyPath.optional(),
    /** RFC 5424 APP-NAME. */
    appName: z.string().regex(/^[\x21-\x7e]{1,48}$/, '1-48 printable ASCII characters, no spaces').default('dicom-guard'),
    /** AuditEnterpriseSiteID (PS3.15 A.5.2): the site, e.g. the hospital. */
    enterpriseSiteId: z.string().min(1).max(256).optional(),
    /** AuditSourceID: this sidecar; absent: the pod or host name. */
    auditSourceId: z.string().min(1).max(256).optional(),
    /** Messages held while the repository is unreachable; beyond that the oldest are dropped and counted. */
    queueSize: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .superRefine((value, ctx) => {
    if (Boolean(value.certFile) !== Boolean(value.keyFile)) {
      ctx.addIssue({ code: 'custom', path: [value.certFile ? 'keyFile' : 'certFile'], message: 'a client certificate needs both certFile and keyFile' });
    }
    if (value.transport === 'UDP') {
      for (const field of ['caFile', 'serverName', 'certFile', 'keyFile'] as const) {
        if (value[field]) ctx.addIssue({ code: 'custom', path: [field], message: 'TLS settings need transport TLS' });
      }
    }
  });

const limits = z.strictObject({
  maxAssociations: z.number().int().min(1).default(1000),
  maxAssociationsPerPeer: z.number().int().min(1).default(100),
  associationRequestTimeoutSeconds: positiveSeconds.default(30),
  idleTimeoutSeconds: positiveSeconds.default(900),
  maxAssociateRequestBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(262144),
  /** Largest P-DATA-TF (or other) PDU relayed after acceptance; guards memory, not speed. */
  maxPduBytes: z.number().int().min(4096).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** How long open associations may run on after SIGTERM before they are aborted. */
  shutdownGraceSeconds: positiveSeconds.default(30),
  failedAttempts: z
    .strictObject({
      max: z.number().int().min(1).default(10),
      windowSeconds: positiveSeconds.default(60),
      blockSeconds: positiveSeconds.default(300),
    })
    .prefault({}),
});

const endpoint = (defaultHost: string, defaultPort: number) =>
  z.strictObject({
    host: z.string().min(1).default(defaultHost),
    port: port.default(defaultPort),
  });

export const sidecarConfigSchema = z
  .strictObject({
    apiVersion: z.literal('dicomguard.io/v1alpha1'),
    kind: z.literal('SidecarConfig'),
    listen: endpoint('::', 11112).prefault({}),
    upstream: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(4242),
        connectTimeoutSeconds: positiveSeconds.default(5),
        tls: upstreamTls.optional(),
        identity: upstreamIdentity.optional(),
      })
      .prefault({}),
    calledAETitles: z.array(aeTitle).min(1, 'list at least one called AE title (the PACS)'),
    peers: z.array(peer).default([]),
    identity: identity.prefault({}),
    tls: tls.prefault({}),
    limits: limits.prefault({}),
    audit: z.strictObject({ syslog: syslog.optional() }).prefault({}),
    admin: endpoint('::', 9095).prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    config.peers.forEach((p, index) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['peers', index, 'name'], message: `peer name "${p.name}" is used twice` });
      names.add(p.name);
      if ((p.users || p.groups) && config.identity.mode === 'Disabled') {
        ctx.addIssue({
          code: 'custom',
          path: ['peers', index, p.users ? 'users' : 'groups'],
          message: 'users and groups need identity.mode Optional or Required',
        });
      }
      if (p.clientCertificateNames && config.tls.clientCertificates === 'None') {
        ctx.addIssue({
          code: 'custom',
          path: ['peers', index, 'clientCertificateNames'],
          message: 'clientCertificateNames need tls.clientCertificates Optional or Required',
        });
      }
    });
    if (config.upstream.identity && config.identity.forwardToUpstream) {
      ctx.addIssue({ code: 'custom', path: ['identity', 'forwardToUpstream'], message: "upstream.identity replaces the caller's identity; forwardToUpstream must be false" });
    }
    if (config.listen.port === config.admin.port && config.listen.host === config.admin.host) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `the admin port must differ from listen.port ${config.listen.port}` });
    }
  });

/** A validated SidecarConfig with every default filled in. */
export type SidecarConfig = z.output<typeof sidecarConfigSchema>;
/** What a person or the operator writes: defaults may be left out. */
export type SidecarConfigInput = z.input<typeof sidecarConfigSchema>;
export type PeerConfig = SidecarConfig['peers'][number];
export type IpBlockConfig = NonNullable<PeerConfig['ipBlocks']>[number];
export type IdentityConfig = SidecarConfig['identity'];
export type TlsConfig = SidecarConfig['tls'];
export type LimitsConfig = SidecarConfig['limits'];
export type UpstreamConfig = SidecarConfig['upstream'];
export type SyslogConfig = NonNullable<SidecarConfig['audit']['syslog']>;
