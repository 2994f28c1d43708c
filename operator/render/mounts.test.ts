// Object names and the volumes the webhook adds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_POLICY_NAME_LENGTH } from '../api/v1alpha1.ts';
import { objectNames, SIDECAR_CONFIG_DIR, SIDECAR_CONFIG_FILE, sidecarVolumes } from './mounts.ts';

test('object names derive from the policy name and fit a DNS subdomain', () => {
  assert.equal(objectNames('main-pacs'), {
    networkPolicy: 'main-pacs-dicom-guard',
    configMap: 'main-pacs-dicom-guard',
    identitySecret: 'main-pacs-dicom-guard-identity',
    certificate: 'main-pacs-dicom-guard-tls',
    tlsSecret: 'main-pacs-dicom-guard-tls',
    roleBinding: 'main-pacs-dicom-guard-sidecar',
  });
  for (const name of Object.values(objectNames('a'.repeat(MAX_POLICY_NAME_LENGTH)))) assert.ok(name.length <= 253);
});

test('three read-only volumes; the Secrets optional so that a pod starts before they exist', () => {
  const { volumes, volumeMounts } = sidecarVolumes('main-pacs');
  assert.equal(volumes, [
    { name: 'dicom-guard-config', configMap: { name: 'main-pacs-dicom-guard' } },
    { name: 'dicom-guard-identity', secret: { secretName: 'main-pacs-dicom-guard-identity', optional: true } },
    { name: 'dicom-guard-tls', secret: { secretName: 'main-pacs-dicom-guard-tls', optional: true } },
  ]);
  assert.equal(volumeMounts.map((m) => [m.name, m.mountPath, m.readOnly]), [
    ['dicom-guard-config', '/etc/dicom-guard/config', true],
    ['dicom-guard-identity', '/etc/dicom-guard/identity', true],
    ['dicom-guard-tls', '/etc/dicom-guard/tls', true],
  ]);
  assert.is(SIDECAR_CONFIG_FILE, `${SIDECAR_CONFIG_DIR}/sidecar.yaml`);
});

test.run();
