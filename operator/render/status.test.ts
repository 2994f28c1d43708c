// Conditions after KEP-1623 and the Ready summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Condition, DicomAccessPolicyStatus } from '../api/v1alpha1.ts';
import { RenderError } from './errors.ts';
import { computeStatus, conditionTime, setCondition, statusEqual, type StatusInput } from './status.ts';

const t0 = new Date('2025-01-01T00:00:00.123Z');
const t1 = new Date('2025-01-02T00:00:00Z');

test('setCondition: a new condition starts now (to the second)', () => {
  assert.equal(setCondition([], { type: 'Ready', status: 'True', observedGeneration: 1, reason: 'Reconciled', message: 'ok' }, t0), [
    { type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'Reconciled', message: 'ok' },
  ]);
});

test('setCondition: the same status keeps its transition time; reason, message and generation move', () => {
  const before = setCondition([], { type: 'Ready', status: 'False', observedGeneration: 1, reason: 'ConfigNotRendered', message: 'a' }, t0);
  const after = setCondition(before, { type: 'Ready', status: 'False', observedGeneration: 2, reason: 'CertificateNotReady', message: 'b' }, t1);
  assert.equal(after, [{ type: 'Ready', status: 'False', observedGeneration: 2, lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'CertificateNotReady', message: 'b' }]);
});

test('setCondition: a flip moves the transition time; other conditions and the order stay', () => {
  const other: Condition = { type: 'ConfigRendered', status: 'True', observedGeneration: 1, lastTransitionTime: '2024-12-31T00:00:00Z', reason: 'Rendered', message: '' };
  const before = setCondition([other], { type: 'Ready', status: 'False', observedGeneration: 1, reason: 'X', message: '' }, t0);
  const after = setCondition(before, { type: 'Ready', status: 'True', observedGeneration: 1, reason: 'Reconciled', message: '' }, t1);
  assert.equal(after.map((c) => [c.type, c.lastTransitionTime]), [
    ['ConfigRendered', '2024-12-31T00:00:00Z'],
    ['Ready', conditionTime(t1)],
  ]);
});

const base: StatusInput = {
  policy: { metadata: { name: 'main-pacs', namespace: 'imaging', uid: 'u', generation: 3, creationTimestamp: '2025-01-01T00:00:00Z' } },
  matchedPods: 2,
  protectedPods: 2,
  networkPolicy: { state: 'Applied' },
  certificate: { state: 'Ready' },
};

const get = (status: DicomAccessPolicyStatus, type: string) => status.conditions?.find((c) => c.type === type);

const readyCases: [string, Partial<StatusInput>, string, string, RegExp][] = [
  ['everything in place', {}, 'True', 'Reconciled', /all 2 matched pods are protected/],
  ['no pods match', { matchedPods: 0, protectedPods: 0 }, 'True', 'Reconciled', /no pods match the selector/],
  [
    'a missing Secret',
    { renderError: new RenderError('imaging/main-pacs', [{ reason: 'SecretNotFound', message: 'Secret imaging/pacs-users (spec.identity.htpasswdSecretRef) does not exist' }]) },
    'False',
    'ConfigNotRendered',
    /ConfigRendered: Secret imaging\/pacs-users/,
  ],
  ['the NetworkPolicy could not be applied', { networkPolicy: { state: 'Failed', message: 'forbidden' } }, 'False', 'NetworkPolicyNotReady', /NetworkPolicyReady: forbidden/],
  ['the certificate is not issued yet', { certificate: { state: 'NotReady', reason: 'Pending', message: 'Issuing certificate as Secret does not exist' } }, 'False', 'CertificateNotReady', /Issuing certificate/],
  ['an older policy holds some pods', { conflicts: { 'orthanc-1': 'old-policy', 'orthanc-0': 'old-policy' } }, 'False', 'Conflict', /orthanc-0 \(old-policy\), orthanc-1 \(old-policy\)/],
  ['pods without the current config', { protectedPods: 1 }, 'False', 'PodsNotProtected', /1 of 2 matched pods/],
  ['TLS and the NetworkPolicy off', { networkPolicy: { state: 'Disabled' }, certificate: { state: 'Disabled' } }, 'True', 'Reconciled', /protected/],
];

for (const [name, change, status, reason, message] of readyCases) {
  test(`computeStatus Ready: ${name}`, () => {
    const result = computeStatus({ ...base, ...change }, t0);
    const ready = get(result, 'Ready')!;
    assert.equal([ready.status, ready.reason], [status, reason]);
    assert.match(ready.message, message);
    assert.equal(result.conditions?.map((c) => c.type), ['Ready', 'ConfigRendered', 'NetworkPolicyReady', 'CertificateReady']);
    for (const c of result.conditions ?? []) assert.is(c.observedGeneration, 3);
    assert.equal([result.observedGeneration, result.matchedPods, result.protectedPods], [3, change.matchedPods ?? 2, change.protectedPods ?? 2]);
  });
}

test('computeStatus: the parts say why', () => {
  const result = computeStatus(
    {
      ...base,
      renderError: new RenderError('imaging/main-pacs', [{ reason: 'SecretKeyNotFound', message: 'Secret imaging/x has no key "htpasswd"' }]),
      networkPolicy: { state: 'Disabled' },
      certificate: { state: 'NotReady', message: 'issuer not found' },
    },
    t0,
  );
  assert.equal(get(result, 'ConfigRendered'), { type: 'ConfigRendered', status: 'False', observedGeneration: 3, lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'SecretKeyNotFound', message: 'Secret imaging/x has no key "htpasswd"' });
  assert.equal([get(result, 'NetworkPolicyReady')?.status, get(result, 'NetworkPolicyReady')?.reason], ['True', 'Disabled']);
  assert.equal([get(result, 'CertificateReady')?.status, get(result, 'CertificateReady')?.reason], ['False', 'NotIssued']);
});

test('computeStatus: unresolved peers are named in ConfigRendered', () => {
  const result = computeStatus({ ...base, unresolvedPeers: ['viewers'] }, t0);
  assert.match(get(result, 'ConfigRendered')!.message, /from selects no pod yet.*viewers/);
});

test('computeStatus again with nothing changed: an equal status (nothing to write)', () => {
  const first = computeStatus(base, t0);
  const second = computeStatus({ ...base, policy: { ...base.policy, status: first } }, t1);
  assert.ok(statusEqual(first, second));
  const flipped = computeStatus({ ...base, protectedPods: 1, policy: { ...base.policy, status: first } }, t1);
  assert.not.ok(statusEqual(first, flipped));
  assert.is(get(flipped, 'Ready')?.lastTransitionTime, conditionTime(t1));
  assert.is(get(flipped, 'ConfigRendered')?.lastTransitionTime, conditionTime(t0));
});

test('statusEqual: key order and condition order do not matter', () => {
  const status = computeStatus(base, t0);
  const reordered: DicomAccessPolicyStatus = JSON.parse(JSON.stringify({ protectedPods: status.protectedPods, conditions: [...status.conditions!].reverse(), matchedPods: status.matchedPods, observedGeneration: status.observedGeneration }));
  assert.ok(statusEqual(status, reordered));
  assert.not.ok(statusEqual(status, undefined));
});

test.run();
