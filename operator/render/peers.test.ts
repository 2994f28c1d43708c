// `from` selectors resolved to pods, and pods to sorted single-address blocks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DicomAccessPolicy, PeerSpec } from '../api/v1alpha1.ts';
import { podAddressBlocks, resolvePeerPods, type NamespaceInfo, type PodInfo } from './peers.ts';

const namespaces: NamespaceInfo[] = [
  { name: 'imaging', labels: { 'kubernetes.io/metadata.name': 'imaging' } },
  { name: 'radiology', labels: { team: 'radiology' } },
  { name: 'cardiology', labels: { team: 'cardiology' } },
];

const pod = (namespace: string, name: string, labels: Record<string, string>, ips: string[], extra: Partial<PodInfo> = {}): PodInfo => ({ namespace, name, labels, ips, phase: 'Running', ...extra });

const pods: PodInfo[] = [
  pod('imaging', 'viewer-local', { app: 'viewer' }, ['10.0.0.10']),
  pod('radiology', 'viewer-0', { app: 'viewer' }, ['10.0.1.10', 'fd00::10']),
  pod('radiology', 'worklist-0', { app: 'worklist' }, ['10.0.1.11']),
  pod('cardiology', 'viewer-0', { app: 'viewer' }, ['10.0.2.10']),
  pod('radiology', 'viewer-pending', { app: 'viewer' }, [], { phase: 'Pending' }),
  pod('radiology', 'viewer-done', { app: 'viewer' }, ['10.0.1.99'], { phase: 'Succeeded' }),
  pod('radiology', 'viewer-failed', { app: 'viewer' }, ['10.0.1.98'], { phase: 'Failed' }),
  pod('radiology', 'viewer-host', { app: 'viewer' }, ['192.168.1.5'], { hostNetwork: true }),
  pod('unlabelled-namespace', 'viewer-0', { app: 'viewer' }, ['10.0.3.10']),
];

function policyWith(peers: PeerSpec[]): Pick<DicomAccessPolicy, 'metadata' | 'spec'> {
  return { metadata: { name: 'p', namespace: 'imaging', uid: 'u', generation: 1, creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { peers } as DicomAccessPolicy['spec'] };
}

const names = (list: readonly PodInfo[] | undefined) => (list ?? []).map((p) => `${p.namespace}/${p.name}`);

const cases: [string, PeerSpec['from'], string[]][] = [
  ['podSelector alone: the policy\'s namespace only', [{ podSelector: { matchLabels: { app: 'viewer' } } }], ['imaging/viewer-local']],
  ['namespaceSelector alone: every pod there', [{ namespaceSelector: { matchLabels: { team: 'radiology' } } }], ['radiology/viewer-0', 'radiology/worklist-0']],
  [
    'both: the selected pods in the selected namespaces',
    [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, podSelector: { matchLabels: { app: 'viewer' } } }],
    ['radiology/viewer-0', 'cardiology/viewer-0'],
  ],
  ['an empty namespaceSelector: every namespace the operator knows', [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'worklist' } } }], ['radiology/worklist-0']],
  [
    'entries are ORed, a pod counted once',
    [{ podSelector: { matchLabels: { app: 'viewer' } } }, { namespaceSelector: { matchLabels: { team: 'radiology' } } }, { namespaceSelector: { matchLabels: { team: 'radiology' } }, podSelector: {} }],
    ['imaging/viewer-local', 'radiology/viewer-0', 'radiology/worklist-0'],
  ],
  ['no pod matches', [{ podSelector: { matchLabels: { app: 'nothing' } } }], []],
];

for (const [name, from, expected] of cases) {
  test(`resolvePeerPods: ${name}`, () => {
    const result = resolvePeerPods(policyWith([{ name: 'viewers', aeTitles: ['*'], from }]), pods, namespaces);
    assert.equal(names(result.viewers), expected);
  });
}

test('resolvePeerPods: pods without addresses, finished pods and hostNetwork pods are left out', () => {
  const result = resolvePeerPods(policyWith([{ name: 'viewers', aeTitles: ['*'], from: [{ namespaceSelector: { matchLabels: { team: 'radiology' } }, podSelector: { matchLabels: { app: 'viewer' } } }] }]), pods, namespaces);
  assert.equal(names(result.viewers), ['radiology/viewer-0']);
});

test('resolvePeerPods: only peers with from appear', () => {
  const result = resolvePeerPods(policyWith([{ name: 'ct', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24' }] }, { name: 'any', aeTitles: ['*'] }]), pods, namespaces);
  assert.equal(result, {});
});

test('podAddressBlocks: /32 and /128, IPv4 first, numeric order, duplicates once, mapped IPv4 as IPv4', () => {
  const blocks = podAddressBlocks([
    pod('a', 'x', {}, ['10.0.0.10', 'fd00::1:0']),
    pod('a', 'y', {}, ['10.0.0.9', '2001:db8::1']),
    pod('a', 'z', {}, ['::ffff:10.0.0.9', '10.0.0.10', 'FD00:0:0:0:0:0:0:2', 'not-an-address']),
  ]);
  assert.equal(blocks, ['10.0.0.9/32', '10.0.0.10/32', '2001:db8::1/128', 'fd00::2/128', 'fd00::1:0/128']);
});

test('podAddressBlocks: the order of pods does not matter', () => {
  const list = pods.filter((p) => p.ips.length);
  assert.equal(podAddressBlocks(list), podAddressBlocks([...list].reverse()));
});

test.run();
