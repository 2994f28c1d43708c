import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NO_NAMESPACE, webhookNamespaceSelector } from './webhook-namespaces.ts';

const chart = {
  matchExpressions: [
    { key: 'kubernetes.io/metadata.name', operator: 'In' as const, values: [NO_NAMESPACE] },
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn' as const, values: ['dicom-guard-system', 'kube-system'] },
  ],
};

test('the namespaces holding policies, sorted and unique, replace the In list; the exclusions stay', () => {
  assert.equal(webhookNamespaceSelector(['radiology', 'imaging', 'imaging'], chart), {
    matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['imaging', 'radiology'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['dicom-guard-system', 'kube-system'] },
    ],
  });
});

test('no policy anywhere: a value no namespace can have, so no pod is sent', () => {
  assert.equal(webhookNamespaceSelector([], chart).matchExpressions![0], { key: 'kubernetes.io/metadata.name', operator: 'In', values: [NO_NAMESPACE] });
  assert.not.match(NO_NAMESPACE, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'not a valid namespace name');
});

test('the result is stable: applying it again changes nothing', () => {
  const once = webhookNamespaceSelector(['imaging'], chart);
  assert.equal(webhookNamespaceSelector(['imaging'], once), once);
});

test('matchLabels set by hand are kept', () => {
  assert.equal(webhookNamespaceSelector(['a'], { matchLabels: { env: 'prod' } }), { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['a'] }] });
});

test.run();
