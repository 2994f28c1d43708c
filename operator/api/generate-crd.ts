// Writes crds/dicomaccesspolicies.dicomguard.io.yaml, and its copy in the Helm chart,
// from operator/api/v1alpha1.ts.
// Usage: node operator/api/generate-crd.ts   (npm run crd:generate)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHART_CRD_FILE, CRD_FILE, renderCrdYaml } from './crd.ts';

for (const file of [CRD_FILE, CHART_CRD_FILE]) {
  await writeFile(join(import.meta.dirname, '..', '..', file), renderCrdYaml());
  console.log(`wrote ${file}`);
}
