// The NetworkPolicy: DICOM on listen.port from the peers only, extraIngress as written,
// the PACS port never.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { validPolicies } from '../api/fixtures.ts';
import { API_VERSION, KIND, type DicomAccessPolicySpecInput } from '../api/v1alpha1.ts';
import { renderNetworkPolicy } from './network-policy.ts';

const server = { uid: 'uid-1', creationTimestamp: '2025-01-01T00:00:00Z' };
const stored = (spec: Partial<DicomAccessPolicySpecInput>) =>
  asStored({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'main-pacs', namespace: 'imaging' }, spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'], ...spec } }, server);

const metadata = {
  name: 'main-pacs-dicom-guard',
  namespace: 'imaging',
  labels: { 'app.kubernetes.io/managed-by': 'dicom-guard', 'dicomguard.io/policy': 'main-pacs' },
  ownerReferences: [{ apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'main-pacs', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
};

test('ipBlock peers, from peers and extraIngress: the exact NetworkPolicy', () => {
  const policy = stored({
    peers: [
      { name: 'ct', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24', except: ['10.20.0.99/32'] }, { cidr: '2001:db8::/48' }] },
      { name: 'viewers', aeTitles: ['VIEWER'], from: [{ namespaceSelector: { matchLabels: { team: 'radiology' } }, podSelector: { matchLabels: { app: 'viewer' } } }, { podSelector: { matchLabels: { app: 'router' } } }] },
      { name: 'ct-too', aeTitles: ['CT02'], ipBlocks: [{ cidr: '2001:db8::/48' }] },
    ],
    networkPolicy: { extraIngress: [{ ports: [{ port: 8042 }], from: [{ podSelector: { matchLabels: { app: 'ohif' } } }] }] },
  });
  assert.equal(renderNetworkPolicy(policy), {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: { matchLabels: { app: 'orthanc' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          ports: [{ protocol: 'TCP', port: 11112 }],
          from: [
            { ipBlock: { cidr: '10.20.0.0/24', except: ['10.20.0.99/32'] } },
            { ipBlock: { cidr: '2001:db8::/48' } },
            { namespaceSelector: { matchLabels: { team: 'radiology' } }, podSelector: { matchLabels: { app: 'viewer' } } },
            { podSelector: { matchLabels: { app: 'router' } } },
          ],
        },
        { ports: [{ port: 8042, protocol: 'TCP' }], from: [{ podSelector: { matchLabels: { app: 'ohif' } } }] },
      ],
    },
  });
});

const ruleCases: [string, Partial<DicomAccessPolicySpecInput>, unknown[]][] = [
  ['a peer bound to no address: the DICOM port from anywhere', { peers: [{ name: 'ct', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24' }] }, { name: 'any', aeTitles: ['*'] }] }, [{ ports: [{ protocol: 'TCP', port: 11112 }] }]],
  ['no peers: the DICOM port stays closed (the sidecar admits no one)', {}, []],
  ['no peers, extraIngress only', { networkPolicy: { extraIngress: [{ ports: [{ port: 8042 }] }] } }, [{ ports: [{ port: 8042, protocol: 'TCP' }] }]],
  ['another listen port', { listen: { port: 104 }, upstream: { port: 11112 }, peers: [{ name: 'any', aeTitles: ['*'] }] }, [{ ports: [{ protocol: 'TCP', port: 104 }] }]],
];

for (const [name, spec, ingress] of ruleCases) {
  test(`rules: ${name}`, () => assert.equal(renderNetworkPolicy(stored(spec))?.spec.ingress, ingress));
}

test('networkPolicy.enabled false: no NetworkPolicy', () => {
  assert.is(renderNetworkPolicy(stored({ networkPolicy: { enabled: false } })), undefined);
});

test('no example opens the PACS port', () => {
  // An edge's upstream is on another host: its port is nothing of the pod's.
  for (const f of validPolicies.filter((f) => !f.policy.spec.upstream?.host)) {
    const policy = asStored(f.policy, server);
    const upstream = policy.spec.upstream.port;
    for (const rule of renderNetworkPolicy(policy)?.spec.ingress ?? []) {
      assert.ok(rule.ports?.length, `${f.name}: a rule without ports opens every port`);
      for (const p of rule.ports ?? []) {
        const low = Number(p.port);
        assert.not.ok(low <= upstream && upstream <= (p.endPort ?? low), `${f.name}: opens ${upstream}`);
      }
    }
  }
});

test.run();
