// From the outcome of each owned object to the conditions a policy reports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { validPolicies } from '../api/fixtures.ts';
import { desiredObjects } from '../render/desired.ts';
import type { OwnedObject } from './cached.ts';
import { certificateState, networkPolicyState, policyStatus, type Outcomes, type PolicyStatusInput } from './policy-status.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');
const policy = asStored(validPolicies.find((f) => f.name === 'mutual-tls')!.policy, { uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z', generation: 4 });
const desired = desiredObjects({ policy, peerPods: {}, secrets: { 'modality-ca': { 'ca.crt': 'Yw==' } } });
const certificate = (ready?: OwnedObject['ready'], generation = 2): OwnedObject => ({ kind: 'Certificate', metadata: { name: 'c', namespace: 'imaging', generation }, ...(ready ? { ready } : {}) });
const live = (kind: string): OwnedObject => ({ kind, metadata: { name: 'x', namespace: 'imaging' } });

const allGood: Outcomes = {
  NetworkPolicy: { state: 'current', live: live('NetworkPolicy') },
  Certificate: { state: 'current', live: certificate({ status: 'True', observedGeneration: 2 }) },
  ConfigMap: { state: 'applied', live: live('ConfigMap') },
  Secret: { state: 'current', live: live('Secret') },
  RoleBinding: { state: 'current', live: live('RoleBinding') },
};
const base: PolicyStatusInput = {
  policy,
  known: undefined,
  desired,
  outcomes: allGood,
  counts: { matchedPods: 1, protectedPods: 1, conflicts: {}, byProtection: { protected: 1 } },
  unresolvedPeers: [],
  certificateName: 'mutual-tls-dicom-guard-tls',
};
const condition = (status: ReturnType<typeof policyStatus>, type: string) => status.conditions?.find((c) => c.type === type);

test('certificateState: Ready only for the generation we applied', () => {
  assert.equal(certificateState({ state: 'current', live: certificate({ status: 'True', observedGeneration: 2 }) }, 'c'), { state: 'Ready' });
  assert.equal(certificateState({ state: 'applied', live: certificate({ status: 'True', observedGeneration: 1 }, 2) }, 'c'), {
    state: 'NotReady',
    reason: 'Pending',
    message: 'waiting for cert-manager to issue Certificate c',
  });
  assert.equal(certificateState({ state: 'applied', live: certificate() }, 'c').state, 'NotReady');
  assert.equal(certificateState({ state: 'current', live: certificate({ status: 'False', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist', observedGeneration: 2 }) }, 'c'), {
    state: 'NotReady',
    reason: 'DoesNotExist',
    message: 'Certificate c: Issuing certificate as Secret does not exist',
  });
});

test('certificateState: cert-manager absent says so; TLS off is Disabled', () => {
  const missing = certificateState({ state: 'not-served' }, 'c');
  assert.is(missing.state === 'NotReady' && missing.reason, 'CertManagerNotInstalled');
  assert.match(missing.state === 'NotReady' ? missing.message : '', /cert-manager is not installed: the API server does not serve certificates\.cert-manager\.io\/v1/);
  assert.equal(certificateState({ state: 'absent' }, 'c'), { state: 'Disabled' });
  assert.equal(certificateState({ state: 'deleted' }, 'c'), { state: 'Disabled' });
});

test('networkPolicyState', () => {
  assert.equal(networkPolicyState({ state: 'applied', live: live('NetworkPolicy') }), { state: 'Applied' });
  assert.equal(networkPolicyState({ state: 'failed', reason: 'Forbidden', message: 'no' }), { state: 'Failed', message: 'no' });
  assert.equal(networkPolicyState({ state: 'absent' }), { state: 'Disabled' });
});

test('all in place: Ready, every condition at the policy generation', () => {
  const status = policyStatus(base, t0);
  assert.is(condition(status, 'Ready')?.status, 'True');
  assert.equal(
    status.conditions?.map((c) => [c.type, c.status, c.observedGeneration]),
    [
      ['Ready', 'True', 4],
      ['ConfigRendered', 'True', 4],
      ['NetworkPolicyReady', 'True', 4],
      ['CertificateReady', 'True', 4],
    ],
  );
});

test('a ConfigMap that could not be written: ConfigRendered and Ready False, transition times against the status as it was', () => {
  const before = policyStatus(base, t0);
  const failed = policyStatus({ ...base, known: before, outcomes: { ...allGood, ConfigMap: { state: 'failed', reason: 'Forbidden', message: 'could not apply ConfigMap imaging/x: forbidden' } } }, t1);
  assert.equal(condition(failed, 'ConfigRendered'), {
    type: 'ConfigRendered',
    status: 'False',
    observedGeneration: 4,
    lastTransitionTime: '2026-01-01T01:00:00Z',
    reason: 'ApplyFailed',
    message: 'could not apply ConfigMap imaging/x: forbidden',
  });
  assert.equal([condition(failed, 'Ready')?.status, condition(failed, 'Ready')?.reason], ['False', 'ConfigNotRendered']);
  assert.is(condition(failed, 'NetworkPolicyReady')?.lastTransitionTime, '2026-01-01T00:00:00Z', 'unchanged conditions keep their time');
  // Failing again an hour later: the transition stays where it was.
  const again = policyStatus({ ...base, known: failed, outcomes: { ...allGood, ConfigMap: { state: 'failed', reason: 'Forbidden', message: 'could not apply ConfigMap imaging/x: forbidden' } } }, new Date('2026-01-01T02:00:00Z'));
  assert.is(condition(again, 'Ready')?.lastTransitionTime, '2026-01-01T01:00:00Z');
  assert.is(condition(again, 'ConfigRendered')?.lastTransitionTime, '2026-01-01T01:00:00Z');
});

test('a missing Secret: the render error names Secret and key, the kept ConfigMap is not a failure', () => {
  const missing = desiredObjects({ policy, peerPods: {}, secrets: {} });
  const status = policyStatus({ ...base, desired: missing, outcomes: { ...allGood, ConfigMap: { state: 'kept' }, Secret: { state: 'kept' } } }, t0);
  assert.equal([condition(status, 'ConfigRendered')?.status, condition(status, 'ConfigRendered')?.reason], ['False', 'SecretNotFound']);
  assert.match(condition(status, 'Ready')!.message, /Secret imaging\/modality-ca \(spec\.tls\.clientCASecretRef\) does not exist/);
});

test.run();
