// "Does this apply change anything": desired objects from the real renderer against live
// objects as the API server returns them (defaults, other managers' fields, our stamp).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { validPolicies } from '../api/fixtures.ts';
import type { KubeObject } from '../kube/client.ts';
import { desiredObjects } from '../render/desired.ts';
import { ownedFromObject } from './cached.ts';
import { APPLIED_HASH_ANNOTATION, applyVerdict, canonicalJson, contains, controlledBy, PendingWrites, stamp } from './diff.ts';

const policy = asStored(validPolicies.find((f) => f.name === 'api-md-example')!.policy, { uid: 'uid-1', creationTimestamp: '2026-01-01T00:00:00Z' });
const secrets = { 'pacs-users': { htpasswd: 'YQ==' }, 'keycloak-jwks': { 'jwks.json': 'e30=' }, 'modality-ca': { 'ca.crt': 'Yw==' } };
const desired = desiredObjects({ policy, peerPods: { 'viewer-pods': [{ namespace: 'radiology', name: 'v', ips: ['10.1.2.3'], phase: 'Running' }] }, secrets });
// The rendered objects are wire-format JSON: any of them is a KubeObject.
const wire = (object: object): KubeObject => object as KubeObject;
const objects: Record<string, KubeObject> = { networkPolicy: wire(desired.networkPolicy!), certificate: wire(desired.certificate!), configMap: wire(desired.configMap!), identitySecret: wire(desired.identitySecret!) };

/** What the API server hands back after our apply: server metadata, defaults, other managers' additions. */
function asServed(object: KubeObject, changes: (o: KubeObject & Record<string, unknown>) => void = () => {}): KubeObject {
  const served = structuredClone(object) as KubeObject & Record<string, unknown>;
  served.metadata = {
    ...served.metadata,
    uid: 'obj-uid',
    resourceVersion: '100',
    generation: 1,
    creationTimestamp: '2026-01-01T00:00:01Z',
    labels: { ...served.metadata?.labels, 'team.example.org/owner': 'radiology' },
    annotations: { ...served.metadata?.annotations, 'kubectl.kubernetes.io/restartedAt': 'x' },
  };
  changes(served);
  return served;
}

for (const [name, object] of Object.entries(objects)) {
  test(`${name}: what we applied, as served back with extra fields of others, is unchanged`, () => {
    const stamped = stamp(object);
    const live = ownedFromObject(asServed(stamped), object.kind);
    assert.is(applyVerdict(stamped, live), 'unchanged');
  });
  test(`${name}: absent -> missing`, () => assert.is(applyVerdict(stamp(object), undefined), 'missing'));
}

test('stamp: the hash covers everything but itself; stamping twice is stamping once', () => {
  const once = stamp(objects.configMap!);
  const twice = stamp(once);
  assert.is(twice.metadata?.annotations?.[APPLIED_HASH_ANNOTATION], once.metadata?.annotations?.[APPLIED_HASH_ANNOTATION]);
  assert.match(once.metadata!.annotations![APPLIED_HASH_ANNOTATION]!, /^[0-9a-f]{64}$/);
  assert.is(once.metadata?.annotations?.['dicomguard.io/config-sha256'], desired.configSha256, 'the rendered annotations stay');
});

test('a field we stopped setting (an except removed) is a change, though what remains is contained', () => {
  const withPeer = (ipBlock: { cidr: string; except?: string[] }) =>
    stamp(wire(desiredObjects({ policy: { ...policy, spec: { ...policy.spec, peers: [{ name: 'ct', aeTitles: ['CT01'], ipBlocks: [ipBlock] }] } }, peerPods: {}, secrets }).networkPolicy!));
  const before = withPeer({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] });
  const after = withPeer({ cidr: '10.0.0.0/8' });
  const live = ownedFromObject(asServed(before), 'NetworkPolicy');
  assert.is(applyVerdict(after, live), 'changed');
});

test('a Secret key no longer referenced is a change', () => {
  const withCa = stamp(objects.identitySecret!);
  const { 'client-ca.crt': _gone, ...rest } = (objects.identitySecret as { data: Record<string, string> }).data;
  const withoutCa = stamp({ ...objects.identitySecret!, data: rest });
  assert.is(applyVerdict(withoutCa, ownedFromObject(asServed(withCa), 'Secret')), 'changed');
});

test('drift: someone edited a field we own (kubectl edit), the stamp unchanged', () => {
  const stamped = stamp(objects.networkPolicy!);
  const edited = asServed(stamped, (o) => {
    (o.spec as { ingress: unknown[] }).ingress = [];
  });
  assert.is(applyVerdict(stamped, ownedFromObject(edited, 'NetworkPolicy')), 'drifted');
  const cm = stamp(objects.configMap!);
  const editedCm = asServed(cm, (o) => {
    (o.data as Record<string, string>)['sidecar.yaml'] = 'hacked';
  });
  assert.is(applyVerdict(cm, ownedFromObject(editedCm, 'ConfigMap')), 'drifted', 'compared by digest');
  const relabelled = asServed(cm, (o) => {
    o.metadata!.labels!['dicomguard.io/policy'] = 'other';
  });
  assert.is(applyVerdict(cm, ownedFromObject(relabelled, 'ConfigMap')), 'drifted');
});

test('ownerReferences compare by uid: another owner added by someone else is not drift', () => {
  const stamped = stamp(objects.configMap!);
  const shared = asServed(stamped, (o) => {
    o.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'other' }, ...o.metadata!.ownerReferences!];
  });
  assert.is(applyVerdict(stamped, ownedFromObject(shared, 'ConfigMap')), 'unchanged');
  const lost = asServed(stamped, (o) => {
    o.metadata!.ownerReferences = [];
  });
  assert.is(applyVerdict(stamped, ownedFromObject(lost, 'ConfigMap')), 'drifted');
});

test('a NetworkPolicy without peers (ingress: []) read back without ingress is unchanged (Go omitempty), not drift for ever', () => {
  const minimal = asStored(validPolicies.find((f) => f.name === 'minimal')!.policy, { uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' });
  const stamped = stamp(wire(desiredObjects({ policy: minimal, peerPods: {}, secrets: {} }).networkPolicy!));
  assert.equal((stamped.spec as { ingress: unknown[] }).ingress, []);
  const served = asServed(stamped, (o) => {
    delete (o.spec as { ingress?: unknown[] }).ingress;
  });
  assert.is(applyVerdict(stamped, ownedFromObject(served, 'NetworkPolicy')), 'unchanged');
  assert.ok(contains({ a: [], b: {}, c: false }, {}));
  assert.not.ok(contains({ a: [] }, { a: [1] }), 'present and different is still different');
});

test('contains: maps are subsets, other lists compare whole, scalars exactly', () => {
  assert.ok(contains({ a: 1 }, { a: 1, b: 2 }));
  assert.not.ok(contains({ a: 1, b: 2 }, { a: 1 }));
  assert.ok(contains({ l: [{ x: 1 }] }, { l: [{ x: 1, y: 2 }] }), 'defaults inside list items are fine');
  assert.not.ok(contains({ l: [1] }, { l: [1, 2] }), 'an extra item in an atomic list is not');
  assert.not.ok(contains({ a: '1' }, { a: 1 }));
  assert.ok(contains({ a: undefined }, {}), 'undefined is "not set"');
});

test('controlledBy: only a controller reference with our uid counts', () => {
  const live = ownedFromObject(asServed(stamp(objects.configMap!)), 'ConfigMap');
  assert.ok(controlledBy(live, 'uid-1'));
  assert.not.ok(controlledBy(live, 'uid-2'));
  assert.not.ok(controlledBy({ metadata: { ...live.metadata, ownerReferences: [{ ...live.metadata.ownerReferences![0]!, controller: false }] } }, 'uid-1'));
});

test('canonicalJson: key order does not matter, list order does', () => {
  assert.is(canonicalJson({ b: 1, a: { d: 1, c: 2 } }), canonicalJson({ a: { c: 2, d: 1 }, b: 1 }));
  assert.is.not(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

test('PendingWrites: a write stands while the cache shows the version it had; then it is forgotten', () => {
  const pending = new PendingWrites<string>();
  pending.remember('ns/p#ConfigMap', 'hash-1', '10');
  assert.is(pending.get('ns/p#ConfigMap', '10'), 'hash-1');
  assert.is(pending.get('ns/p#ConfigMap', '11'), undefined, 'the cache caught up');
  assert.is(pending.get('ns/p#ConfigMap', '10'), undefined, 'and it is gone');
  pending.remember('ns/p#Secret', 'h', undefined);
  assert.is(pending.get('ns/p#Secret', undefined), 'h', 'created: the cache had nothing');
  pending.remember('ns/q#status', 's', '1');
  pending.forgetPrefix('ns/p#');
  assert.is(pending.size, 1);
});

test.run();
