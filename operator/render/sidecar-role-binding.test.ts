// The RoleBinding of a policy's sidecars: who it names, and what it binds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { API_VERSION, KIND } from '../api/v1alpha1.ts';
import { desiredObjects } from './desired.ts';
import { renderSidecarRoleBinding, sidecarServiceAccounts, type SidecarPod } from './sidecar-role-binding.ts';

const policy = asStored(
  { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'main-pacs', namespace: 'imaging' }, spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'] } },
  { uid: 'uid-1', creationTimestamp: '2026-01-01T00:00:00Z' },
);
const ours = 'main-pacs-dicom-guard';

test('sidecarServiceAccounts: the pods that run this policy\'s sidecar, sorted, once each', () => {
  const pods: SidecarPod[] = [
    { namespace: 'imaging', sidecarConfigMap: ours, serviceAccount: 'orthanc', phase: 'Running' },
    { namespace: 'imaging', sidecarConfigMap: ours, serviceAccount: 'orthanc', phase: 'Pending' },
    { namespace: 'imaging', sidecarConfigMap: ours, phase: 'Running' },
    { namespace: 'imaging', sidecarConfigMap: ours, serviceAccount: 'archive' },
    { namespace: 'imaging', sidecarConfigMap: ours, serviceAccount: 'finished', phase: 'Succeeded' },
    { namespace: 'imaging', sidecarConfigMap: 'other-dicom-guard', serviceAccount: 'other-policy' },
    { namespace: 'imaging', serviceAccount: 'no-sidecar' },
    { namespace: 'elsewhere', sidecarConfigMap: ours, serviceAccount: 'other-namespace' },
  ];
  assert.equal(sidecarServiceAccounts(policy, pods), ['archive', 'default', 'orthanc']);
  assert.equal(sidecarServiceAccounts(policy, []), []);
});

test('renderSidecarRoleBinding: the sidecars\' ClusterRole, in the policy\'s namespace, owned by the policy', () => {
  const binding = renderSidecarRoleBinding(policy, ['orthanc'], 'dg-dicom-guard-sidecar');
  assert.equal(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'dg-dicom-guard-sidecar' });
  assert.equal(binding.subjects, [{ kind: 'ServiceAccount', name: 'orthanc', namespace: 'imaging' }]);
  assert.equal([binding.metadata.name, binding.metadata.namespace], ['main-pacs-dicom-guard-sidecar', 'imaging']);
  assert.equal(binding.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]), [['DicomAccessPolicy', 'uid-1', true]]);
  assert.equal(binding.metadata.labels?.['app.kubernetes.io/managed-by'], 'dicom-guard');
});

test('desiredObjects: the binding names the accounts it is given, none before a pod runs the sidecar', () => {
  const none = desiredObjects({ policy, peerPods: {}, secrets: {} });
  assert.equal(none.roleBinding.subjects, []);
  assert.equal(none.roleBinding.roleRef.name, 'dicom-guard-sidecar', 'the default ClusterRole name, as the chart names it for release dicom-guard');
  const two = desiredObjects({ policy, peerPods: {}, secrets: {}, sidecarServiceAccounts: ['archive', 'orthanc'] });
  assert.equal(two.roleBinding.subjects.map((s) => s.name), ['archive', 'orthanc']);
});

test.run();
