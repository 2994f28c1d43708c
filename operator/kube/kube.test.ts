// The pure parts of the Kubernetes glue: URLs, backoff, the watch framing, Events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Backoff, backoffDelay } from './backoff.ts';
import { EventDeduplicator, eventObject, microTime, type EventInput } from './events.ts';
import { objectKey, resourcePath, RESOURCES, splitKey } from './resources.ts';
import { LineSplitter, parseWatchEvent } from './watch-events.ts';

test('resourcePath: core and named groups, namespaced and cluster-wide, subresources', () => {
  assert.is(resourcePath(RESOURCES.pods), '/api/v1/pods');
  assert.is(resourcePath(RESOURCES.pods, { namespace: 'imaging' }), '/api/v1/namespaces/imaging/pods');
  assert.is(resourcePath(RESOURCES.policies, { namespace: 'imaging', name: 'main', subresource: 'status' }), '/apis/dicomguard.io/v1alpha1/namespaces/imaging/dicomaccesspolicies/main/status');
  assert.is(resourcePath(RESOURCES.namespaces, { namespace: 'ignored', name: 'imaging' }), '/api/v1/namespaces/imaging');
  assert.is(resourcePath(RESOURCES.leases, { namespace: 'ns', name: 'a b' }), '/apis/coordination.k8s.io/v1/namespaces/ns/leases/a%20b');
  assert.equal(splitKey(objectKey('imaging', 'main')), { namespace: 'imaging', name: 'main' });
  assert.is(objectKey(undefined, 'imaging'), 'imaging');
});

test('backoff: doubles to the cap, jitter only lengthens, reset starts over', () => {
  const options = { initialMs: 500, maxMs: 10_000, jitter: 0.2 };
  assert.equal([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, options, 0)), [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.is(backoffDelay(0, options, 0.999), 600);
  assert.is(backoffDelay(10, options, 0.999), 10_000, 'never past the cap');
  const backoff = new Backoff(options, () => 0);
  assert.equal([backoff.next(), backoff.next(), backoff.next()], [500, 1000, 2000]);
  backoff.reset();
  assert.is(backoff.next(), 500);
});

test('LineSplitter: events split anywhere across chunks, even inside a UTF-8 character', () => {
  const text = '{"type":"ADDED","object":{"metadata":{"name":"ä"}}}\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}\n';
  const bytes = Buffer.from(text);
  for (let cut = 1; cut < bytes.length; cut += 7) {
    const splitter = new LineSplitter();
    const lines = [...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut)), ...splitter.end()];
    assert.equal(lines.map((l) => parseWatchEvent(l).type), ['ADDED', 'BOOKMARK'], `cut at ${cut}`);
    assert.is(parseWatchEvent(lines[0]!).object.metadata?.name, 'ä');
  }
  const last = new LineSplitter();
  assert.equal(last.push('{"type":"DELETED","object":{}}'), []);
  assert.equal(last.end(), ['{"type":"DELETED","object":{}}'], 'a last line without a newline');
});

test('parseWatchEvent refuses what is not an event', () => {
  assert.throws(() => parseWatchEvent('{"kind":"Status"}'), /not a watch event/);
  assert.throws(() => parseWatchEvent('{"type":"ADDED"}'), /not a watch event/);
  assert.is(parseWatchEvent('{"type":"ERROR","object":{"kind":"Status","code":410}}').object.code, 410);
});

const input: EventInput = {
  regarding: { apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'main', namespace: 'imaging', uid: 'u1' },
  type: 'Warning',
  reason: 'SecretNotFound',
  action: 'Render',
  note: 'Secret imaging/pacs-users (spec.identity.htpasswdSecretRef) does not exist',
};

test('eventObject: an events.k8s.io/v1 Event with MicroTime and the reporter', () => {
  const now = new Date('2026-01-01T00:00:00.123Z');
  assert.is(microTime(now), '2026-01-01T00:00:00.123000Z');
  assert.equal(eventObject(input, { controller: 'dicomguard.io/operator', instance: 'pod-1' }, now, 'abc'), {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: 'main.abc', namespace: 'imaging' },
    eventTime: '2026-01-01T00:00:00.123000Z',
    reportingController: 'dicomguard.io/operator',
    reportingInstance: 'pod-1',
    action: 'Render',
    reason: 'SecretNotFound',
    regarding: input.regarding,
    note: input.note,
    type: 'Warning',
  });
  const long = eventObject({ ...input, note: 'x'.repeat(5000) }, { controller: 'c', instance: 'i'.repeat(300) }, now, 'abc');
  assert.is((long.note as string).length, 1024, 'the API server refuses notes over 1 kB');
  assert.is((long.reportingInstance as string).length, 128);
});

test('EventDeduplicator: the same event once per window; another note or object is another event', () => {
  const dedupe = new EventDeduplicator(60_000, 3);
  assert.ok(dedupe.admit(input, 0));
  assert.not.ok(dedupe.admit(input, 59_999));
  assert.ok(dedupe.admit({ ...input, note: 'other' }, 1));
  assert.ok(dedupe.admit({ ...input, regarding: { ...input.regarding, uid: 'u2' } }, 1));
  assert.ok(dedupe.admit(input, 60_000), 'after the window');
  // Bounded: the oldest entries go first.
  for (let i = 0; i < 10; i++) dedupe.admit({ ...input, note: `n${i}` }, 60_001);
  assert.ok(dedupe.admit({ ...input, note: 'n0' }, 60_002), 'evicted by newer ones');
});

test.run();
