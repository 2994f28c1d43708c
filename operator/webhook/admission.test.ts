import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { API_VERSION, KIND } from '../api/v1alpha1.ts';
import { admit, type AdmissionReview } from './admission.ts';
import { DEFAULT_INJECTION_SETTINGS, type JsonPatchOperation } from './inject.ts';

const policy = asStored(
  { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'main-pacs', namespace: 'imaging' }, spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'] } },
  { uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' },
);
const policiesOf = (namespace: string) => (namespace === 'imaging' ? [policy] : []);

function review(object: unknown, overrides: Partial<NonNullable<AdmissionReview['request']>> = {}): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'req-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'imaging', object, ...overrides },
  };
}

const pod = (labels: Record<string, string>, annotations?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orthanc-0', labels, ...(annotations ? { annotations } : {}) }, spec: { containers: [{ name: 'orthanc', image: 'orthanc' }] } });

test('a selected pod: allowed with a base64 JSON patch, the uid echoed', () => {
  const { review: out, report } = admit(review(pod({ app: 'orthanc' })), policiesOf, DEFAULT_INJECTION_SETTINGS);
  assert.is(out.response.uid, 'req-1');
  assert.is(out.response.allowed, true);
  assert.is(out.response.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(out.response.patch!, 'base64').toString()) as JsonPatchOperation[];
  assert.equal(patch.map((p) => p.path), ['/spec/initContainers', '/spec/volumes', '/metadata/annotations', '/metadata/labels/dicomguard.io~1sidecar']);
  assert.is(report?.reason, 'selected');
});

test('an unselected pod, another namespace, another kind or operation: allowed untouched', () => {
  for (const r of [review(pod({ app: 'viewer' })), review(pod({ app: 'orthanc' }), { namespace: 'other' }), review(pod({ app: 'orthanc' }), { operation: 'UPDATE' }), review({ kind: 'Service' }, { kind: { group: '', version: 'v1', kind: 'Service' } })]) {
    const { review: out } = admit(r, policiesOf, DEFAULT_INJECTION_SETTINGS);
    assert.equal(out.response, { uid: 'req-1', allowed: true });
  }
});

test('an opted-out pod is admitted with a warning that says it is unprotected', () => {
  const { review: out } = admit(review(pod({ app: 'orthanc' }, { 'dicomguard.io/inject': 'false' })), policiesOf, DEFAULT_INJECTION_SETTINGS);
  assert.is(out.response.allowed, true);
  assert.is(out.response.patch, undefined);
  assert.match(out.response.warnings![0]!, /not protected/);
});

test('something that is not an AdmissionReview is refused (the server answers 400)', () => {
  assert.throws(() => admit({ apiVersion: 'v1', kind: 'Pod' } as AdmissionReview, policiesOf, DEFAULT_INJECTION_SETTINGS), /AdmissionReview/);
  assert.throws(() => admit(null as unknown as AdmissionReview, policiesOf, DEFAULT_INJECTION_SETTINGS), /AdmissionReview/);
});

test.run();
