// Must not compile: each object below has one misspelt or misplaced field (marked
// "typo:" on its line), and the types of the desired objects must refuse every one.
// Kept out of every build and typecheck (tsconfig "exclude"); typed-objects.test.ts
// compiles it alone and expects exactly one error on each marked line, no other.
import type { Certificate } from './certificate.ts';
import type { ConfigMap, Secret } from './desired.ts';
import type { NetworkPolicy } from './network-policy.ts';
import type { RoleBinding } from './sidecar-role-binding.ts';
import type { Container } from '../webhook/inject.ts';

const metadata = { name: 'x', namespace: 'imaging' };

export const networkPolicy: NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata,
  spec: {
    podSelector: { matchLabels: { app: 'orthanc' } },
    policyTypes: ['Ingress'],
    ingress: [{ ports: [{ port: 11112 }], form: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }], // typo: form
  },
};

export const networkPolicyPeer: NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata,
  spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlocks: { cidr: '10.0.0.0/8' } }] }] }, // typo: ipBlocks
};

export const certificate: Certificate = {
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata,
  spec: { secretName: 'x-tls', issuerRef: { name: 'ca' }, dnsName: ['pacs'] }, // typo: dnsName
};

export const certificateUsage: Certificate = {
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata,
  spec: { secretName: 'x-tls', issuerRef: { name: 'ca' }, usages: ['server-auth'] }, // typo: server-auth
};

export const configMap: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata, datas: { 'sidecar.yaml': '' } }; // typo: datas

export const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { ...metadata, annotation: {} }, data: {} }; // typo: annotation

export const roleBinding: RoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata,
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'x' },
  subjects: [{ kind: 'ServiceAccount', name: 'orthanc', namspace: 'imaging' }], // typo: namspace
};

export const container: Container = { name: 'dicom-guard', image: 'x', volumeMount: [] }; // typo: volumeMount
