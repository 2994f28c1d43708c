// Label selectors, "does this policy select this pod", and which policy wins a pod.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DicomAccessPolicy, LabelSelector } from '../api/v1alpha1.ts';
import { conflicts, labelSelectorMatches, selects, type Labels } from './selection.ts';

const matchCases: [string, LabelSelector, Labels, boolean][] = [
  ['empty selector matches everything', {}, { any: 'thing' }, true],
  ['empty selector matches no labels', {}, {}, true],
  ['matchLabels equal', { matchLabels: { app: 'orthanc' } }, { app: 'orthanc', tier: 'db' }, true],
  ['matchLabels different value', { matchLabels: { app: 'orthanc' } }, { app: 'dcm4chee' }, false],
  ['matchLabels missing label', { matchLabels: { app: 'orthanc' } }, {}, false],
  ['matchLabels are ANDed', { matchLabels: { app: 'orthanc', tier: 'db' } }, { app: 'orthanc' }, false],
  ['In: value listed', { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'orthanc'] }] }, { app: 'orthanc' }, true],
  ['In: value not listed', { matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }] }, { app: 'orthanc' }, false],
  ['In: label missing', { matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }] }, {}, false],
  ['NotIn: value listed', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['orthanc'] }] }, { app: 'orthanc' }, false],
  ['NotIn: other value', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['orthanc'] }] }, { app: 'x' }, true],
  ['NotIn: label missing matches', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['orthanc'] }] }, {}, true],
  ['Exists: present (even empty)', { matchExpressions: [{ key: 'canary', operator: 'Exists' }] }, { canary: '' }, true],
  ['Exists: missing', { matchExpressions: [{ key: 'canary', operator: 'Exists' }] }, {}, false],
  ['DoesNotExist: missing', { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] }, { app: 'x' }, true],
  ['DoesNotExist: present', { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] }, { canary: 'yes' }, false],
  [
    'matchLabels and matchExpressions are ANDed',
    { matchLabels: { app: 'orthanc' }, matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] },
    { app: 'orthanc', canary: 'yes' },
    false,
  ],
  ['an inherited property is no label', { matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {}, false],
];

for (const [name, selector, labels, expected] of matchCases) {
  test(`labelSelectorMatches: ${name}`, () => assert.is(labelSelectorMatches(selector, labels), expected));
}

function policy(name: string, creationTimestamp: string, selector: LabelSelector, namespace = 'imaging'): Pick<DicomAccessPolicy, 'metadata' | 'spec'> {
  return {
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1, creationTimestamp },
    spec: { selector } as DicomAccessPolicy['spec'],
  };
}

const orthanc = { labels: { app: 'orthanc', tier: 'pacs' } };

test('selects: same namespace and matching labels', () => {
  assert.ok(selects(policy('p', '2025-01-01T00:00:00Z', { matchLabels: { app: 'orthanc' } }), orthanc, 'imaging'));
});

test('selects: a policy protects pods in its own namespace only', () => {
  assert.not.ok(selects(policy('p', '2025-01-01T00:00:00Z', { matchLabels: { app: 'orthanc' } }), orthanc, 'other'));
});

test('selects: an empty selector selects nothing (the webhook must not inject everywhere)', () => {
  assert.not.ok(selects(policy('p', '2025-01-01T00:00:00Z', {}), orthanc, 'imaging'));
  assert.not.ok(selects(policy('p', '2025-01-01T00:00:00Z', { matchLabels: {}, matchExpressions: [] }), orthanc, 'imaging'));
});

test('selects: a pod without labels', () => {
  assert.not.ok(selects(policy('p', '2025-01-01T00:00:00Z', { matchLabels: { app: 'orthanc' } }), {}, 'imaging'));
  assert.ok(selects(policy('p', '2025-01-01T00:00:00Z', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }), {}, 'imaging'));
});

test('conflicts: the oldest policy that selects the pod wins; the others conflict', () => {
  const newer = policy('newer', '2025-03-01T00:00:00Z', { matchLabels: { app: 'orthanc' } });
  const oldest = policy('oldest', '2025-01-01T00:00:00Z', { matchLabels: { tier: 'pacs' } });
  const middle = policy('middle', '2025-02-01T00:00:00Z', { matchExpressions: [{ key: 'app', operator: 'Exists' }] });
  const elsewhere = policy('elsewhere', '2024-01-01T00:00:00Z', { matchLabels: { app: 'orthanc' } }, 'other');
  const unrelated = policy('unrelated', '2024-01-01T00:00:00Z', { matchLabels: { app: 'viewer' } });
  const result = conflicts([newer, elsewhere, oldest, unrelated, middle], orthanc, 'imaging');
  assert.is(result.winner, oldest);
  assert.equal(result.conflicting, [middle, newer]);
});

test('conflicts: same creation time, the name decides', () => {
  const b = policy('b', '2025-01-01T00:00:00Z', { matchLabels: { app: 'orthanc' } });
  const a = policy('a', '2025-01-01T00:00:00Z', { matchLabels: { app: 'orthanc' } });
  assert.equal(conflicts([b, a], orthanc, 'imaging'), { winner: a, conflicting: [b] });
});

test('conflicts: no policy selects the pod', () => {
  assert.equal(conflicts([policy('p', '2025-01-01T00:00:00Z', { matchLabels: { app: 'viewer' } })], orthanc, 'imaging'), { winner: undefined, conflicting: [] });
});

test.run();
