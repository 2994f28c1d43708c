// Leader election decisions as a pure function of (lease, observation, now, identity).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideLease, DEFAULT_TIMING, heldUntil, observe, releasedSpec, renewalOverdue, type LeaseSpec, type Observation } from './lease.ts';

const timing = DEFAULT_TIMING;
const t0 = Date.parse('2026-01-01T00:00:00Z');
const seen = (spec: LeaseSpec, resourceVersion = '1', observedAt = t0): Observation => ({ spec, resourceVersion, observedAt });
const held = (holder: string, extra: LeaseSpec = {}): LeaseSpec => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: '2025-12-31T23:00:00.000000Z',
  renewTime: '2026-01-01T00:00:00.000000Z',
  leaseTransitions: 3,
  ...extra,
});

test('no Lease: create it, holding it, with MicroTime timestamps', () => {
  const decision = decideLease(undefined, t0, 'me', timing);
  assert.equal(decision, {
    kind: 'create',
    spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 0 },
  });
});

test('held by another and fresh: wait until observedAt + its leaseDuration', () => {
  const decision = decideLease(seen(held('other')), t0 + 14_999, 'me', timing);
  assert.equal(decision, { kind: 'held', holder: 'other', expiresAt: t0 + 15_000 });
});

test("expiry runs on our clock from when we saw the record, not from the holder's renewTime (clock skew)", () => {
  // The holder's clock is an hour behind: its renewTime looks ancient, yet we saw it renew just now.
  const skewed = held('other', { renewTime: '2025-12-31T23:00:00.000000Z' });
  assert.is(decideLease(seen(skewed), t0 + 1000, 'me', timing).kind, 'held');
});

test('held by another but expired: take it over with the resourceVersion read, transitions + 1', () => {
  const decision = decideLease(seen(held('other'), '42'), t0 + 15_000, 'me', timing);
  assert.equal(decision, {
    kind: 'update',
    resourceVersion: '42',
    acquiring: true,
    spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:15.000000Z', renewTime: '2026-01-01T00:00:15.000000Z', leaseTransitions: 4 },
  });
});

test('held by us: renew, keeping acquireTime and transitions', () => {
  const decision = decideLease(seen(held('me'), '7'), t0 + 2000, 'me', timing);
  assert.equal(decision, {
    kind: 'update',
    resourceVersion: '7',
    acquiring: false,
    spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2025-12-31T23:00:00.000000Z', renewTime: '2026-01-01T00:00:02.000000Z', leaseTransitions: 3 },
  });
});

test('released (empty holder): taken at once, however recently it was written', () => {
  const released = releasedSpec(held('other'), t0);
  assert.equal(released, { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 3 });
  const decision = decideLease(seen(released), t0, 'me', timing);
  assert.is(decision.kind, 'update');
  assert.is(heldUntil(seen(released)), undefined);
});

test("observe: the same resourceVersion keeps the first sighting's time; a new one restarts the clock", () => {
  const first = observe(undefined, { spec: held('other'), resourceVersion: '1' }, t0)!;
  assert.is(first.observedAt, t0);
  assert.is(observe(first, { spec: held('other'), resourceVersion: '1' }, t0 + 10_000)!.observedAt, t0, 'not renewed: the lease runs out');
  assert.is(observe(first, { spec: held('other'), resourceVersion: '2' }, t0 + 10_000)!.observedAt, t0 + 10_000, 'renewed');
  assert.is(observe(first, undefined, t0), undefined, 'deleted');
  // A leader that stopped renewing loses the lease 15 s after we last saw it change.
  const stale = observe(first, { spec: held('other'), resourceVersion: '1' }, t0 + 15_000)!;
  assert.is(decideLease(stale, t0 + 15_000, 'me', timing).kind, 'update');
});

test("the holder's own leaseDurationSeconds counts (a release sets 1 s)", () => {
  const short = seen(held('other', { leaseDurationSeconds: 1 }));
  assert.is(decideLease(short, t0 + 999, 'me', timing).kind, 'held');
  assert.is(decideLease(short, t0 + 1000, 'me', timing).kind, 'update');
});

test('renewalOverdue: the leader gives up after renewDeadline without a successful renewal', () => {
  assert.not.ok(renewalOverdue(t0, t0 + 9_999, timing));
  assert.ok(renewalOverdue(t0, t0 + 10_000, timing));
});

test('two candidates after expiry both try to update the same resourceVersion (the API server lets one win)', () => {
  const lease = seen(held('old'), '9');
  const a = decideLease(lease, t0 + 20_000, 'a', timing);
  const b = decideLease(lease, t0 + 20_000, 'b', timing);
  assert.ok(a.kind === 'update' && b.kind === 'update');
  assert.is(a.kind === 'update' && a.resourceVersion, '9');
  assert.is(b.kind === 'update' && b.resourceVersion, '9');
});

test.run();
