// DicomAccessPolicy (dicomguard.io/v1alpha1): the one source of truth for the CRD.
// The openAPIV3Schema below is what the API server enforces (crds/ is generated from it
// by api/generate-crd.ts) and the operator's TypeScript types are computed from it
// (api/structural.ts), so the manifest, the validation and the code cannot drift apart.
//
// Field names follow shared/design/api.md. Defaults are the sidecar's own (read from
// sidecar/config/schema.ts below) so that `kubectl get -o yaml` shows what is in force.
// Every list and string carries maxItems/maxLength: the API server estimates the cost of
// each CEL rule from them and refuses a CRD whose rules could run too long. Rules on an
// object with `default: {}` test has() before reading a defaulted field: the API server
// checks the rules against that default as written, before the defaults inside it.
import { sidecarConfigSchema } from '../../sidecar/config/schema.ts';
import { SERVICE_NAMES } from '../../sidecar/dicom/services.ts';
import type { FromSchema, StructuralSchema } from './structural.ts';

import { API_VERSION, CRD_NAME, GROUP, KIND, PLURAL, SINGULAR, VERSION } from './names.ts';

export { API_VERSION, CRD_NAME, GROUP, KIND, PLURAL, SINGULAR, VERSION };

// The smallest SidecarConfig that has every optional block, parsed: every default the
// sidecar would fill in, from the one place that defines them.
const sidecarDefaults = sidecarConfigSchema.parse({
  apiVersion: API_VERSION,
  kind: 'SidecarConfig',
  calledAETitles: ['PACS'],
  identity: {
    ldap: { url: 'ldaps://ldap.invalid', userDN: 'uid={username}' },
    jwt: { issuer: 'issuer', audiences: ['audience'], jwksFile: '/jwks.json' },
  },
  audit: { syslog: { host: 'audit.invalid' } },
});
const { ldap: ldapDefaults, jwt: jwtDefaults } = sidecarDefaults.identity;
const syslogDefaults = sidecarDefaults.audit.syslog;
if (!ldapDefaults || !jwtDefaults || !syslogDefaults) throw new Error('sidecar defaults: the ldap, jwt and syslog blocks did not parse');

// Patterns the API server also uses (k8s.io/apimachinery/pkg/util/validation).
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
const CONFIG_KEY = '^[-._a-zA-Z0-9]+$';

const seconds = (description: string, defaultValue: number, maximum: number) =>
  ({ type: 'integer', description, minimum: 1, maximum, default: defaultValue }) as const;

const labelValue = { type: 'string', maxLength: 63, pattern: LABEL_VALUE } as const;

/** metav1.LabelSelector, as NetworkPolicy and Deployment use it. */
const labelSelector = {
  type: 'object',
  description: 'A label selector: matchLabels and matchExpressions are ANDed; an empty selector selects everything.',
  properties: {
    matchLabels: {
      type: 'object',
      description: 'Label key and value pairs that must all be present.',
      maxProperties: 32,
      additionalProperties: labelValue,
    },
    matchExpressions: {
      type: 'array',
      maxItems: 32,
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', minLength: 1, maxLength: 317 },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', maxItems: 64, items: labelValue },
        },
        'x-kubernetes-validations': [
          {
            rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
            message: 'In and NotIn need at least one value; Exists and DoesNotExist take none',
            fieldPath: '.values',
          },
        ],
      },
    },
  },
  'x-kubernetes-map-type': 'atomic',
} as const;

const secretKeyRef = (description: string, defaultKey: string) =>
  ({
    type: 'object',
    description: `${description} A Secret in the policy's namespace; the operator copies the key into the sidecar's identity Secret.`,
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
      key: { type: 'string', minLength: 1, maxLength: 253, pattern: CONFIG_KEY, default: defaultKey },
    },
    'x-kubernetes-map-type': 'atomic',
  }) as const;

// PS3.5 section 6.2 (VR AE): up to 16 characters of the default repertoire, no backslash,
// no control characters; leading and trailing spaces are not significant, so a title of
// spaces only is no title. The same rules as sidecar/dicom/ae-title.ts.
const aeTitle = {
  type: 'string',
  minLength: 1,
  maxLength: 16,
  'x-kubernetes-validations': [
    { rule: "!self.contains('\\\\')", message: 'an AE title must not contain a backslash (PS3.5 6.2)' },
    { rule: "self.matches('^[ -~]*$')", message: 'an AE title is printable ASCII: no control or non-ASCII characters (PS3.5 6.2)' },
    { rule: "self.matches('[^ ]')", message: 'an AE title must not be all spaces' },
  ],
} as const;

// 39 characters of IPv6 text and "/128".
const cidr = {
  type: 'string',
  maxLength: 43,
  'x-kubernetes-validations': [
    { rule: 'isCIDR(self)', message: 'not a CIDR block (like 10.20.0.0/24 or 2001:db8::/32)' },
    {
      rule: '!isCIDR(self) || cidr(self) == cidr(self).masked()',
      // A messageExpression naming the masked block would be cheaper to read, but the API
      // server cannot bound the length of string(cidr) and refuses it as too costly.
      message: 'has address bits set past the prefix length: write the network address (10.20.0.0/24, not 10.20.0.1/24)',
    },
  ],
} as const;

const ipBlock = {
  type: 'object',
  description: 'Source addresses: cidr minus the except blocks (as in a NetworkPolicy ipBlock).',
  required: ['cidr'],
  properties: {
    cidr,
    except: { type: 'array', description: 'Blocks strictly inside cidr that are not allowed.', maxItems: 16, items: cidr },
  },
  'x-kubernetes-validations': [
    {
      // NetworkPolicy demands a strict subset (k8s ValidateIPBlock); so does this.
      rule:
        "!has(self.except) || !isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || (cidr(e).ip().family() == cidr(self.cidr).ip().family() && cidr(self.cidr).containsCIDR(e) && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))",
      messageExpression: "'every except block must lie strictly inside ' + self.cidr",
      fieldPath: '.except',
    },
  ],
} as const;

const peerSource = {
  type: 'object',
  description:
    'In-cluster clients, as in a NetworkPolicy peer: podSelector alone selects pods in the policy\'s namespace, namespaceSelector alone every pod in the selected namespaces, both together the selected pods in the selected namespaces. The operator resolves them to the pods\' current IP addresses.',
  properties: {
    namespaceSelector: labelSelector,
    podSelector: labelSelector,
  },
  'x-kubernetes-validations': [{ rule: 'has(self.namespaceSelector) || has(self.podSelector)', message: 'set namespaceSelector, podSelector or both' }],
} as const;

const serviceNames = SERVICE_NAMES.map((name) => `'${name}'`).join(', ');
const service = {
  type: 'string',
  // PS3.5 section 9.1: a UID has at most 64 characters.
  maxLength: 64,
  'x-kubernetes-validations': [
    {
      rule: `self in [${serviceNames}] || self.matches('^[0-2](\\\\.(0|[1-9][0-9]*))+$')`,
      message: `neither a service (${SERVICE_NAMES.join(', ')}) nor a SOP class UID`,
    },
  ],
} as const;

const names = (description: string, maxItems: number, maxLength: number) =>
  ({ type: 'array', description, minItems: 1, maxItems, items: { type: 'string', minLength: 1, maxLength } }) as const;

const peer = {
  type: 'object',
  description: 'A client (or group of clients) that may associate. An association must match one peer in every respect that peer names.',
  required: ['name', 'aeTitles'],
  properties: {
    name: {
      type: 'string',
      description: 'Used in logs, metrics and audit records.',
      maxLength: 63,
      pattern: '^[A-Za-z0-9]([-A-Za-z0-9._]{0,61}[A-Za-z0-9])?$',
    },
    aeTitles: { type: 'array', description: 'Calling AE titles; "*" means any.', minItems: 1, maxItems: 32, items: aeTitle },
    ipBlocks: { type: 'array', description: 'Source addresses. With neither ipBlocks nor from: any address.', minItems: 1, maxItems: 32, items: ipBlock },
    from: { type: 'array', description: 'In-cluster clients by label; added to ipBlocks.', minItems: 1, maxItems: 16, items: peerSource },
    users: names('The verified user identity must be one of these (or carry one of the groups).', 256, 256),
    groups: names('The verified identity must carry one of these groups (JWT or LDAP).', 64, 256),
    clientCertificateNames: names('The TLS client certificate must carry one of these (SAN DNS name or subject CN).', 64, 253),
    services: { type: 'array', description: 'Services or SOP class UIDs this peer may use; absent: all.', minItems: 1, maxItems: 64, items: service },
    moveDestinations: {
      type: 'array',
      description: 'AE titles this peer may name as C-MOVE destination; absent: any. The move itself is a new association from the PACS to the destination.',
      minItems: 1,
      maxItems: 64,
      items: aeTitle,
    },
  },
} as const;

const identity = {
  type: 'object',
  description: 'User identity negotiation (PS3.7 Annex D.3.3.7): who is on the other end, verified by the sidecar.',
  default: {},
  properties: {
    mode: {
      type: 'string',
      description: 'Disabled: identities are ignored. Optional: verified when sent. Required: an association without a verified identity is rejected.',
      enum: ['Disabled', 'Optional', 'Required'],
      default: sidecarDefaults.identity.mode,
    },
    acceptUsernameOnly: {
      type: 'boolean',
      description: 'Whether identity type 1 (a user name without proof) counts as verified.',
      default: sidecarDefaults.identity.acceptUsernameOnly,
    },
    htpasswdSecretRef: secretKeyRef('User names with bcrypt or argon2id hashes, one "name:hash" a line (htpasswd -B).', 'htpasswd'),
    ldap: {
      type: 'object',
      description: 'User name and passcode checked by an LDAP simple bind.',
      required: ['url', 'userDN'],
      properties: {
        url: {
          type: 'string',
          maxLength: 512,
          'x-kubernetes-validations': [{ rule: "self.matches('^ldaps?://[^/\\\\s]+/?$')", message: 'an ldap:// or ldaps:// URL with a host and optional port' }],
        },
        userDN: {
          type: 'string',
          description: 'The DN to bind as, with {username} where the user name goes.',
          maxLength: 1024,
          'x-kubernetes-validations': [{ rule: "self.contains('{username}')", message: 'the DN template must contain {username}' }],
        },
        caSecretRef: secretKeyRef('CA certificate(s) for the LDAP server, PEM.', 'ca.crt'),
        startTLS: { type: 'boolean', default: ldapDefaults.startTLS },
        timeoutSeconds: seconds('How long a bind may take.', ldapDefaults.timeoutSeconds, 300),
        groupsAttribute: {
          type: 'string',
          description: 'An attribute of the user\'s own entry (memberOf, say) whose values become the groups, read after the bind.',
          maxLength: 128,
          pattern: '^[A-Za-z][A-Za-z0-9-]*$',
        },
      },
      'x-kubernetes-validations': [
        {
          rule: "self.url.startsWith('ldaps://') || self.startTLS",
          message: 'an ldap:// URL needs startTLS: true, or passcodes would cross the network in clear; or use ldaps://',
          fieldPath: '.url',
        },
        {
          rule: "!(self.startTLS && self.url.startsWith('ldaps://'))",
          message: 'startTLS is for ldap:// URLs; an ldaps:// connection is TLS from the start',
          fieldPath: '.startTLS',
        },
      ],
    },
    jwt: {
      type: 'object',
      description: 'JSON Web Tokens (identity type 5).',
      required: ['issuer', 'audiences'],
      properties: {
        issuer: { type: 'string', minLength: 1, maxLength: 512 },
        audiences: names('The token must be meant for one of these.', 16, 256),
        jwksSecretRef: secretKeyRef('The issuer\'s JSON Web Key Set.', 'jwks.json'),
        jwksUrl: {
          type: 'string',
          maxLength: 2048,
          'x-kubernetes-validations': [
            { rule: "isURL(self) && url(self).getScheme() == 'https'", message: 'an https:// URL (keys fetched in clear could be replaced on the way)' },
          ],
        },
        usernameClaim: { type: 'string', minLength: 1, maxLength: 256, default: jwtDefaults.usernameClaim },
        groupsClaim: { type: 'string', minLength: 1, maxLength: 256, default: jwtDefaults.groupsClaim },
        algorithms: {
          type: 'array',
          minItems: 1,
          maxItems: 10,
          items: { type: 'string', enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] },
          default: jwtDefaults.algorithms,
        },
        clockSkewSeconds: { type: 'integer', minimum: 0, maximum: 300, default: jwtDefaults.clockSkewSeconds },
      },
      'x-kubernetes-validations': [
        { rule: 'has(self.jwksSecretRef) != has(self.jwksUrl)', message: 'set exactly one of jwksSecretRef and jwksUrl', fieldPath: '.jwksSecretRef' },
      ],
    },
    forwardToUpstream: {
      type: 'boolean',
      description: 'Whether the PACS sees the user identity sub-item; by default the sidecar strips it.',
      default: sidecarDefaults.identity.forwardToUpstream,
    },
  },
  'x-kubernetes-validations': [
    {
      rule: "!has(self.mode) || self.mode == 'Disabled' || has(self.htpasswdSecretRef) || has(self.ldap) || has(self.jwt) || (has(self.acceptUsernameOnly) && self.acceptUsernameOnly)",
      messageExpression: "'mode ' + self.mode + ' needs a way to verify identities: htpasswdSecretRef, ldap, jwt or acceptUsernameOnly'",
      fieldPath: '.mode',
    },
  ],
} as const;

const tls = {
  type: 'object',
  description: 'DICOM over TLS (PS3.15 Annex B); the server certificate comes from cert-manager.',
  default: {},
  properties: {
    mode: {
      type: 'string',
      description: 'Disabled, Required, or Optional (TLS and plain DICOM on the one port).',
      enum: ['Disabled', 'Required', 'Optional'],
      default: sidecarDefaults.tls.mode,
    },
    issuerRef: {
      type: 'object',
      description: 'The cert-manager issuer of the pod\'s certificate: the server certificate (mode Required or Optional), and the client certificate with upstream.tls.clientCertificate.',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 253 },
        kind: { type: 'string', minLength: 1, maxLength: 63, default: 'Issuer' },
        group: { type: 'string', minLength: 1, maxLength: 253, default: 'cert-manager.io' },
      },
      'x-kubernetes-map-type': 'atomic',
    },
    dnsNames: {
      type: 'array',
      description: 'Names clients use to reach the PACS; the server certificate carries them.',
      maxItems: 32,
      items: { type: 'string', maxLength: 253, pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' },
    },
    ipAddresses: {
      type: 'array',
      description: 'IP addresses clients use to reach the PACS (modalities are often configured with an address, not a name).',
      maxItems: 16,
      items: { type: 'string', maxLength: 39, 'x-kubernetes-validations': [{ rule: 'isIP(self)', message: 'not an IP address' }] },
    },
    keyAlgorithm: {
      type: 'string',
      description: 'The server key: RSA (2048 bits; what older modalities support) or ECDSA (P-256).',
      enum: ['RSA', 'ECDSA'],
      default: 'RSA',
    },
    clientCertificates: {
      type: 'string',
      description: 'None, Optional (checked when sent) or Required (mutual TLS).',
      enum: ['None', 'Optional', 'Required'],
      default: sidecarDefaults.tls.clientCertificates,
    },
    clientCASecretRef: secretKeyRef('CA certificate(s) that client certificates must chain to, PEM.', 'ca.crt'),
    minVersion: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: sidecarDefaults.tls.minVersion },
  },
  'x-kubernetes-validations': [
    { rule: "!has(self.mode) || self.mode == 'Disabled' || has(self.issuerRef)", messageExpression: "'required when mode is ' + self.mode", fieldPath: '.issuerRef', reason: 'FieldValueRequired' },
    {
      rule: "!has(self.mode) || self.mode == 'Disabled' || (has(self.dnsNames) && size(self.dnsNames) > 0)",
      messageExpression: "'list at least one name when mode is ' + self.mode",
      fieldPath: '.dnsNames',
      reason: 'FieldValueRequired',
    },
    {
      rule: "!has(self.clientCertificates) || self.clientCertificates == 'None' || has(self.clientCASecretRef)",
      messageExpression: "'required when clientCertificates is ' + self.clientCertificates",
      fieldPath: '.clientCASecretRef',
      reason: 'FieldValueRequired',
    },
    {
      rule: "!has(self.clientCertificates) || self.clientCertificates == 'None' || (has(self.mode) && self.mode != 'Disabled')",
      message: 'client certificates need tls.mode Required or Optional',
      fieldPath: '.clientCertificates',
    },
  ],
} as const;

const limitDefaults = sidecarDefaults.limits;
const limits = {
  type: 'object',
  description: 'Resource limits of the sidecar (the same as SidecarConfig limits).',
  default: {},
  properties: {
    maxAssociations: { type: 'integer', minimum: 1, maximum: 100000, default: limitDefaults.maxAssociations },
    maxAssociationsPerPeer: { type: 'integer', minimum: 1, maximum: 100000, default: limitDefaults.maxAssociationsPerPeer },
    associationRequestTimeoutSeconds: seconds('ARTIM: from connect to a complete A-ASSOCIATE-RQ.', limitDefaults.associationRequestTimeoutSeconds, 600),
    idleTimeoutSeconds: seconds('An association with no PDU for this long is aborted.', limitDefaults.idleTimeoutSeconds, 604800),
    maxAssociateRequestBytes: { type: 'integer', minimum: 1024, maximum: 16777216, default: limitDefaults.maxAssociateRequestBytes },
    maxPduBytes: { type: 'integer', minimum: 4096, maximum: 1073741824, default: limitDefaults.maxPduBytes },
    shutdownGraceSeconds: seconds('How long open associations may run on when the pod stops.', limitDefaults.shutdownGraceSeconds, 3600),
    failedAttempts: {
      type: 'object',
      description: 'Per source address: after max failures within windowSeconds, refuse it for blockSeconds.',
      default: {},
      properties: {
        max: { type: 'integer', minimum: 1, maximum: 100000, default: limitDefaults.failedAttempts.max },
        windowSeconds: seconds('The window failures are counted in.', limitDefaults.failedAttempts.windowSeconds, 86400),
        blockSeconds: seconds('How long an address is refused after too many failures.', limitDefaults.failedAttempts.blockSeconds, 604800),
      },
    },
  },
} as const;

const port = (description: string, defaultValue: number) =>
  ({ type: 'integer', description, minimum: 1, maximum: 65535, default: defaultValue }) as const;

/** DICOM audit messages (PS3.15 A.5) by syslog to an audit repository, beside the JSON audit records. */
const audit = {
  type: 'object',
  default: {},
  properties: {
    syslog: {
      type: 'object',
      description: 'The audit repository: RFC 5425 (TLS) or RFC 5426 (UDP). AuditSourceID is the pod\'s name.',
      required: ['host'],
      properties: {
        host: {
          type: 'string',
          description: 'The repository\'s DNS name or IP address.',
          maxLength: 253,
          'x-kubernetes-validations': [{ rule: `isIP(self) || self.matches(r'${DNS_SUBDOMAIN}')`, message: 'a DNS name (lower case) or an IP address' }],
        },
        port: { type: 'integer', description: 'Default 6514 (TLS) or 514 (UDP).', minimum: 1, maximum: 65535 },
        transport: { type: 'string', enum: ['TLS', 'UDP'], default: syslogDefaults.transport },
        caSecretRef: secretKeyRef('CA certificate(s) the repository\'s certificate must chain to, PEM. Absent: the CAs bundled with Node.js.', 'ca.crt'),
        serverName: { type: 'string', description: 'The name the repository\'s certificate must carry. Absent: host.', minLength: 1, maxLength: 253 },
        clientCertificate: { type: 'boolean', description: 'Present the pod\'s certificate (spec.tls.issuerRef and dnsNames, with client auth) to the repository.', default: false },
        appName: { type: 'string', description: 'RFC 5424 APP-NAME.', maxLength: 48, pattern: '^[\\x21-\\x7e]{1,48}$', default: syslogDefaults.appName },
        enterpriseSiteId: { type: 'string', description: 'AuditEnterpriseSiteID: the site, e.g. the hospital.', minLength: 1, maxLength: 256 },
        queueSize: { type: 'integer', description: 'Messages held while the repository is unreachable; beyond that the oldest are dropped and counted.', minimum: 1, maximum: 1000000, default: syslogDefaults.queueSize },
      },
      'x-kubernetes-validations': [
        { rule: "self.transport != 'UDP' || (!has(self.caSecretRef) && !has(self.serverName) && !self.clientCertificate)", message: 'caSecretRef, serverName and clientCertificate need transport TLS', fieldPath: '.transport' },
      ],
    },
  },
} as const;

/**
 * Where the sidecar sends accepted associations: the PACS in the same pod, or (edge mode)
 * a remote PACS or the dicom-guard in front of it, over TLS and with the site's identity.
 */
const upstream = {
  type: 'object',
  default: {},
  properties: {
    host: {
      type: 'string',
      description: 'Edge mode: a remote host (DNS name or IP address). Absent: the PACS in the pod itself (127.0.0.1).',
      maxLength: 253,
      'x-kubernetes-validations': [{ rule: `isIP(self) || self.matches(r'${DNS_SUBDOMAIN}')`, message: 'a DNS name (lower case) or an IP address' }],
    },
    port: port('The PACS\'s DICOM port: inside the pod (never opened to the network), or on upstream.host.', sidecarDefaults.upstream.port),
    connectTimeoutSeconds: seconds('How long connecting to the PACS may take.', sidecarDefaults.upstream.connectTimeoutSeconds, 300),
    tls: {
      type: 'object',
      description: 'Edge mode: TLS to upstream.host (PS3.15 Annex B, BCP 195).',
      properties: {
        caSecretRef: secretKeyRef('CA certificate(s) the remote\'s certificate must chain to, PEM. Absent: the CAs bundled with Node.js.', 'ca.crt'),
        serverName: { type: 'string', description: 'The name the remote\'s certificate must carry. Absent: upstream.host.', minLength: 1, maxLength: 253 },
        clientCertificate: {
          type: 'boolean',
          description: 'Present the pod\'s certificate (spec.tls.issuerRef and dnsNames; cert-manager issues it with the client auth usage) to the remote.',
          default: false,
        },
        minVersion: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: sidecarDefaults.tls.minVersion },
      },
    },
    identity: {
      type: 'object',
      description: 'Edge mode: the user identity (PS3.7 D.3.3.7) put into every forwarded A-ASSOCIATE-RQ in place of the caller\'s.',
      properties: {
        username: { type: 'string', description: 'Type 1, or type 2 with passcodeSecretRef.', minLength: 1, maxLength: 256 },
        passcodeSecretRef: secretKeyRef('The passcode that goes with username (type 2).', 'passcode'),
        jwtSecretRef: secretKeyRef('A JWT (type 5), instead of a username.', 'token'),
        positiveResponseRequested: { type: 'boolean', description: 'Refuse the association unless the remote confirms it verified the identity.', default: false },
      },
      'x-kubernetes-validations': [
        { rule: 'has(self.username) != has(self.jwtSecretRef)', message: 'set exactly one of username and jwtSecretRef', fieldPath: '.username' },
        { rule: '!has(self.passcodeSecretRef) || has(self.username)', message: 'a passcode goes with a username', fieldPath: '.passcodeSecretRef' },
      ],
    },
  },
  'x-kubernetes-validations': [
    { rule: '!has(self.tls) || has(self.host)', message: 'TLS to the upstream is for a remote upstream.host; the PACS in the pod is reached on loopback', fieldPath: '.tls' },
    { rule: '!has(self.identity) || has(self.host)', message: 'an upstream identity is for a remote upstream.host', fieldPath: '.identity' },
  ],
} as const;

/** networking.k8s.io/v1 NetworkPolicyIngressRule, with numbered ports only (see the rules on spec). */
const networkPolicyIngressRule = {
  type: 'object',
  description: 'A NetworkPolicy ingress rule for another port of the pod (a web UI, say). Ports are numbers, so the operator can check that the DICOM ports stay closed.',
  properties: {
    ports: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        required: ['port'],
        properties: {
          protocol: { type: 'string', enum: ['TCP', 'UDP', 'SCTP'], default: 'TCP' },
          port: { type: 'integer', minimum: 1, maximum: 65535 },
          endPort: { type: 'integer', minimum: 1, maximum: 65535 },
        },
        'x-kubernetes-validations': [{ rule: '!has(self.endPort) || self.endPort >= self.port', message: 'endPort must not be below port', fieldPath: '.endPort' }],
      },
    },
    from: {
      type: 'array',
      description: 'Sources; absent: any.',
      maxItems: 32,
      items: {
        type: 'object',
        properties: {
          ipBlock,
          namespaceSelector: labelSelector,
          podSelector: labelSelector,
        },
        'x-kubernetes-validations': [
          {
            rule: '!has(self.ipBlock) || (!has(self.namespaceSelector) && !has(self.podSelector))',
            message: 'ipBlock cannot be combined with namespaceSelector or podSelector',
          },
          { rule: 'has(self.ipBlock) || has(self.namespaceSelector) || has(self.podSelector)', message: 'set ipBlock, namespaceSelector or podSelector' },
        ],
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: 'has(self.ports) && size(self.ports) > 0',
      message: 'list the ports: a rule without ports would open every port of the pod, the PACS port too',
      fieldPath: '.ports',
      reason: 'FieldValueRequired',
    },
  ],
} as const;

// Whether a port range of an extraIngress rule covers `target` (a CEL expression).
const rangeCovers = (target: string) => `p.port <= ${target} && ${target} <= (has(p.endPort) ? p.endPort : p.port)`;

const spec = {
  type: 'object',
  required: ['selector', 'calledAETitles'],
  properties: {
    selector: {
      ...labelSelector,
      description: 'The PACS pods this policy protects, in the policy\'s namespace.',
      'x-kubernetes-validations': [
        {
          rule: '(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)',
          message: 'name at least one label (matchLabels or matchExpressions): an empty selector would select every pod in the namespace',
        },
      ],
    },
    listen: {
      type: 'object',
      default: {},
      properties: { port: port('The only DICOM port clients reach (the sidecar\'s).', sidecarDefaults.listen.port) },
    },
    upstream,
    calledAETitles: {
      type: 'array',
      description: 'The AE titles the PACS answers to; other called AE titles are rejected (1,1,7).',
      maxItems: 16,
      items: aeTitle,
      'x-kubernetes-validations': [{ rule: 'size(self) > 0', message: 'list at least one called AE title (the PACS\'s own)' }],
    },
    peers: {
      type: 'array',
      description: 'Who may associate; default deny: an association must match one peer.',
      maxItems: 64,
      items: peer,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    },
    identity,
    tls,
    limits,
    audit,
    networkPolicy: {
      type: 'object',
      default: {},
      properties: {
        enabled: {
          type: 'boolean',
          description: 'Whether the operator keeps a NetworkPolicy that lets only the peers reach listen.port and closes the PACS port.',
          default: true,
        },
        extraIngress: { type: 'array', maxItems: 16, items: networkPolicyIngressRule },
      },
    },
    log: {
      type: 'object',
      default: {},
      properties: {
        level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'], default: sidecarDefaults.log.level },
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: '!has(self.upstream.identity) || !self.identity.forwardToUpstream',
      message: "upstream.identity replaces the caller's identity; identity.forwardToUpstream must be false",
      fieldPath: '.identity.forwardToUpstream',
    },
    {
      rule: '!has(self.audit.syslog) || !self.audit.syslog.clientCertificate || (has(self.tls.issuerRef) && has(self.tls.dnsNames) && size(self.tls.dnsNames) > 0)',
      message: 'audit.syslog.clientCertificate needs the pod\'s certificate: tls.issuerRef and tls.dnsNames',
      fieldPath: '.audit.syslog.clientCertificate',
      reason: 'FieldValueRequired',
    },
    {
      rule: '!has(self.upstream.tls) || !self.upstream.tls.clientCertificate || (has(self.tls.issuerRef) && has(self.tls.dnsNames) && size(self.tls.dnsNames) > 0)',
      message: 'upstream.tls.clientCertificate needs the pod\'s certificate: tls.issuerRef and tls.dnsNames',
      fieldPath: '.upstream.tls.clientCertificate',
      reason: 'FieldValueRequired',
    },
    {
      rule: 'has(self.upstream.host) || self.listen.port != self.upstream.port',
      message: 'listen.port and upstream.port must differ: the sidecar and the PACS share the pod\'s network',
      fieldPath: '.listen.port',
    },
    {
      rule: "!has(self.peers) || self.identity.mode != 'Disabled' || self.peers.all(p, !has(p.users) && !has(p.groups))",
      message: 'users and groups on a peer need identity.mode Optional or Required',
      fieldPath: '.peers',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "!has(self.peers) || self.tls.clientCertificates != 'None' || self.peers.all(p, !has(p.clientCertificateNames))",
      message: 'clientCertificateNames on a peer need tls.clientCertificates Optional or Required',
      fieldPath: '.peers',
      reason: 'FieldValueForbidden',
    },
    {
      rule: `has(self.upstream.host) || !has(self.networkPolicy.extraIngress) || self.networkPolicy.extraIngress.all(r, !has(r.ports) || r.ports.all(p, !(${rangeCovers('self.upstream.port')})))`,
      message: 'extraIngress must not open upstream.port: the PACS is reached only through the sidecar',
      fieldPath: '.networkPolicy.extraIngress',
      reason: 'FieldValueForbidden',
    },
    {
      rule: `!has(self.networkPolicy.extraIngress) || self.networkPolicy.extraIngress.all(r, !has(r.ports) || r.ports.all(p, !(${rangeCovers('self.listen.port')})))`,
      message: 'extraIngress must not open listen.port: it is open to the peers only',
      fieldPath: '.networkPolicy.extraIngress',
      reason: 'FieldValueForbidden',
    },
  ],
} as const satisfies StructuralSchema;

// The metav1.Condition schema (KEP-1623), as controller-gen writes it.
const condition = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
} as const;

const status = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'The generation the conditions describe.' },
    conditions: {
      type: 'array',
      description: 'Ready, ConfigRendered, NetworkPolicyReady, CertificateReady.',
      maxItems: 16,
      items: condition,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
    matchedPods: { type: 'integer', format: 'int32', minimum: 0, description: 'Pods the selector matches.' },
    protectedPods: { type: 'integer', format: 'int32', minimum: 0, description: 'Matched pods that run the sidecar with the current config.' },
  },
} as const satisfies StructuralSchema;

/** The policy name becomes a label value (dicomguard.io/policy), and labels have at most 63 characters. */
export const MAX_POLICY_NAME_LENGTH = 63;

export const openAPIV3Schema = {
  type: 'object',
  description: 'Who may reach the PACS pods a selector picks, over DICOM, and how: the operator renders it into a NetworkPolicy, a cert-manager Certificate and the configuration of the dicom-guard sidecar.',
  required: ['spec'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
          description: `At most ${MAX_POLICY_NAME_LENGTH} characters: the name becomes the value of the dicomguard.io/policy label.`,
          maxLength: MAX_POLICY_NAME_LENGTH,
        },
      },
    },
    spec,
    status,
  },
} as const satisfies StructuralSchema;

/** The spec as the API server stores it: defaults filled in. */
export type DicomAccessPolicySpec = FromSchema<typeof spec>;
/** The spec as a person writes it: fields with a default may be left out. */
export type DicomAccessPolicySpecInput = FromSchema<typeof spec, 'written'>;
export type DicomAccessPolicyStatus = FromSchema<typeof status>;
export type Condition = FromSchema<typeof condition>;
export type LabelSelector = FromSchema<typeof labelSelector>;
export type PeerSpec = DicomAccessPolicySpec['peers'] extends (infer P)[] | undefined ? P : never;
export type PeerSource = FromSchema<typeof peerSource>;
export type IpBlockSpec = FromSchema<typeof ipBlock>;
export type SecretKeyRef = FromSchema<ReturnType<typeof secretKeyRef>>;
export type NetworkPolicyIngressRuleSpec = FromSchema<typeof networkPolicyIngressRule>;

/** The object metadata the operator reads (timestamps as the API server sends them: RFC 3339 text). */
export interface PolicyMetadata {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
}

export interface DicomAccessPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: PolicyMetadata;
  spec: DicomAccessPolicySpec;
  status?: DicomAccessPolicyStatus;
}

/** A policy as written in a manifest (fixtures, examples): defaults may be left out. */
export interface DicomAccessPolicyInput {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: DicomAccessPolicySpecInput;
}

/** Condition types the operator writes on a DicomAccessPolicy. */
export const CONDITION_TYPES = ['Ready', 'ConfigRendered', 'NetworkPolicyReady', 'CertificateReady'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
