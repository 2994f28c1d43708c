// What the caches keep of a pod, and from it: matched pods, protected pods, conflicts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { API_VERSION, KIND, type DicomAccessPolicySpecInput } from '../api/v1alpha1.ts';
import type { KubeObject } from '../kube/client.ts';
import { sidecarVolumes, SIDECAR_CONFIG_DIR } from '../render/mounts.ts';
import { ownedFromObject, podFromObject, type CachedPolicy, type CachedPod } from './cached.ts';
import { countPods, podProtection } from './protection.ts';

const policyAt = (name: string, created: string, spec: Partial<DicomAccessPolicySpecInput> = {}): CachedPolicy =>
  asStored(
    { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: 'imaging' }, spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'], ...spec } },
    { uid: `uid-${name}`, creationTimestamp: created },
  );

/** A pod as the API server returns it, with the sidecar the webhook injects for `injectedFor`. */
function podObject(name: string, labels: Record<string, string>, options: { injectedFor?: string; phase?: string; ips?: string[]; plainContainer?: boolean; hostNetwork?: boolean } = {}): KubeObject {
  const injected = options.injectedFor ? sidecarVolumes(options.injectedFor) : undefined;
  const sidecar = { name: 'dicom-guard', image: 'dicom-guard', volumeMounts: injected?.volumeMounts };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'imaging', labels, uid: `pod-${name}`, resourceVersion: '5', managedFields: [{ manager: 'kubectl' }] } as KubeObject['metadata'],
    spec: {
      hostNetwork: options.hostNetwork,
      containers: [{ name: 'orthanc', image: 'orthanc', volumeMounts: [{ name: 'data', mountPath: '/var/lib/orthanc' }] }, ...(injected && options.plainContainer ? [sidecar] : [])],
      initContainers: injected && !options.plainContainer ? [{ ...sidecar, restartPolicy: 'Always' }] : [],
      volumes: [{ name: 'data', emptyDir: {} }, ...(injected?.volumes ?? [])],
    },
    status: {
      phase: options.phase ?? 'Running',
      podIP: options.ips?.[0],
      podIPs: options.ips?.map((ip) => ({ ip })),
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'orthanc', ready: true, restartCount: 0 }],
    },
  };
}

test('podFromObject keeps a dozen fields: labels, addresses, phase, which config its sidecar reads', () => {
  const pod = podFromObject(podObject('orthanc-0', { app: 'orthanc' }, { injectedFor: 'main', ips: ['10.1.0.5', 'fd00::5'] }));
  assert.equal(pod, { namespace: 'imaging', name: 'orthanc-0', labels: { app: 'orthanc' }, ips: ['10.1.0.5', 'fd00::5'], phase: 'Running', sidecarConfigMap: 'main-dicom-guard' });
  const plain = podFromObject(podObject('orthanc-1', { app: 'orthanc' }, { injectedFor: 'main', plainContainer: true, hostNetwork: true }));
  assert.is(plain.sidecarConfigMap, 'main-dicom-guard', 'a plain sidecar container counts too');
  assert.ok(plain.hostNetwork);
  assert.equal(plain.ips, []);
});

test('podFromObject: a volume nobody mounts at the config folder, or a run-to-completion init container, is no sidecar', () => {
  type Spec = { initContainers: { restartPolicy?: string; volumeMounts?: { mountPath: string }[] }[] };
  const object = podObject('p', {}, { injectedFor: 'main' });
  const notNative = structuredClone(object);
  delete (notNative.spec as Spec).initContainers[0]!.restartPolicy;
  assert.is(podFromObject(notNative).sidecarConfigMap, undefined);
  const elsewhere = structuredClone(object);
  for (const m of (elsewhere.spec as Spec).initContainers[0]!.volumeMounts!) if (m.mountPath === SIDECAR_CONFIG_DIR) m.mountPath = '/tmp';
  assert.is(podFromObject(elsewhere).sidecarConfigMap, undefined);
});

test('ownedFromObject: Secret and ConfigMap values as digests, never the values', () => {
  const secret = ownedFromObject({ metadata: { name: 's', namespace: 'n' }, type: 'Opaque', data: { 'tls.key': 'c2VjcmV0' } }, 'Secret');
  assert.is(secret.kind, 'Secret');
  assert.match(secret.data!['tls.key']!, /^[0-9a-f]{64}$/);
  assert.not.match(JSON.stringify(secret), /c2VjcmV0/);
});

const cached = (object: KubeObject): CachedPod => podFromObject(object);

test('podProtection: a report of why, not a boolean', () => {
  assert.is(podProtection(cached(podObject('a', {}, { injectedFor: 'main' })), 'main', true), 'protected');
  assert.is(podProtection(cached(podObject('a', {}, { injectedFor: 'main' })), 'main', false), 'config-not-current');
  assert.is(podProtection(cached(podObject('a', {}, { injectedFor: 'other' })), 'main', true), 'other-config');
  assert.is(podProtection(cached(podObject('a', {})), 'main', true), 'no-sidecar');
});

test('countPods: matched and protected; finished pods, other namespaces and unselected pods do not count', () => {
  const main = policyAt('main', '2026-01-01T00:00:00Z');
  const pods = [
    podObject('injected', { app: 'orthanc' }, { injectedFor: 'main' }),
    podObject('pending-injected', { app: 'orthanc' }, { injectedFor: 'main', phase: 'Pending' }),
    podObject('created-before', { app: 'orthanc' }),
    podObject('done', { app: 'orthanc' }, { injectedFor: 'main', phase: 'Succeeded' }),
    podObject('viewer', { app: 'viewer' }),
  ].map(cached);
  const counts = countPods(main, [main], [...pods, { ...cached(podObject('elsewhere', { app: 'orthanc' }, { injectedFor: 'main' })), namespace: 'other' }], true);
  assert.equal([counts.matchedPods, counts.protectedPods], [3, 2]);
  assert.equal(counts.byProtection, { protected: 2, 'no-sidecar': 1 });
  assert.equal(counts.conflicts, {});
  assert.is(countPods(main, [main], pods, false).protectedPods, 0, 'a config not current protects no one');
});

test('countPods: of two policies selecting a pod, the older holds it; the newer reports the conflict', () => {
  const older = policyAt('older', '2026-01-01T00:00:00Z');
  const newer = policyAt('newer', '2026-01-02T00:00:00Z', { selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } });
  const pods = [podObject('orthanc-0', { app: 'orthanc' }, { injectedFor: 'older' }), podObject('web', { app: 'web' })].map(cached);
  const newerCounts = countPods(newer, [older, newer], pods, true);
  assert.equal(newerCounts.conflicts, { 'orthanc-0': 'older' });
  assert.equal([newerCounts.matchedPods, newerCounts.protectedPods], [2, 0]);
  const olderCounts = countPods(older, [older, newer], pods, true);
  assert.equal(olderCounts.conflicts, {});
  assert.equal([olderCounts.matchedPods, olderCounts.protectedPods], [1, 1]);
  const deleting = { ...older, metadata: { ...older.metadata, deletionTimestamp: '2026-01-03T00:00:00Z' } };
  assert.equal(countPods(newer, [deleting, newer], pods, true).conflicts, {}, 'a policy being deleted holds nothing');
});

test.run();
