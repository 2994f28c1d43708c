// The rendered SidecarConfig: references resolved to mounted files, `from` peers to pod
// addresses, byte-identical for the same input, and refused when the sidecar would refuse it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parseSidecarConfig } from '../../sidecar/config/load.ts';
import { asStored } from '../api/defaults.ts';
import { validPolicies } from '../api/fixtures.ts';
import { API_VERSION, KIND, type DicomAccessPolicySpecInput } from '../api/v1alpha1.ts';
import { RenderError } from './errors.ts';
import { SIDECAR_IDENTITY_DIR, SIDECAR_TLS_DIR, sidecarVolumes } from './mounts.ts';
import type { PeerPods, PodInfo } from './peers.ts';
import { DEFAULT_RENDER_SETTINGS, renderSidecarConfig, sidecarConfigYaml, unresolvedPeers } from './sidecar-config.ts';

const server = { uid: 'uid-1', creationTimestamp: '2025-01-01T00:00:00Z' };
const stored = (spec: DicomAccessPolicySpecInput, name = 'main-pacs') => asStored({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: 'imaging' }, spec }, server);
const fixture = (name: string) => asStored(validPolicies.find((f) => f.name === name)!.policy, server);
const viewer = (name: string, ...ips: string[]): PodInfo => ({ namespace: 'radiology', name, ips, phase: 'Running' });

const viewerPods: PeerPods = { 'viewer-pods': [viewer('viewer-1', '10.1.2.4', 'fd00::4'), viewer('viewer-0', '10.1.2.3')] };

test('the api.md policy renders the api.md SidecarConfig, with files and pod addresses', () => {
  assert.equal(renderSidecarConfig(fixture('api-md-example'), viewerPods), {
    apiVersion: 'dicomguard.io/v1alpha1',
    kind: 'SidecarConfig',
    listen: { host: '::', port: 11112 },
    upstream: { host: '127.0.0.1', port: 4242, connectTimeoutSeconds: 5 },
    calledAETitles: ['PACS'],
    peers: [
      { name: 'ct-scanner', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24' }] },
      {
        name: 'viewer-pods',
        aeTitles: ['VIEWER'],
        ipBlocks: [{ cidr: '10.1.2.3/32' }, { cidr: '10.1.2.4/32' }, { cidr: 'fd00::4/128' }],
        services: ['verification', 'query', 'retrieve'],
      },
    ],
    identity: {
      mode: 'Required',
      acceptUsernameOnly: false,
      htpasswd: { file: '/etc/dicom-guard/identity/htpasswd' },
      jwt: {
        issuer: 'https://keycloak.example.org/realms/hospital',
        audiences: ['pacs'],
        jwksFile: '/etc/dicom-guard/identity/jwks.json',
        usernameClaim: 'sub',
        groupsClaim: 'groups',
        algorithms: ['RS256', 'ES256'],
        clockSkewSeconds: 30,
      },
      forwardToUpstream: false,
    },
    tls: {
      mode: 'Required',
      certFile: '/etc/dicom-guard/tls/tls.crt',
      keyFile: '/etc/dicom-guard/tls/tls.key',
      clientCAFile: '/etc/dicom-guard/identity/client-ca.crt',
      clientCertificates: 'Optional',
      minVersion: 'TLSv1.2',
    },
    limits: {
      maxAssociations: 500,
      maxAssociationsPerPeer: 100,
      associationRequestTimeoutSeconds: 30,
      idleTimeoutSeconds: 900,
      maxAssociateRequestBytes: 262144,
      maxPduBytes: 67108864,
      shutdownGraceSeconds: 30,
      failedAttempts: { max: 10, windowSeconds: 60, blockSeconds: 300 },
    },
    admin: { host: '::', port: 9095 },
    log: { level: 'info' },
  });
});

test('LDAP and a JWKS URL: the CA is a file, the URL stays a URL', () => {
  const config = renderSidecarConfig(fixture('identity-ldap-and-jwt-url'), {});
  assert.equal(config.identity?.ldap, {
    url: 'ldaps://ldap.hospital.example.org:636',
    userDN: 'uid={username},ou=people,dc=example,dc=org',
    caFile: '/etc/dicom-guard/identity/ldap-ca.crt',
    startTLS: false,
    timeoutSeconds: 5,
    groupsAttribute: 'memberOf',
  });
  assert.is(config.identity?.jwt?.jwksUrl, 'https://keycloak.example.org/realms/hospital/protocol/openid-connect/certs');
  assert.is(config.identity?.jwt?.jwksFile, undefined);
  assert.equal(config.peers?.[0], { name: 'radiologists', aeTitles: ['*'], users: ['alice'], groups: ['radiology'] });
});

const peerCases: [string, DicomAccessPolicySpecInput['peers'], PeerPods, unknown[], string[]][] = [
  ['a peer with neither ipBlocks nor from admits any address', [{ name: 'any', aeTitles: ['*'] }], {}, [{ name: 'any', aeTitles: ['*'] }], []],
  [
    'a from peer whose selectors pick no pod is left out, not opened to every address',
    [{ name: 'viewers', aeTitles: ['*'], from: [{ podSelector: { matchLabels: { app: 'viewer' } } }] }],
    { viewers: [] },
    [],
    ['viewers'],
  ],
  ['a from peer missing from peerPods counts as no pods', [{ name: 'viewers', aeTitles: ['*'], from: [{ podSelector: {} }] }], {}, [], ['viewers']],
  [
    'ipBlocks first, then pod addresses; except kept',
    [{ name: 'mixed', aeTitles: ['*'], ipBlocks: [{ cidr: '10.20.0.0/24', except: ['10.20.0.99/32'] }], from: [{ podSelector: {} }] }],
    { mixed: [viewer('b', '10.9.0.2'), viewer('a', '10.9.0.1')] },
    [{ name: 'mixed', aeTitles: ['*'], ipBlocks: [{ cidr: '10.20.0.0/24', except: ['10.20.0.99/32'] }, { cidr: '10.9.0.1/32' }, { cidr: '10.9.0.2/32' }] }],
    [],
  ],
  [
    'ipBlocks and a from that picks nothing: the ipBlocks alone',
    [{ name: 'mixed', aeTitles: ['*'], ipBlocks: [{ cidr: '10.20.0.0/24' }], from: [{ podSelector: {} }] }],
    { mixed: [] },
    [{ name: 'mixed', aeTitles: ['*'], ipBlocks: [{ cidr: '10.20.0.0/24' }] }],
    [],
  ],
];

for (const [name, peers, peerPods, expected, unresolved] of peerCases) {
  test(`peers: ${name}`, () => {
    const policy = stored({ selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'], peers });
    assert.equal(renderSidecarConfig(policy, peerPods).peers, expected);
    assert.equal(unresolvedPeers(policy, peerPods), unresolved);
  });
}

test('edge mode: the remote host, TLS with the pod\'s certificate and the CA and identity from the identity Secret', () => {
  const config = renderSidecarConfig(fixture('edge'), {});
  assert.equal(config.upstream, {
    host: 'pacs.remote.example.org',
    port: 11112,
    connectTimeoutSeconds: 5,
    tls: { caFile: `${SIDECAR_IDENTITY_DIR}/upstream-ca.crt`, serverName: 'pacs.remote.example.org', certFile: `${SIDECAR_TLS_DIR}/tls.crt`, keyFile: `${SIDECAR_TLS_DIR}/tls.key`, minVersion: 'TLSv1.3' },
    identity: { username: 'site-a', passcodeFile: `${SIDECAR_IDENTITY_DIR}/upstream-passcode`, positiveResponseRequested: true },
  });
  assert.equal(config.tls?.mode, 'Disabled', 'plain DICOM from the modalities');
  assert.equal(renderSidecarConfig(fixture('edge-jwt'), {}).upstream, {
    host: '203.0.113.5',
    port: 104,
    connectTimeoutSeconds: 5,
    tls: { minVersion: 'TLSv1.2' },
    identity: { jwtFile: `${SIDECAR_IDENTITY_DIR}/upstream-token.jwt`, positiveResponseRequested: false },
  });
  assert.equal(renderSidecarConfig(fixture('minimal'), {}).upstream, { host: '127.0.0.1', port: 4242, connectTimeoutSeconds: 5 }, 'otherwise the PACS in the pod');
});

test('audit.syslog: the CA from the identity Secret, the pod\'s certificate as client certificate, AuditSourceID left to the sidecar (the pod\'s name)', () => {
  assert.equal(renderSidecarConfig(fixture('audit-syslog'), {}).audit, {
    syslog: {
      host: 'audit.hospital.example.org',
      transport: 'TLS',
      caFile: `${SIDECAR_IDENTITY_DIR}/audit-ca.crt`,
      certFile: `${SIDECAR_TLS_DIR}/tls.crt`,
      keyFile: `${SIDECAR_TLS_DIR}/tls.key`,
      appName: 'dicom-guard',
      enterpriseSiteId: 'Hospital Example',
      queueSize: 10000,
    },
  });
  assert.equal(renderSidecarConfig(fixture('audit-syslog-udp'), {}).audit, { syslog: { host: '10.0.0.53', port: 1514, transport: 'UDP', appName: 'pacs-guard', queueSize: 10000 } });
  assert.is(renderSidecarConfig(fixture('minimal'), {}).audit, undefined, 'no audit block when there is no repository');
});

test('every valid example renders a config the sidecar accepts', () => {
  for (const f of validPolicies) {
    const policy = asStored(f.policy, server);
    const { yaml } = sidecarConfigYaml(policy, { viewers: [viewer('v', '10.1.0.1')], 'viewer-pods': [viewer('v', '10.1.0.2')] });
    parseSidecarConfig(yaml, f.name);
  }
});

test('the rendered files are where the webhook mounts them', () => {
  const { yaml } = sidecarConfigYaml(fixture('api-md-example'), viewerPods);
  const files = [...yaml.matchAll(/^\s*(?:\w+File|file): (.+)$/gm)].map((m) => m[1]!);
  assert.ok(files.length >= 5, yaml);
  const mounted = sidecarVolumes('api-md-example').volumeMounts.map((m) => m.mountPath);
  assert.ok(mounted.includes(SIDECAR_IDENTITY_DIR) && mounted.includes(SIDECAR_TLS_DIR));
  for (const file of files) assert.ok(mounted.some((dir) => file.startsWith(`${dir}/`)), `${file} is under no mount`);
});

test('deterministic: the same input gives the same bytes; the order of pods does not matter', () => {
  const policy = fixture('api-md-example');
  const first = sidecarConfigYaml(policy, viewerPods);
  const again = sidecarConfigYaml(structuredClone(policy), { 'viewer-pods': [...viewerPods['viewer-pods']!].reverse() });
  assert.is(again.yaml, first.yaml);
  assert.is(again.sha256, first.sha256);
  assert.match(first.sha256, /^[0-9a-f]{64}$/);
  assert.not.match(first.yaml, /\d{4}-\d\d-\d\dT\d\d:/, 'no timestamps');
});

test('the YAML is the config, with a header naming the policy', () => {
  const policy = fixture('api-md-example');
  const { yaml } = sidecarConfigYaml(policy, viewerPods);
  assert.match(yaml.split('\n')[0]!, /^# .*DicomAccessPolicy imaging\/api-md-example/);
  assert.equal(parse(yaml), JSON.parse(JSON.stringify(renderSidecarConfig(policy, viewerPods))));
});

test('a config the sidecar would refuse is a RenderError naming the policy and the field', () => {
  const policy = stored({ selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'], listen: { port: 9095 } });
  try {
    sidecarConfigYaml(policy, {});
    assert.unreachable('rendered');
  } catch (error) {
    assert.instance(error, RenderError);
    const renderError = error as RenderError;
    assert.is(renderError.reason, 'InvalidSidecarConfig');
    assert.match(renderError.message, /DicomAccessPolicy imaging\/main-pacs/);
    assert.match(renderError.message, /admin\.port: the admin port must differ from listen\.port 9095/);
  }
});

test('the PACS on the sidecar\'s admin port is a PortConflict', () => {
  const policy = stored({ selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'], upstream: { port: 9095 } });
  assert.throws(() => sidecarConfigYaml(policy, {}), (error: unknown) => error instanceof RenderError && error.reason === 'PortConflict' && /spec\.upstream\.port 9095/.test(error.message));
  // Another admin port setting resolves it.
  sidecarConfigYaml(policy, {}, { ...DEFAULT_RENDER_SETTINGS, adminPort: 9096 });
});

test.run();
