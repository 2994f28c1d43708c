// The checked-in cert-manager types are what cert-manager's CRDs (of the version the test
// cluster builds) make of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CERT_MANAGER_CRDS, CERT_MANAGER_TYPES_FILE, renderCertManagerTypes, TYPES_REGENERATE_COMMAND } from './generate-types.ts';

test('operator/api/generated/cert-manager.ts is current', async () => {
  assert.ok(existsSync(CERT_MANAGER_CRDS), `${CERT_MANAGER_CRDS} is missing: build the test cluster's tools (npm run cluster:build, run by npm test)`);
  const checkedIn = await readFile(join(import.meta.dirname, '..', '..', CERT_MANAGER_TYPES_FILE), 'utf8');
  if (checkedIn !== (await renderCertManagerTypes())) assert.unreachable(`${CERT_MANAGER_TYPES_FILE} is stale; regenerate it with \`${TYPES_REGENERATE_COMMAND}\``);
  assert.match(checkedIn, /from cert-manager's CRDs \(v\d+\.\d+\.\d+\)/, 'names the cert-manager version');
});

test.run();
