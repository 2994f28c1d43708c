// Which Secret is the policy's TLS Secret, and what becomes of it as TLS is on or off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API_VERSION, KIND } from '../api/v1alpha1.ts';
import type { KubeObject } from '../kube/client.ts';
import { ownedFromObject, type CachedPolicy, type OwnedObject } from './cached.ts';
import { CERTIFICATE_NAME_ANNOTATION, tlsSecretAction, tlsSecretOwnership } from './tls-secret.ts';

const policy = { metadata: { name: 'main-pacs', namespace: 'imaging', uid: 'uid-1' } } as CachedPolicy;
const CERTIFICATE = 'main-pacs-dicom-guard-tls';

/** The Secret as cert-manager writes it: the secretTemplate's labels, its own annotations, no owner. */
function tlsSecret(change: (metadata: NonNullable<KubeObject['metadata']>) => void = () => {}): OwnedObject {
  const metadata: NonNullable<KubeObject['metadata']> = {
    name: CERTIFICATE,
    namespace: 'imaging',
    labels: { 'app.kubernetes.io/managed-by': 'dicom-guard', 'dicomguard.io/policy': 'main-pacs' },
    annotations: { [CERTIFICATE_NAME_ANNOTATION]: CERTIFICATE, 'cert-manager.io/issuer-name': 'hospital-ca' },
  };
  change(metadata);
  return ownedFromObject({ apiVersion: 'v1', kind: 'Secret', metadata, type: 'kubernetes.io/tls', data: { 'tls.key': 'a2V5' } }, 'Secret');
}

const owned = (controller: boolean) => tlsSecret((m) => (m.ownerReferences = [{ apiVersion: API_VERSION, kind: KIND, name: 'main-pacs', uid: 'uid-1', controller }]));

const cases: [string, OwnedObject | undefined, boolean, string][] = [
  ['no Secret yet', undefined, true, 'none'],
  ["cert-manager's Secret, TLS on, not yet owned", tlsSecret(), true, 'adopt'],
  ['owned already (not as controller)', owned(false), true, 'none'],
  ['TLS off: deleted, owned or not', tlsSecret(), false, 'delete'],
  ['TLS off, owned', owned(false), false, 'delete'],
  ['another Certificate wrote it', tlsSecret((m) => (m.annotations![CERTIFICATE_NAME_ANNOTATION] = 'other')), false, 'none'],
  ['no cert-manager annotation', tlsSecret((m) => (m.annotations = {})), false, 'none'],
  ["another policy's labels", tlsSecret((m) => (m.labels!['dicomguard.io/policy'] = 'other-pacs')), false, 'none'],
  ['not labelled managed-by dicom-guard', tlsSecret((m) => delete m.labels!['app.kubernetes.io/managed-by']), true, 'none'],
];

for (const [name, live, certificateWanted, expected] of cases) {
  test(`TLS Secret: ${name} -> ${expected}`, () => {
    assert.is(tlsSecretAction(policy, CERTIFICATE, certificateWanted, live), expected);
  });
}

test('ownership is applied as the owner reference alone, not as controller (cert-manager may hold that)', () => {
  assert.equal(tlsSecretOwnership(policy, CERTIFICATE), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CERTIFICATE, namespace: 'imaging', ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: 'main-pacs', uid: 'uid-1', controller: false, blockOwnerDeletion: true }] },
  });
});

test.run();
