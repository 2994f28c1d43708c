// desiredObjects: what a policy owns, which kinds are wanted, and what happens when a
// referenced Secret is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { validPolicies } from '../api/fixtures.ts';
import { API_VERSION, KIND, type DicomAccessPolicySpecInput } from '../api/v1alpha1.ts';
import { CONFIG_SHA256_ANNOTATION, desiredKinds, desiredObjects, OWNED_KINDS, type OwnedKind, type RenderInput } from './desired.ts';
import { referencedSecrets } from './material.ts';

const server = { uid: 'uid-1', creationTimestamp: '2025-01-01T00:00:00Z' };
const minimal: DicomAccessPolicySpecInput = { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'] };
const stored = (spec: Partial<DicomAccessPolicySpecInput>) => asStored({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'main-pacs', namespace: 'imaging' }, spec: { ...minimal, ...spec } }, server);
const apiMd = asStored(validPolicies.find((f) => f.name === 'api-md-example')!.policy, server);

const secrets = {
  'pacs-users': { htpasswd: 'YWxpY2U6JDJ5JDEwJC4uLg==' },
  'keycloak-jwks': { 'jwks.json': 'eyJrZXlzIjpbXX0=' },
  'modality-ca': { 'ca.crt': 'LS0tLS1CRUdJTi0tLS0t' },
  unrelated: { x: 'eA==' },
};
const input: RenderInput = {
  policy: apiMd,
  peerPods: { 'viewer-pods': [{ namespace: 'radiology', name: 'viewer-0', ips: ['10.1.2.3'], phase: 'Running' }] },
  secrets,
};

const tlsOn = { mode: 'Required', issuerRef: { name: 'ca' }, dnsNames: ['pacs'] } satisfies DicomAccessPolicySpecInput['tls'];
const kindCases: [string, Partial<DicomAccessPolicySpecInput>, OwnedKind[]][] = [
  ['minimal: the config and the NetworkPolicy (on by default)', {}, ['ConfigMap', 'NetworkPolicy']],
  ['NetworkPolicy off', { networkPolicy: { enabled: false } }, ['ConfigMap']],
  ['TLS on: a Certificate', { tls: tlsOn }, ['ConfigMap', 'NetworkPolicy', 'Certificate']],
  ['htpasswd referenced: an identity Secret', { identity: { mode: 'Required', htpasswdSecretRef: { name: 'users' } } }, ['ConfigMap', 'NetworkPolicy', 'Secret']],
  ['a JWKS URL is no Secret', { identity: { mode: 'Required', jwt: { issuer: 'https://idp', audiences: ['pacs'], jwksUrl: 'https://idp/keys' } } }, ['ConfigMap', 'NetworkPolicy']],
  ['everything', { tls: { ...tlsOn, clientCertificates: 'Required', clientCASecretRef: { name: 'ca' } } }, ['ConfigMap', 'NetworkPolicy', 'Certificate', 'Secret']],
];

for (const [name, spec, kinds] of kindCases) {
  // Every policy owns the RoleBinding of its sidecars' Events (sidecar-role-binding.test.ts).
  test(`desiredKinds: ${name}`, () => assert.equal([...desiredKinds(stored(spec))].sort(), [...kinds, 'RoleBinding'].sort()));
}

test('the api.md policy: all four objects, owned by the policy and labelled', () => {
  const desired = desiredObjects(input);
  assert.is(desired.error, undefined);
  const objects = [desired.networkPolicy, desired.certificate, desired.configMap, desired.identitySecret];
  assert.equal(objects.map((o) => o?.kind), ['NetworkPolicy', 'Certificate', 'ConfigMap', 'Secret']);
  for (const object of objects) {
    assert.equal(object?.metadata?.ownerReferences, [{ apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'api-md-example', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    assert.equal(object?.metadata?.labels, { 'app.kubernetes.io/managed-by': 'dicom-guard', 'dicomguard.io/policy': 'api-md-example' });
    assert.is(object?.metadata?.namespace, 'imaging');
  }
  assert.equal([...desired.kinds].sort(), [...OWNED_KINDS].sort());
});

test('the identity Secret holds exactly the referenced material, under the names the config uses', () => {
  const { identitySecret, configMap } = desiredObjects(input);
  assert.equal(identitySecret, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: identitySecret!.metadata,
    data: { htpasswd: secrets['pacs-users'].htpasswd, 'jwks.json': secrets['keycloak-jwks']['jwks.json'], 'client-ca.crt': secrets['modality-ca']['ca.crt'] },
  });
  assert.is(identitySecret?.metadata?.name, 'api-md-example-dicom-guard-identity');
  const yaml = configMap!.data!['sidecar.yaml']!;
  for (const key of Object.keys(identitySecret!.data!)) assert.ok(yaml.includes(`/etc/dicom-guard/identity/${key}`), key);
});

test('edge mode: the remote\'s CA and the site\'s passcode go into the identity Secret; the pod\'s Certificate is desired with TLS off', () => {
  const edge = asStored(validPolicies.find((f) => f.name === 'edge')!.policy, server);
  const desired = desiredObjects({ policy: edge, peerPods: {}, secrets: { 'remote-ca': { 'ca.crt': 'Q0E=' }, 'site-a': { passcode: 'cGFzcw==' } } });
  assert.equal(desired.identitySecret?.data, { 'upstream-ca.crt': 'Q0E=', 'upstream-passcode': 'cGFzcw==' });
  assert.ok(desired.kinds.has('Certificate'));
  const yaml = desired.configMap!.data!['sidecar.yaml']!;
  for (const key of Object.keys(desired.identitySecret!.data!)) assert.ok(yaml.includes(`/etc/dicom-guard/identity/${key}`), key);
  assert.equal(
    referencedSecrets(edge).map((r) => r.field),
    ['spec.upstream.tls.caSecretRef', 'spec.upstream.identity.passcodeSecretRef'],
  );
});

test('the ConfigMap names its config by hash', () => {
  const { configMap, configSha256 } = desiredObjects(input);
  assert.is(configMap?.metadata?.name, 'api-md-example-dicom-guard');
  assert.is(configMap?.metadata?.annotations?.[CONFIG_SHA256_ANNOTATION], configSha256);
  assert.equal(Object.keys(configMap?.data ?? {}), ['sidecar.yaml']);
});

const missingCases: [string, RenderInput['secrets'], RegExp, string][] = [
  ['a Secret that does not exist', { ...secrets, 'pacs-users': undefined }, /Secret imaging\/pacs-users \(spec\.identity\.htpasswdSecretRef\) does not exist/, 'SecretNotFound'],
  ['a key the Secret lacks', { ...secrets, 'keycloak-jwks': { 'keys.json': 'e30=' } }, /Secret imaging\/keycloak-jwks has no key "jwks\.json" \(spec\.identity\.jwt\.jwksSecretRef\)/, 'SecretKeyNotFound'],
  ['an empty key', { ...secrets, 'modality-ca': { 'ca.crt': '' } }, /Secret imaging\/modality-ca key "ca\.crt" is empty \(spec\.tls\.clientCASecretRef\)/, 'SecretKeyEmpty'],
];

for (const [name, given, message, reason] of missingCases) {
  test(`missing material (${name}): an error naming Secret and key; the NetworkPolicy and Certificate still render`, () => {
    const desired = desiredObjects({ ...input, secrets: given });
    assert.ok(desired.error, 'no error');
    assert.match(desired.error.message, message);
    assert.match(desired.error.message, /^DicomAccessPolicy imaging\/api-md-example: /);
    assert.is(desired.error.reason, reason);
    assert.is(desired.configMap, undefined, 'the last good ConfigMap is left alone');
    assert.is(desired.identitySecret, undefined);
    assert.ok(desired.networkPolicy && desired.certificate, 'the protection that needs no Secret stays');
    assert.ok(desired.kinds.has('ConfigMap') && desired.kinds.has('Secret'), 'still desired: not to be deleted');
  });
}

test('every missing Secret is named at once', () => {
  const desired = desiredObjects({ ...input, secrets: {} });
  assert.equal(
    desired.error?.problems.map((p) => p.reason),
    referencedSecrets(apiMd).map(() => 'SecretNotFound'),
  );
});

test('nothing referenced: no identity Secret; TLS off: no Certificate', () => {
  const desired = desiredObjects({ policy: stored({}), peerPods: {}, secrets: {} });
  assert.equal([desired.identitySecret, desired.certificate, desired.error], [undefined, undefined, undefined]);
  assert.ok(desired.configMap && desired.networkPolicy);
  assert.not.ok(desired.kinds.has('Certificate') || desired.kinds.has('Secret'));
});

test('turning TLS off: the Certificate is no longer desired (the controller deletes it)', () => {
  const on = desiredObjects({ policy: stored({ tls: tlsOn }), peerPods: {}, secrets: {} });
  const off = desiredObjects({ policy: stored({ tls: { mode: 'Disabled' } }), peerPods: {}, secrets: {} });
  assert.ok(on.kinds.has('Certificate') && on.certificate);
  assert.not.ok(off.kinds.has('Certificate') || off.certificate);
});

test('deterministic: the same input, the same objects, byte for byte', () => {
  const text = (d: ReturnType<typeof desiredObjects>) => JSON.stringify({ ...d, kinds: [...d.kinds] });
  assert.is(text(desiredObjects(structuredClone(input))), text(desiredObjects(input)));
});

test.run();
