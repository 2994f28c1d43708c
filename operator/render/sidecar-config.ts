// The SidecarConfig a policy stands for: the same vocabulary with Kubernetes references
// resolved to mounted files (mounts.ts) and `from` selectors resolved to the selected
// pods' current addresses. Same input, same bytes: no timestamps, fixed key order, sorted
// addresses.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { describeIssues } from '../../sidecar/config/load.ts';
import { sidecarConfigSchema, type SidecarConfigInput } from '../../sidecar/config/schema.ts';
import { API_VERSION, type DicomAccessPolicy, type PeerSpec } from '../api/v1alpha1.ts';
import { RenderError } from './errors.ts';
import { identityFile, tlsFile } from './mounts.ts';
import { podAddressBlocks, type PeerPods } from './peers.ts';

export interface RenderSettings {
  /** The sidecar's admin port (metrics, health); the webhook's probes use the same. */
  readonly adminPort: number;
  /** cert-manager durations of the server certificate (Go duration text). */
  readonly certificateDuration: string;
  readonly certificateRenewBefore: string;
  /** The ClusterRole (Events create) bound to the sidecars' service accounts (sidecar-role-binding.ts). */
  readonly sidecarClusterRole: string;
}

export const DEFAULT_RENDER_SETTINGS: RenderSettings = {
  adminPort: 9095,
  // cert-manager's own default lifetime, renewed with a third of it left.
  certificateDuration: '2160h',
  certificateRenewBefore: '720h',
  sidecarClusterRole: 'dicom-guard-sidecar',
};

type Policy = Pick<DicomAccessPolicy, 'metadata' | 'spec'>;
type PeerConfigInput = NonNullable<SidecarConfigInput['peers']>[number];

const policyName = (policy: Policy) => `${policy.metadata.namespace}/${policy.metadata.name}`;

/**
 * A peer as the sidecar sees it, or undefined when it can match no one: a peer limited
 * to addresses (ipBlocks or `from`) whose `from` selects no pod and that has no ipBlocks
 * of its own is dropped, never rendered without ipBlocks (which would mean any address).
 */
function renderPeer(peer: PeerSpec, peerPods: PeerPods): PeerConfigInput | undefined {
  const fromBlocks = peer.from ? podAddressBlocks(peerPods[peer.name] ?? []) : [];
  const ipBlocks = [...(peer.ipBlocks ?? []).map((b) => (b.except?.length ? { cidr: b.cidr, except: b.except } : { cidr: b.cidr })), ...fromBlocks.map((cidr) => ({ cidr }))];
  const addressBound = peer.ipBlocks !== undefined || peer.from !== undefined;
  if (addressBound && ipBlocks.length === 0) return undefined;
  return {
    name: peer.name,
    aeTitles: peer.aeTitles,
    ...(addressBound ? { ipBlocks } : {}),
    ...(peer.users ? { users: peer.users } : {}),
    ...(peer.groups ? { groups: peer.groups } : {}),
    ...(peer.clientCertificateNames ? { clientCertificateNames: peer.clientCertificateNames } : {}),
    ...(peer.services ? { services: peer.services } : {}),
    ...(peer.moveDestinations ? { moveDestinations: peer.moveDestinations } : {}),
  };
}

/** Peers with `from` entries that currently resolve to no address (and have no ipBlocks): left out of the config. */
export function unresolvedPeers(policy: Policy, peerPods: PeerPods): string[] {
  return (policy.spec.peers ?? []).filter((peer) => renderPeer(peer, peerPods) === undefined).map((peer) => peer.name);
}

/**
 * The PACS runs in the same pod and listens on loopback (or everywhere; the NetworkPolicy
 * keeps its port closed to the network). In edge mode it is upstream.host, reached over
 * TLS with the pod's certificate and the site's identity, the files mounted by the webhook.
 */
function renderUpstream(spec: Policy['spec']): SidecarConfigInput['upstream'] {
  const { host, port, connectTimeoutSeconds, tls, identity } = spec.upstream;
  return {
    host: host ?? '127.0.0.1',
    port,
    connectTimeoutSeconds,
    ...(tls
      ? {
          tls: {
            ...(tls.caSecretRef ? { caFile: identityFile('upstreamCA') } : {}),
            ...(tls.serverName ? { serverName: tls.serverName } : {}),
            ...(tls.clientCertificate ? { certFile: tlsFile('cert'), keyFile: tlsFile('key') } : {}),
            minVersion: tls.minVersion,
          },
        }
      : {}),
    ...(identity
      ? {
          identity: {
            ...(identity.username ? { username: identity.username } : {}),
            ...(identity.passcodeSecretRef ? { passcodeFile: identityFile('upstreamPasscode') } : {}),
            ...(identity.jwtSecretRef ? { jwtFile: identityFile('upstreamJwt') } : {}),
            positiveResponseRequested: identity.positiveResponseRequested,
          },
        }
      : {}),
  };
}

/** audit.syslog with the CA from the identity Secret and the pod's certificate; AuditSourceID is left to the sidecar (the pod's name). */
function renderAudit(syslog: NonNullable<Policy['spec']['audit']['syslog']>): SidecarConfigInput['audit'] {
  return {
    syslog: {
      host: syslog.host,
      ...(syslog.port ? { port: syslog.port } : {}),
      transport: syslog.transport,
      ...(syslog.caSecretRef ? { caFile: identityFile('auditCA') } : {}),
      ...(syslog.serverName ? { serverName: syslog.serverName } : {}),
      ...(syslog.clientCertificate ? { certFile: tlsFile('cert'), keyFile: tlsFile('key') } : {}),
      appName: syslog.appName,
      ...(syslog.enterpriseSiteId ? { enterpriseSiteId: syslog.enterpriseSiteId } : {}),
      queueSize: syslog.queueSize,
    },
  };
}

/** The SidecarConfig for a policy, not yet validated (sidecarConfigYaml validates it). */
export function renderSidecarConfig(policy: Policy, peerPods: PeerPods, settings: RenderSettings = DEFAULT_RENDER_SETTINGS): SidecarConfigInput {
  const { spec } = policy;
  const { identity, tls } = spec;
  const { ldap, jwt } = identity;
  return {
    apiVersion: API_VERSION,
    kind: 'SidecarConfig',
    // Dual stack: the pod may have an IPv4 and an IPv6 address.
    listen: { host: '::', port: spec.listen.port },
    upstream: renderUpstream(spec),
    calledAETitles: spec.calledAETitles,
    peers: (spec.peers ?? []).flatMap((peer) => renderPeer(peer, peerPods) ?? []),
    identity: {
      mode: identity.mode,
      acceptUsernameOnly: identity.acceptUsernameOnly,
      ...(identity.htpasswdSecretRef ? { htpasswd: { file: identityFile('htpasswd') } } : {}),
      ...(ldap
        ? {
            ldap: {
              url: ldap.url,
              userDN: ldap.userDN,
              ...(ldap.caSecretRef ? { caFile: identityFile('ldapCA') } : {}),
              startTLS: ldap.startTLS,
              timeoutSeconds: ldap.timeoutSeconds,
              ...(ldap.groupsAttribute ? { groupsAttribute: ldap.groupsAttribute } : {}),
            },
          }
        : {}),
      ...(jwt
        ? {
            jwt: {
              issuer: jwt.issuer,
              audiences: jwt.audiences,
              ...(jwt.jwksSecretRef ? { jwksFile: identityFile('jwks') } : { jwksUrl: jwt.jwksUrl }),
              usernameClaim: jwt.usernameClaim,
              groupsClaim: jwt.groupsClaim,
              algorithms: jwt.algorithms,
              clockSkewSeconds: jwt.clockSkewSeconds,
            },
          }
        : {}),
      forwardToUpstream: identity.forwardToUpstream,
    },
    tls: {
      mode: tls.mode,
      ...(tls.mode !== 'Disabled' ? { certFile: tlsFile('cert'), keyFile: tlsFile('key') } : {}),
      ...(tls.clientCASecretRef ? { clientCAFile: identityFile('clientCA') } : {}),
      clientCertificates: tls.clientCertificates,
      minVersion: tls.minVersion,
    },
    limits: spec.limits,
    ...(spec.audit.syslog ? { audit: renderAudit(spec.audit.syslog) } : {}),
    admin: { host: '::', port: settings.adminPort },
    log: { level: spec.log.level },
  };
}

export interface RenderedSidecarConfig {
  readonly yaml: string;
  /** sha256 of the YAML text, hex: names the config a sidecar runs. */
  readonly sha256: string;
}

/**
 * The config file text, after the sidecar's own schema accepted it: a config the sidecar
 * would refuse is a RenderError naming the policy and the field, never a ConfigMap.
 */
export function sidecarConfigYaml(policy: Policy, peerPods: PeerPods, settings: RenderSettings = DEFAULT_RENDER_SETTINGS): RenderedSidecarConfig {
  const config = renderSidecarConfig(policy, peerPods, settings);
  if (!policy.spec.upstream.host && policy.spec.upstream.port === settings.adminPort) {
    throw new RenderError(policyName(policy), [
      { reason: 'PortConflict', message: `spec.upstream.port ${settings.adminPort} is the sidecar's admin port; the PACS and the sidecar share the pod's network` },
    ]);
  }
  const result = sidecarConfigSchema.safeParse(config);
  if (!result.success) {
    throw new RenderError(
      policyName(policy),
      describeIssues(result.error.issues).map((problem) => ({ reason: 'InvalidSidecarConfig', message: `the rendered SidecarConfig would be refused by the sidecar: ${problem}` })),
    );
  }
  const yaml = `# SidecarConfig rendered by the dicom-guard operator from DicomAccessPolicy ${policyName(policy)}; edit the policy, not this.\n${stringify(config, { aliasDuplicateObjects: false, lineWidth: 0 })}`;
  return { yaml, sha256: createHash('sha256').update(yaml).digest('hex') };
}
