import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { V1Pod } from '@kubernetes/client-node';
import { asStored } from '../api/defaults.ts';
import { API_VERSION, KIND, type DicomAccessPolicy } from '../api/v1alpha1.ts';
import { DEFAULT_INJECTION_SETTINGS, INJECTED_BY_ANNOTATION, injectionReport, SIDECAR_CONTAINER, type JsonPatchOperation } from './inject.ts';

function policy(name: string, created: string, matchLabels: Record<string, string>, port = 11112): DicomAccessPolicy {
  return asStored(
    { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: 'imaging' }, spec: { selector: { matchLabels }, calledAETitles: ['PACS'], listen: { port }, upstream: { port: 4242 } } },
    { uid: `uid-${name}`, creationTimestamp: created },
  );
}

const main = policy('main-pacs', '2026-01-01T00:00:00Z', { app: 'orthanc' });
const later = policy('later', '2026-02-01T00:00:00Z', { tier: 'pacs' });

function pod(overrides: { labels?: Record<string, string>; annotations?: Record<string, string>; initContainers?: string[]; hostNetwork?: boolean; volumes?: string[]; sysctls?: { name: string; value: string }[] } = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'orthanc-',
      namespace: 'imaging',
      labels: overrides.labels ?? { app: 'orthanc' },
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
    },
    spec: {
      containers: [{ name: 'orthanc', image: 'orthancteam/orthanc' }],
      ...(overrides.initContainers ? { initContainers: overrides.initContainers.map((name) => ({ name, image: 'busybox' })) } : {}),
      ...(overrides.hostNetwork ? { hostNetwork: true } : {}),
      ...(overrides.volumes ? { volumes: overrides.volumes.map((name) => ({ name, emptyDir: {} })) } : {}),
      ...(overrides.sysctls ? { securityContext: { sysctls: overrides.sysctls } } : {}),
    },
  };
}

/** RFC 6902 "add", enough to check what the API server will make of the patch. */
function applyPatch<T>(document: T, patch: JsonPatchOperation[]): T {
  const copy = structuredClone(document) as Record<string, unknown>;
  for (const { op, path, value } of patch) {
    assert.is(op, 'add');
    const keys = path.slice(1).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    let target: Record<string, unknown> | unknown[] = copy;
    for (const key of keys) target = (target as Record<string, unknown>)[key] as Record<string, unknown>;
    if (Array.isArray(target)) {
      if (last === '-') target.push(value);
      else target.splice(Number(last), 0, value);
    } else {
      target[last] = value;
    }
  }
  return copy as T;
}

test('a selected pod gets exactly one native sidecar with its mounts, volumes and annotation', () => {
  const report = injectionReport(pod(), 'imaging', [main]);
  assert.is(report.inject, true);
  assert.is(report.reason, 'selected');
  const injected = applyPatch(pod(), report.patch);
  const sidecars = injected.spec!.initContainers!.filter((c) => c.name === SIDECAR_CONTAINER);
  assert.is(sidecars.length, 1);
  const sidecar = sidecars[0]!;
  assert.is(sidecar.restartPolicy, 'Always', 'native sidecar');
  assert.equal(sidecar.args, ['sidecar', '--config', '/etc/dicom-guard/config/sidecar.yaml']);
  assert.equal(sidecar.ports!.map((p) => p.containerPort), [11112, 9095]);
  assert.equal(sidecar.readinessProbe!.httpGet!.port, 9095);
  assert.equal(sidecar.securityContext, {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(sidecar.volumeMounts!.map((m) => [m.mountPath, m.readOnly]), [
    ['/etc/dicom-guard/config', true],
    ['/etc/dicom-guard/identity', true],
    ['/etc/dicom-guard/tls', true],
  ]);
  assert.equal(injected.spec!.volumes!.map((v) => v.configMap?.name ?? v.secret?.secretName), ['main-pacs-dicom-guard', 'main-pacs-dicom-guard-identity', 'main-pacs-dicom-guard-tls']);
  assert.is(injected.metadata!.annotations![INJECTED_BY_ANNOTATION], 'main-pacs');
  assert.equal(injected.metadata!.labels, { app: 'orthanc', 'dicomguard.io/sidecar': 'injected' });
  assert.equal(injected.spec!.containers.map((c) => c.name), ['orthanc'], 'the PACS container is untouched');
});

test('the sidecar goes first among existing init containers; existing volumes and annotations are kept', () => {
  const before = pod({ initContainers: ['migrate'], volumes: ['data'], annotations: { 'team/owner': 'imaging' } });
  const injected = applyPatch(before, injectionReport(before, 'imaging', [main]).patch);
  assert.equal(injected.spec!.initContainers!.map((c) => c.name), [SIDECAR_CONTAINER, 'migrate']);
  assert.equal(injected.spec!.volumes!.map((v) => v.name), ['data', 'dicom-guard-config', 'dicom-guard-identity', 'dicom-guard-tls']);
  assert.equal(injected.metadata!.annotations, { 'team/owner': 'imaging', [INJECTED_BY_ANNOTATION]: 'main-pacs' });
});

test('the sidecar learns its pod from the downward API and its policy by name', () => {
  const sidecar = applyPatch(pod(), injectionReport(pod(), 'imaging', [main]).patch).spec!.initContainers![0]!;
  assert.equal(
    sidecar.env!.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]),
    [
      ['DICOMGUARD_POD_NAME', 'metadata.name'],
      ['DICOMGUARD_POD_NAMESPACE', 'metadata.namespace'],
      ['DICOMGUARD_POD_UID', 'metadata.uid'],
      ['DICOMGUARD_POLICY', 'main-pacs'],
    ],
  );
});

test('the pod\'s service account token volume is mounted into the sidecar; none when the pod has none', () => {
  const withToken = (automounted: boolean): V1Pod => {
    const base = pod();
    base.spec!.volumes = [
      { name: 'kube-api-access-x7k2p', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } },
      { name: 'someone-elses-token', projected: { sources: [{ serviceAccountToken: { path: 'vault-token', audience: 'vault' } }] } },
    ];
    if (automounted) base.spec!.containers[0]!.volumeMounts = [{ name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }];
    return base;
  };
  const tokenMount = (p: V1Pod) => applyPatch(p, injectionReport(p, 'imaging', [main]).patch).spec!.initContainers![0]!.volumeMounts!.find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount');
  assert.equal(tokenMount(withToken(true)), { name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
  assert.is(tokenMount(withToken(false)), undefined, 'a token volume nobody mounts at the service account path is not the pod\'s API token');
  assert.is(tokenMount(pod()), undefined, 'automountServiceAccountToken: false: no token for the sidecar either');
});

test('injection is idempotent: an injected pod is not injected again', () => {
  const once = applyPatch(pod(), injectionReport(pod(), 'imaging', [main]).patch);
  const again = injectionReport(once, 'imaging', [main]);
  assert.is(again.inject, false);
  assert.is(again.reason, 'already-injected');
  assert.equal(again.patch, []);
});

test('reasons: not selected, other namespace, opted out, host network', () => {
  assert.is(injectionReport(pod({ labels: { app: 'viewer' } }), 'imaging', [main]).reason, 'not-selected');
  assert.is(injectionReport(pod(), 'other', [main]).reason, 'not-selected', 'a policy selects pods of its own namespace only');
  const optedOut = injectionReport(pod({ annotations: { 'dicomguard.io/inject': 'false' } }), 'imaging', [main]);
  assert.equal([optedOut.inject, optedOut.reason, optedOut.policy], [false, 'opted-out', 'main-pacs']);
  assert.match(optedOut.message, /not protected/);
  const host = injectionReport(pod({ hostNetwork: true }), 'imaging', [main]);
  assert.equal([host.inject, host.reason], [false, 'host-network']);
});

test('two policies select the pod: the older one is injected, the report names the conflict', () => {
  const report = injectionReport(pod({ labels: { app: 'orthanc', tier: 'pacs' } }), 'imaging', [later, main]);
  assert.equal([report.inject, report.reason, report.policy, report.conflicting], [true, 'policy-conflict', 'main-pacs', ['later']]);
});

test('a DICOM port below 1024 lowers the unprivileged port start for the pod (non-root sidecar)', () => {
  const low = policy('port-104', '2026-01-01T00:00:00Z', { app: 'orthanc' }, 104);
  const injected = applyPatch(pod(), injectionReport(pod(), 'imaging', [low]).patch);
  assert.equal(injected.spec!.securityContext!.sysctls, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '104' }]);
  const already = pod({ sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] });
  assert.ok(!injectionReport(already, 'imaging', [low]).patch.some((op) => op.path.includes('sysctls')), 'a lower existing setting is kept');
  const high = applyPatch(pod(), injectionReport(pod(), 'imaging', [main]).patch);
  assert.is(high.spec!.securityContext, undefined);
});

test('settings: image and resources come from the operator settings', () => {
  const report = injectionReport(pod(), 'imaging', [main], { ...DEFAULT_INJECTION_SETTINGS, image: 'registry.hospital.example.org/dicom-guard:1.2.3', imagePullPolicy: 'Always' });
  const injected = applyPatch(pod(), report.patch);
  assert.is(injected.spec!.initContainers![0]!.image, 'registry.hospital.example.org/dicom-guard:1.2.3');
  assert.is(injected.spec!.initContainers![0]!.imagePullPolicy, 'Always');
});

test.run();
