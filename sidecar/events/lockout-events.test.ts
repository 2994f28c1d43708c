// Lockouts as Events: what one says, and how a scan from many addresses is summarised.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventObject } from '../../operator/kube/events.ts';
import { LockoutEvents, lockoutNote, type SourceLockout } from './lockout-events.ts';
import { podFromEnv } from './pod.ts';

const pod = { name: 'orthanc-0', namespace: 'imaging', uid: 'pod-uid', policy: 'main-pacs' };
const lockout = (source: string): SourceLockout => ({ source, max: 5, windowSeconds: 60, blockSeconds: 300, lastRefusal: 'calling AE title "SCANNER" is not a peer of this PACS', callingAETitle: 'SCANNER' });
const limits = { burst: 3, windowMs: 60_000, listed: 2 };

test('podFromEnv: the downward API variables the webhook sets; none outside a pod', () => {
  assert.equal(podFromEnv({ DICOMGUARD_POD_NAME: 'orthanc-0', DICOMGUARD_POD_NAMESPACE: 'imaging', DICOMGUARD_POD_UID: 'pod-uid', DICOMGUARD_POLICY: 'main-pacs' }), pod);
  assert.equal(podFromEnv({ DICOMGUARD_POD_NAME: 'orthanc-0', DICOMGUARD_POD_NAMESPACE: 'imaging' }), { name: 'orthanc-0', namespace: 'imaging' });
  assert.is(podFromEnv({ DICOMGUARD_POD_NAME: 'orthanc-0' }), undefined);
  assert.is(podFromEnv({}), undefined);
});

test('one lockout: a Warning on the pod, related to the policy, saying who, how long and why', () => {
  const [event, ...rest] = new LockoutEvents(pod, limits).lockout(lockout('203.0.113.7'), 0);
  assert.is(rest.length, 0);
  assert.equal(event!.regarding, { apiVersion: 'v1', kind: 'Pod', name: 'orthanc-0', namespace: 'imaging', uid: 'pod-uid' });
  assert.equal(event!.related, { apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'main-pacs', namespace: 'imaging' });
  assert.equal([event!.type, event!.reason, event!.action], ['Warning', 'SourceBlocked', 'Block']);
  assert.is(
    event!.note,
    'source address 203.0.113.7 (calling AE title "SCANNER") locked out for 300 s after 5 refused connections within 60 s (limits.failedAttempts); the last: calling AE title "SCANNER" is not a peer of this PACS',
  );
  const wire = eventObject(event!, { controller: 'dicomguard.io/sidecar', instance: 'orthanc-0' }, new Date(0), '1');
  assert.equal([wire.apiVersion, wire.kind, wire.reportingController, wire.metadata?.namespace], ['events.k8s.io/v1', 'Event', 'dicomguard.io/sidecar', 'imaging']);
});

test('a probe without an AE title (a port scan) is named by address only', () => {
  const { callingAETitle: _, ...probe } = lockout('198.51.100.1');
  assert.ok(lockoutNote(probe).startsWith('source address 198.51.100.1 locked out'));
});

test('a scan from many addresses: `burst` Events one by one, the rest in one summary when the window ends', () => {
  const events = new LockoutEvents(pod, limits);
  const sent = [1, 2, 3, 4, 5, 6].flatMap((i) => events.lockout(lockout(`192.0.2.${i}`), i * 1000));
  assert.equal(sent.map((e) => e.note.split(' ')[2]), ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
  assert.is(events.summaryDue, 1000 + 60_000, 'due when the window that began with the first lockout ends');
  assert.is(events.summary(60_000), undefined, 'not before');
  const summary = events.summary(61_000)!;
  assert.is(summary.reason, 'SourceBlocked');
  assert.match(summary.note, /^3 more source addresses locked out within 60 s, past the 3 reported one by one: 192\.0\.2\.4, 192\.0\.2\.5 and 1 more /);
  assert.is(events.summaryDue, undefined, 'sent once');
  assert.is(events.summary(200_000), undefined);
  assert.is(events.lockout(lockout('192.0.2.9'), 62_000).length, 1, 'a new window: one by one again');
});

test('a lockout after the window sends the held summary first, then its own', () => {
  const events = new LockoutEvents(pod, { ...limits, burst: 1 });
  events.lockout(lockout('192.0.2.1'), 0);
  assert.equal(events.lockout(lockout('192.0.2.2'), 10), []);
  const next = events.lockout(lockout('192.0.2.3'), 70_000);
  assert.equal(next.map((e) => e.note.split(' ').slice(0, 3).join(' ')), ['1 more source', 'source address 192.0.2.3']);
});

test.run();
