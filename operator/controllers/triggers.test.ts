// Which policies an informer event concerns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { validPolicies } from '../api/fixtures.ts';
import { API_VERSION, KIND, type DicomAccessPolicySpecInput } from '../api/v1alpha1.ts';
import type { NamespaceInfo } from '../render/peers.ts';
import type { CachedPod, CachedPolicy, OwnedObject } from './cached.ts';
import { ownerPolicyKey, policiesForNamespace, policiesForPod, policiesForSecret, policyChanged, policyOfOwned } from './triggers.ts';

const server = { uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' };
const make = (name: string, spec: DicomAccessPolicySpecInput, namespace = 'imaging'): CachedPolicy =>
  asStored({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec }, { ...server, uid: `uid-${name}` });

const apiMd = asStored(validPolicies.find((f) => f.name === 'api-md-example')!.policy, server); // viewers: team=radiology namespaces, app=viewer pods
const local = make('local', { selector: { matchLabels: { app: 'dcm4chee' } }, calledAETitles: ['A'], peers: [{ name: 'p', aeTitles: ['*'], from: [{ podSelector: { matchLabels: { app: 'scanner' } } }] }] });
const other = make('other', { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['A'] }, 'elsewhere');
const policies = [apiMd, local, other];
const namespaces: Record<string, NamespaceInfo> = { radiology: { name: 'radiology', labels: { team: 'radiology' } }, cardiology: { name: 'cardiology', labels: { team: 'cardiology' } }, imaging: { name: 'imaging' } };
const lookup = (name: string) => namespaces[name];
const pod = (namespace: string, labels: Record<string, string>, ips: string[] = ['10.0.0.1']): CachedPod => ({ namespace, name: 'p', labels, ips, phase: 'Running' });

test('a pod the selector picks: the policies of its namespace that select it', () => {
  assert.equal(policiesForPod(policies, lookup, pod('imaging', { app: 'orthanc' })), ['imaging/api-md-example']);
  assert.equal(policiesForPod(policies, lookup, pod('elsewhere', { app: 'orthanc' })), ['elsewhere/other']);
});

test('a pod a `from` peer picks: by namespace labels and pod labels', () => {
  assert.equal(policiesForPod(policies, lookup, pod('radiology', { app: 'viewer' })), ['imaging/api-md-example']);
  assert.equal(policiesForPod(policies, lookup, pod('cardiology', { app: 'viewer' })), [], 'namespace labels do not match');
  assert.equal(policiesForPod(policies, lookup, pod('imaging', { app: 'scanner' })), ['imaging/local'], 'podSelector alone: the policy namespace');
  assert.equal(policiesForPod(policies, lookup, pod('radiology', { app: 'scanner' })), []);
});

test('a relabelled pod concerns the policies of its old labels and of its new ones', () => {
  assert.equal(policiesForPod(policies, lookup, pod('imaging', { app: 'orthanc' }), pod('imaging', { app: 'scanner' })).sort(), ['imaging/api-md-example', 'imaging/local']);
});

test('namespace changes concern policies with a namespaceSelector only', () => {
  assert.equal(policiesForNamespace(policies), ['imaging/api-md-example']);
});

test('a Secret concerns the policies of its namespace that reference it', () => {
  assert.equal(policiesForSecret(policies, 'imaging', 'pacs-users'), ['imaging/api-md-example']);
  assert.equal(policiesForSecret(policies, 'imaging', 'modality-ca'), ['imaging/api-md-example']);
  assert.equal(policiesForSecret(policies, 'elsewhere', 'pacs-users'), []);
  assert.equal(policiesForSecret(policies, 'imaging', 'unrelated'), []);
});

test('an owned object concerns its controlling DicomAccessPolicy', () => {
  assert.is(ownerPolicyKey('imaging', [{ apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'main', uid: 'u', controller: true }]), 'imaging/main');
  assert.is(ownerPolicyKey('imaging', [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name: 'c', uid: 'u', controller: true }]), undefined);
  assert.is(ownerPolicyKey('imaging', [{ apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'main', uid: 'u' }]), undefined, 'not the controller');
  assert.is(ownerPolicyKey('imaging', undefined), undefined);
});

test("an owned object without our controller (cert-manager's TLS Secret) concerns the policy its label names", () => {
  const meta = (metadata: Partial<OwnedObject['metadata']>) => ({ metadata: { name: 'x', namespace: 'imaging', ...metadata } });
  const controller = [{ apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'main', uid: 'u', controller: true }];
  assert.is(policyOfOwned(meta({ ownerReferences: controller, labels: { 'dicomguard.io/policy': 'main' } })), 'imaging/main');
  assert.is(policyOfOwned(meta({ labels: { 'dicomguard.io/policy': 'main' } })), 'imaging/main');
  assert.is(policyOfOwned(meta({ ownerReferences: [{ ...controller[0]!, controller: false }], labels: { 'dicomguard.io/policy': 'main' } })), 'imaging/main');
  assert.is(policyOfOwned(meta({ labels: {} })), undefined);
});

test('policyChanged: a new generation, uid or deletion; not a status update', () => {
  const withStatus = { ...apiMd, status: { observedGeneration: 1, matchedPods: 3 } };
  assert.not.ok(policyChanged(apiMd, withStatus));
  assert.ok(policyChanged(apiMd, { ...apiMd, metadata: { ...apiMd.metadata, generation: 2 } }));
  assert.ok(policyChanged(apiMd, { ...apiMd, metadata: { ...apiMd.metadata, uid: 'new' } }));
  assert.ok(policyChanged(apiMd, { ...apiMd, metadata: { ...apiMd.metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } }));
});

test.run();
