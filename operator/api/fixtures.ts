// Example DicomAccessPolicies, valid and invalid, for checking the CRD against a real API
// server (test/cluster) and its OpenAPI part in unit tests (api/schema.test.ts).
//
// Each invalid policy is a valid one with exactly one thing wrong. `field` is the path the
// API server names in the error (create and update); `message` must match the error text.
// Server-side apply refuses three kinds earlier, while building the typed patch, in words
// and paths of its own (`.spec.peers[name="ct"].ipBlock: field not declared in schema`):
// those messages match either form, and the field is in the other syntax there.
// Checked against kube-apiserver v1.37.2 with `kubectl create` and `kubectl apply --server-side`.
// `checkedBy` says which part of the API server refuses it: 'openapi' (the schema's
// types, enums, bounds and patterns: a plain JSON Schema validator sees it too), 'cel'
// (an x-kubernetes-validations rule), 'list-type' (x-kubernetes-list-type map keys),
// 'strict-field-validation' (an unknown field: refused only with fieldValidation=Strict,
// kubectl's default; without it the API server drops the field silently).
import { API_VERSION, KIND, type DicomAccessPolicyInput, type DicomAccessPolicySpecInput } from './v1alpha1.ts';

export interface PolicyFixture {
  /** Names the case; also the policy's metadata.name unless the case is about names. */
  readonly name: string;
  readonly why: string;
  readonly policy: DicomAccessPolicyInput;
}

export interface InvalidPolicyFixture {
  readonly name: string;
  readonly why: string;
  /** The manifest to apply; not necessarily of the policy type (wrong types are the point). */
  readonly policy: { readonly apiVersion: string; readonly kind: string; readonly metadata: { readonly name: string; readonly namespace: string }; readonly spec: unknown };
  readonly field: string;
  readonly message: RegExp;
  readonly checkedBy: 'openapi' | 'cel' | 'list-type' | 'strict-field-validation';
}

export const FIXTURE_NAMESPACE = 'imaging';

function manifest(name: string, spec: DicomAccessPolicySpecInput): DicomAccessPolicyInput {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: FIXTURE_NAMESPACE }, spec };
}

const minimal = {
  selector: { matchLabels: { app: 'orthanc' } },
  calledAETitles: ['PACS'],
} satisfies DicomAccessPolicySpecInput;

const ctScanner = { name: 'ct-scanner', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24' }] };
const withPeer = { ...minimal, peers: [ctScanner] } satisfies DicomAccessPolicySpecInput;
const tlsRequired = {
  mode: 'Required',
  issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' },
  dnsNames: ['pacs.imaging.svc'],
} satisfies DicomAccessPolicySpecInput['tls'];

export const validPolicies: readonly PolicyFixture[] = [
  { name: 'minimal', why: 'a selector and a called AE title; everything else defaulted (no peers: deny all)', policy: manifest('minimal', minimal) },
  {
    name: 'api-md-example',
    why: 'the DicomAccessPolicy of shared/design/api.md',
    policy: manifest('api-md-example', {
      selector: { matchLabels: { app: 'orthanc' } },
      listen: { port: 11112 },
      upstream: { port: 4242 },
      calledAETitles: ['PACS'],
      peers: [
        { name: 'ct-scanner', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24' }] },
        {
          name: 'viewer-pods',
          aeTitles: ['VIEWER'],
          from: [{ namespaceSelector: { matchLabels: { team: 'radiology' } }, podSelector: { matchLabels: { app: 'viewer' } } }],
          services: ['verification', 'query', 'retrieve'],
        },
      ],
      identity: {
        mode: 'Required',
        htpasswdSecretRef: { name: 'pacs-users', key: 'htpasswd' },
        jwt: { issuer: 'https://keycloak.example.org/realms/hospital', audiences: ['pacs'], jwksSecretRef: { name: 'keycloak-jwks', key: 'jwks.json' } },
      },
      tls: {
        mode: 'Required',
        issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' },
        dnsNames: ['pacs.imaging.svc', 'pacs.hospital.example.org'],
        clientCertificates: 'Optional',
        clientCASecretRef: { name: 'modality-ca', key: 'ca.crt' },
      },
      limits: { maxAssociations: 500 },
      networkPolicy: { enabled: true, extraIngress: [] },
    }),
  },
  {
    name: 'every-peer-kind',
    why: 'ipBlocks with except (IPv4 and IPv6), pod and namespace selectors, a peer from anywhere, extraIngress for the web UI',
    policy: manifest('every-peer-kind', {
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['orthanc', 'dcm4chee'] }, { key: 'canary', operator: 'DoesNotExist' }] },
      calledAETitles: [' PACS ', 'ARCHIVE'],
      peers: [
        { name: 'modalities', aeTitles: ['CT01', 'MR 2'], ipBlocks: [{ cidr: '10.20.0.0/16', except: ['10.20.99.0/24', '10.20.0.1/32'] }, { cidr: '2001:db8::/48', except: ['2001:db8:0:1::/64'] }] },
        { name: 'viewers', aeTitles: ['*'], from: [{ podSelector: { matchLabels: { app: 'viewer' } } }, { namespaceSelector: {} }], services: ['query', 'retrieve', '1.2.840.10008.5.1.4.1.1.7'], moveDestinations: ['VIEWER1', 'VIEWER2'] },
        { name: 'anyone-may-echo', aeTitles: ['*'], services: ['verification'] },
      ],
      networkPolicy: {
        extraIngress: [
          { ports: [{ port: 8042 }], from: [{ podSelector: { matchLabels: { app: 'ohif' } } }] },
          { ports: [{ port: 9000, endPort: 9010, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }] },
        ],
      },
    }),
  },
  {
    name: 'identity-ldap-and-jwt-url',
    why: 'LDAP over ldaps with a CA, JWT keys from an https URL, users and groups on peers',
    policy: manifest('identity-ldap-and-jwt-url', {
      ...minimal,
      peers: [{ name: 'radiologists', aeTitles: ['*'], groups: ['radiology'], users: ['alice'] }],
      identity: {
        mode: 'Optional',
        ldap: { url: 'ldaps://ldap.hospital.example.org:636', userDN: 'uid={username},ou=people,dc=example,dc=org', caSecretRef: { name: 'ldap-ca' }, groupsAttribute: 'memberOf' },
        jwt: { issuer: 'https://keycloak.example.org/realms/hospital', audiences: ['pacs'], jwksUrl: 'https://keycloak.example.org/realms/hospital/protocol/openid-connect/certs', algorithms: ['ES256'] },
      },
    }),
  },
  {
    name: 'ldap-starttls',
    why: 'ldap:// is fine with startTLS',
    policy: manifest('ldap-starttls', { ...minimal, identity: { mode: 'Required', ldap: { url: 'ldap://ldap.example.org', userDN: 'cn={username},dc=example,dc=org', startTLS: true } } }),
  },
  {
    name: 'mutual-tls',
    why: 'TLS Optional with required client certificates, ECDSA key, an IP SAN, names on a peer',
    policy: manifest('mutual-tls', {
      ...minimal,
      peers: [{ name: 'ct', aeTitles: ['CT01'], clientCertificateNames: ['ct01.hospital.example.org'] }],
      tls: {
        ...tlsRequired,
        mode: 'Optional',
        ipAddresses: ['10.20.0.5', 'fd00::5'],
        keyAlgorithm: 'ECDSA',
        clientCertificates: 'Required',
        clientCASecretRef: { name: 'modality-ca' },
        minVersion: 'TLSv1.3',
      },
    }),
  },
  {
    name: 'network-policy-off',
    why: 'a cluster without NetworkPolicy support; other ports may be anything',
    policy: manifest('network-policy-off', { ...withPeer, listen: { port: 104 }, upstream: { port: 11112 }, networkPolicy: { enabled: false } }),
  },
  {
    name: 'edge',
    why: 'edge mode: plain DICOM in, TLS with the pod\'s certificate and the site\'s identity out to a remote PACS; the upstream port may equal listen.port',
    policy: manifest('edge', {
      ...withPeer,
      upstream: {
        host: 'pacs.remote.example.org',
        port: 11112,
        tls: { caSecretRef: { name: 'remote-ca' }, serverName: 'pacs.remote.example.org', clientCertificate: true, minVersion: 'TLSv1.3' },
        identity: { username: 'site-a', passcodeSecretRef: { name: 'site-a' }, positiveResponseRequested: true },
      },
      tls: { mode: 'Disabled', issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' }, dnsNames: ['edge-a.hospital.example.org'] },
    }),
  },
  {
    name: 'edge-jwt',
    why: 'edge mode with a JWT from a Secret and an IP address for the remote',
    policy: manifest('edge-jwt', { ...withPeer, upstream: { host: '203.0.113.5', port: 104, tls: {}, identity: { jwtSecretRef: { name: 'site-token' } } } }),
  },
  {
    name: 'audit-syslog',
    why: 'DICOM audit messages to an audit repository over TLS, with the pod\'s certificate as client certificate',
    policy: manifest('audit-syslog', {
      ...withPeer,
      tls: tlsRequired,
      audit: { syslog: { host: 'audit.hospital.example.org', caSecretRef: { name: 'audit-ca' }, clientCertificate: true, enterpriseSiteId: 'Hospital Example' } },
    }),
  },
  {
    name: 'audit-syslog-udp',
    why: 'the same over UDP (RFC 5426) to an address',
    policy: manifest('audit-syslog-udp', { ...withPeer, audit: { syslog: { host: '10.0.0.53', port: 1514, transport: 'UDP', appName: 'pacs-guard' } } }),
  },
  {
    name: 'a'.repeat(63),
    why: 'the longest name that fits in a label value',
    policy: manifest('a'.repeat(63), minimal),
  },
];

function invalid(
  name: string,
  why: string,
  spec: unknown,
  field: string,
  message: RegExp,
  checkedBy: InvalidPolicyFixture['checkedBy'],
  policyName = name,
): InvalidPolicyFixture {
  return { name, why, policy: { apiVersion: API_VERSION, kind: KIND, metadata: { name: policyName, namespace: FIXTURE_NAMESPACE }, spec }, field, message, checkedBy };
}

const peerWith = (extra: object) => ({ ...withPeer, peers: [{ ...ctScanner, ...extra }] });
const ipBlockWith = (block: object) => peerWith({ ipBlocks: [block] });
const extraIngress = (...rules: object[]) => ({ ...withPeer, networkPolicy: { extraIngress: rules } });

export const invalidPolicies: readonly InvalidPolicyFixture[] = [
  // selector
  invalid('no-selector', 'the selector is required', { calledAETitles: ['PACS'] }, 'spec.selector', /Required value/, 'openapi'),
  invalid('empty-selector', 'an empty selector would protect every pod', { ...minimal, selector: {} }, 'spec.selector', /an empty selector would select every pod/, 'cel'),
  invalid('empty-match-labels', 'matchLabels: {} is as empty', { ...minimal, selector: { matchLabels: {} } }, 'spec.selector', /an empty selector/, 'cel'),
  invalid(
    'in-without-values',
    'In needs values',
    { ...minimal, selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
    'spec.selector.matchExpressions[0].values',
    /In and NotIn need at least one value/,
    'cel',
  ),
  invalid('bad-operator', 'operators are In, NotIn, Exists, DoesNotExist', { ...minimal, selector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } }, 'spec.selector.matchExpressions[0].operator', /Unsupported value: "Equals"/, 'openapi'),
  // called AE titles
  invalid('no-called-ae-titles', 'calledAETitles is required', { selector: minimal.selector }, 'spec.calledAETitles', /Required value/, 'openapi'),
  invalid('empty-called-ae-titles', 'at least one called AE title', { ...minimal, calledAETitles: [] }, 'spec.calledAETitles', /at least one called AE title/, 'cel'),
  invalid('ae-title-17-characters', 'PS3.5: at most 16 characters', { ...minimal, calledAETitles: ['ABCDEFGHIJKLMNOPQ'] }, 'spec.calledAETitles[0]', /Too long: may not be (longer|more) than 16/, 'openapi'),
  invalid('ae-title-empty', 'an empty AE title', { ...minimal, calledAETitles: [''] }, 'spec.calledAETitles[0]', /should be at least 1 chars long/, 'openapi'),
  invalid('ae-title-backslash', 'backslash is the value delimiter', { ...minimal, calledAETitles: ['PACS\\1'] }, 'spec.calledAETitles[0]', /must not contain a backslash/, 'cel'),
  invalid('ae-title-control-character', 'no control characters', { ...minimal, calledAETitles: ['PACS\t1'] }, 'spec.calledAETitles[0]', /no control or non-ASCII characters/, 'cel'),
  invalid('ae-title-non-ascii', 'ASCII only', { ...minimal, calledAETitles: ['PACSÄ'] }, 'spec.calledAETitles[0]', /no control or non-ASCII characters/, 'cel'),
  invalid('ae-title-spaces', 'all spaces is no title', { ...minimal, calledAETitles: ['    '] }, 'spec.calledAETitles[0]', /must not be all spaces/, 'cel'),
  invalid('peer-ae-title-backslash', 'calling AE titles follow the same rules', peerWith({ aeTitles: ['CT\\01'] }), 'spec.peers[0].aeTitles[0]', /must not contain a backslash/, 'cel'),
  invalid('peer-without-ae-titles', 'a peer names its calling AE titles ("*" for any)', peerWith({ aeTitles: [] }), 'spec.peers[0].aeTitles', /should have at least 1 items/, 'openapi'),
  // ports
  invalid('listen-port-too-large', 'ports are 1-65535', { ...minimal, listen: { port: 70000 } }, 'spec.listen.port', /should be less than or equal to 65535/, 'openapi'),
  invalid('upstream-port-zero', 'ports are 1-65535', { ...minimal, upstream: { port: 0 } }, 'spec.upstream.port', /should be greater than or equal to 1/, 'openapi'),
  invalid('listen-is-upstream', 'the sidecar and the PACS cannot share a port', { ...minimal, listen: { port: 4242 } }, 'spec.listen.port', /listen.port and upstream.port must differ/, 'cel'),
  // peers and addresses
  invalid('duplicate-peer-names', 'peer names are unique', { ...minimal, peers: [ctScanner, { ...ctScanner, aeTitles: ['CT02'] }] }, 'spec.peers[1]', /Duplicate value|duplicate entries for key \[name="ct-scanner"\]/, 'list-type'),
  invalid('peer-name-with-space', 'peer names are metrics labels', peerWith({ name: 'ct scanner' }), 'spec.peers[0].name', /should match/, 'openapi'),
  invalid('peer-ipblock-misspelt', 'a misspelt ipBlocks must not silently allow every address', { ...minimal, peers: [{ name: 'ct', aeTitles: ['CT01'], ipBlock: [{ cidr: '10.0.0.0/8' }] }] }, 'spec.peers[0].ipBlock', /unknown field "spec\.peers\[0\]\.ipBlock"|\.spec\.peers\[name="ct"\]\.ipBlock: field not declared in schema/, 'strict-field-validation'),
  invalid('peer-empty-ip-blocks', 'an empty list would allow none: leave it out for any', peerWith({ ipBlocks: [] }), 'spec.peers[0].ipBlocks', /should have at least 1 items/, 'openapi'),
  invalid('cidr-prefix-33', 'not a CIDR', ipBlockWith({ cidr: '10.20.0.0/33' }), 'spec.peers[0].ipBlocks[0].cidr', /not a CIDR block/, 'cel'),
  invalid('cidr-is-an-address', 'a CIDR has a prefix length', ipBlockWith({ cidr: '10.20.0.5' }), 'spec.peers[0].ipBlocks[0].cidr', /not a CIDR block/, 'cel'),
  invalid('cidr-host-bits', '10.20.0.1/24 means 10.20.0.0/24: say so', ipBlockWith({ cidr: '10.20.0.1/24' }), 'spec.peers[0].ipBlocks[0].cidr', /has address bits set past the prefix length/, 'cel'),
  invalid('except-outside', 'except lies inside cidr', ipBlockWith({ cidr: '10.20.0.0/24', except: ['10.30.0.0/28'] }), 'spec.peers[0].ipBlocks[0].except', /strictly inside 10\.20\.0\.0\/24/, 'cel'),
  invalid('except-equals-cidr', 'except is a strict subset (as NetworkPolicy demands)', ipBlockWith({ cidr: '10.20.0.0/24', except: ['10.20.0.0/24'] }), 'spec.peers[0].ipBlocks[0].except', /strictly inside/, 'cel'),
  invalid('except-other-family', 'an IPv6 except in an IPv4 block', ipBlockWith({ cidr: '10.20.0.0/24', except: ['2001:db8::/64'] }), 'spec.peers[0].ipBlocks[0].except', /strictly inside/, 'cel'),
  invalid('except-not-cidr', 'except entries are CIDRs', ipBlockWith({ cidr: '10.20.0.0/24', except: ['10.20.0.300/32'] }), 'spec.peers[0].ipBlocks[0].except[0]', /not a CIDR block/, 'cel'),
  invalid('from-empty', 'a from entry names a selector', peerWith({ from: [{}] }), 'spec.peers[0].from[0]', /set namespaceSelector, podSelector or both/, 'cel'),
  invalid('unknown-service', 'services are names or SOP class UIDs', peerWith({ services: ['printing'] }), 'spec.peers[0].services[0]', /neither a service/, 'cel'),
  invalid('move-destination-not-ae-title', 'move destinations are AE titles', peerWith({ moveDestinations: ['DEST\\1'] }), 'spec.peers[0].moveDestinations[0]', /must not contain a backslash/, 'cel'),
  invalid('move-destinations-empty', 'an empty list would allow none: leave it out for any', peerWith({ moveDestinations: [] }), 'spec.peers[0].moveDestinations', /should have at least 1 items/, 'openapi'),
  invalid('users-without-identity', 'users need identity.mode Optional or Required', peerWith({ users: ['alice'] }), 'spec.peers', /users and groups on a peer need identity.mode Optional or Required/, 'cel'),
  invalid('groups-without-identity', 'groups need identity.mode Optional or Required', peerWith({ groups: ['radiology'] }), 'spec.peers', /users and groups on a peer need identity.mode/, 'cel'),
  invalid('certificate-names-without-client-certificates', 'clientCertificateNames need client certificates', peerWith({ clientCertificateNames: ['ct01'] }), 'spec.peers', /clientCertificateNames on a peer need tls.clientCertificates/, 'cel'),
  // identity
  invalid('identity-mode-unknown', 'modes are Disabled, Optional, Required', { ...minimal, identity: { mode: 'Maybe' } }, 'spec.identity.mode', /Unsupported value: "Maybe"/, 'openapi'),
  invalid('identity-required-without-verifier', 'Required needs htpasswd, ldap, jwt or acceptUsernameOnly', { ...minimal, identity: { mode: 'Required' } }, 'spec.identity.mode', /mode Required needs a way to verify identities/, 'cel'),
  invalid('jwt-two-key-sources', 'one of jwksSecretRef and jwksUrl', { ...minimal, identity: { mode: 'Required', jwt: { issuer: 'https://idp', audiences: ['pacs'], jwksSecretRef: { name: 'jwks' }, jwksUrl: 'https://idp/keys' } } }, 'spec.identity.jwt.jwksSecretRef', /set exactly one of jwksSecretRef and jwksUrl/, 'cel'),
  invalid('jwt-no-key-source', 'one of jwksSecretRef and jwksUrl', { ...minimal, identity: { mode: 'Required', jwt: { issuer: 'https://idp', audiences: ['pacs'] } } }, 'spec.identity.jwt.jwksSecretRef', /set exactly one of jwksSecretRef and jwksUrl/, 'cel'),
  invalid('jwks-over-http', 'keys fetched in clear could be swapped', { ...minimal, identity: { mode: 'Required', jwt: { issuer: 'https://idp', audiences: ['pacs'], jwksUrl: 'http://idp/keys' } } }, 'spec.identity.jwt.jwksUrl', /an https:\/\/ URL/, 'cel'),
  invalid('ldap-in-clear', 'ldap:// without startTLS sends passcodes in clear', { ...minimal, identity: { mode: 'Required', ldap: { url: 'ldap://ldap.example.org', userDN: 'uid={username}' } } }, 'spec.identity.ldap.url', /needs startTLS: true/, 'cel'),
  invalid('ldaps-with-starttls', 'ldaps is TLS already', { ...minimal, identity: { mode: 'Required', ldap: { url: 'ldaps://ldap.example.org', userDN: 'uid={username}', startTLS: true } } }, 'spec.identity.ldap.startTLS', /startTLS is for ldap:\/\/ URLs/, 'cel'),
  invalid('ldap-url-with-path', 'an LDAP URL is a host and port', { ...minimal, identity: { mode: 'Required', ldap: { url: 'ldaps://ldap.example.org/dc=example', userDN: 'uid={username}' } } }, 'spec.identity.ldap.url', /an ldap:\/\/ or ldaps:\/\/ URL/, 'cel'),
  invalid('ldap-groups-attribute', 'an LDAP attribute name', { ...minimal, identity: { mode: 'Required', ldap: { url: 'ldaps://ldap.example.org', userDN: 'uid={username}', groupsAttribute: 'member of' } } }, 'spec.identity.ldap.groupsAttribute', /should match/, 'openapi'),
  invalid('ldap-dn-without-username', 'the DN template has {username}', { ...minimal, identity: { mode: 'Required', ldap: { url: 'ldaps://ldap.example.org', userDN: 'uid=alice' } } }, 'spec.identity.ldap.userDN', /must contain \{username\}/, 'cel'),
  invalid('secret-ref-without-name', 'a Secret reference names the Secret', { ...minimal, identity: { mode: 'Required', htpasswdSecretRef: { key: 'htpasswd' } } }, 'spec.identity.htpasswdSecretRef.name', /Required value/, 'openapi'),
  // TLS
  invalid('tls-without-issuer', 'a certificate needs an issuer', { ...minimal, tls: { mode: 'Required', dnsNames: ['pacs'] } }, 'spec.tls.issuerRef', /required when mode is Required/, 'cel'),
  invalid('tls-without-names', 'a certificate needs a name', { ...minimal, tls: { mode: 'Optional', issuerRef: { name: 'ca' } } }, 'spec.tls.dnsNames', /list at least one name when mode is Optional/, 'cel'),
  invalid('client-certificates-without-ca', 'client certificates are checked against a CA', { ...minimal, tls: { ...tlsRequired, clientCertificates: 'Required' } }, 'spec.tls.clientCASecretRef', /required when clientCertificates is Required/, 'cel'),
  invalid('client-certificates-without-tls', 'client certificates need TLS', { ...minimal, tls: { clientCertificates: 'Optional', clientCASecretRef: { name: 'ca' } } }, 'spec.tls.clientCertificates', /client certificates need tls.mode Required or Optional/, 'cel'),
  invalid('tls-1.1', 'TLS 1.2 is the floor', { ...minimal, tls: { ...tlsRequired, minVersion: 'TLSv1.1' } }, 'spec.tls.minVersion', /Unsupported value: "TLSv1.1"/, 'openapi'),
  invalid('tls-ip-address-bad', 'ipAddresses are addresses', { ...minimal, tls: { ...tlsRequired, ipAddresses: ['10.20.0.0/24'] } }, 'spec.tls.ipAddresses[0]', /not an IP address/, 'cel'),
  // edge mode
  invalid('upstream-host-bad', 'a host is a DNS name or an IP address', { ...minimal, upstream: { host: 'PACS_Remote' } }, 'spec.upstream.host', /a DNS name \(lower case\) or an IP address/, 'cel'),
  invalid('upstream-tls-local', 'TLS to the PACS in the pod makes no sense', { ...minimal, upstream: { tls: {} } }, 'spec.upstream.tls', /TLS to the upstream is for a remote upstream.host/, 'cel'),
  invalid('upstream-identity-both', 'one identity', { ...minimal, upstream: { host: 'pacs.remote.example.org', identity: { username: 'a', jwtSecretRef: { name: 't' } } } }, 'spec.upstream.identity.username', /set exactly one of username and jwtSecretRef/, 'cel'),
  invalid('upstream-passcode-without-username', 'a passcode is for a username', { ...minimal, upstream: { host: 'pacs.remote.example.org', identity: { jwtSecretRef: { name: 't' }, passcodeSecretRef: { name: 'p' } } } }, 'spec.upstream.identity.passcodeSecretRef', /a passcode goes with a username/, 'cel'),
  invalid('upstream-identity-and-forward', 'the caller\'s identity is replaced, not forwarded', { ...minimal, identity: { forwardToUpstream: true }, upstream: { host: 'pacs.remote.example.org', identity: { username: 'a' } } }, 'spec.identity.forwardToUpstream', /identity.forwardToUpstream must be false/, 'cel'),
  invalid('upstream-client-certificate-without-issuer', 'the client certificate is the pod\'s Certificate', { ...minimal, upstream: { host: 'pacs.remote.example.org', tls: { clientCertificate: true } } }, 'spec.upstream.tls.clientCertificate', /needs the pod's certificate: tls.issuerRef and tls.dnsNames/, 'cel'),
  // audit repository
  invalid('audit-syslog-without-host', 'a repository has a host', { ...minimal, audit: { syslog: { port: 6514 } } }, 'spec.audit.syslog.host', /Required value/, 'openapi'),
  invalid('audit-syslog-udp-with-tls', 'TLS settings need TLS', { ...minimal, audit: { syslog: { host: 'audit', transport: 'UDP', caSecretRef: { name: 'ca' } } } }, 'spec.audit.syslog.transport', /caSecretRef, serverName and clientCertificate need transport TLS/, 'cel'),
  invalid('audit-syslog-app-name-space', 'APP-NAME is printable ASCII without spaces (RFC 5424)', { ...minimal, audit: { syslog: { host: 'audit', appName: 'dicom guard' } } }, 'spec.audit.syslog.appName', /should match|in body should match/, 'openapi'),
  invalid('audit-syslog-client-certificate-without-issuer', 'the client certificate is the pod\'s Certificate', { ...minimal, audit: { syslog: { host: 'audit', clientCertificate: true } } }, 'spec.audit.syslog.clientCertificate', /needs the pod's certificate: tls.issuerRef and tls.dnsNames/, 'cel'),
  // network policy
  invalid('extra-ingress-without-ports', 'a rule without ports opens every port', extraIngress({ from: [{ podSelector: {} }] }), 'spec.networkPolicy.extraIngress[0].ports', /a rule without ports would open every port/, 'cel'),
  invalid('extra-ingress-opens-pacs', 'the PACS port is never opened', extraIngress({ ports: [{ port: 4242 }] }), 'spec.networkPolicy.extraIngress', /extraIngress must not open upstream.port/, 'cel'),
  invalid('extra-ingress-range-opens-pacs', 'nor through a port range', extraIngress({ ports: [{ port: 4000, endPort: 5000 }] }), 'spec.networkPolicy.extraIngress', /extraIngress must not open upstream.port/, 'cel'),
  invalid('extra-ingress-opens-listen', 'listen.port is for the peers', extraIngress({ ports: [{ port: 11112 }] }), 'spec.networkPolicy.extraIngress', /extraIngress must not open listen.port/, 'cel'),
  invalid('extra-ingress-named-port', 'ports are numbers, so they can be checked', extraIngress({ ports: [{ port: 'http' }] }), 'spec.networkPolicy.extraIngress[0].ports[0].port', /must be of type integer|expected numeric \(int or float\), got string/, 'openapi'),
  invalid('extra-ingress-end-port-below', 'endPort >= port', extraIngress({ ports: [{ port: 9000, endPort: 8000 }] }), 'spec.networkPolicy.extraIngress[0].ports[0].endPort', /endPort must not be below port/, 'cel'),
  invalid('extra-ingress-ipblock-and-selector', 'as in NetworkPolicy', extraIngress({ ports: [{ port: 8042 }], from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }), 'spec.networkPolicy.extraIngress[0].from[0]', /ipBlock cannot be combined/, 'cel'),
  // metadata
  invalid('name-too-long', 'the name is a label value', minimal, 'metadata.name', /Too long: may not be (longer|more) than 63/, 'openapi', 'a'.repeat(64)),
];
