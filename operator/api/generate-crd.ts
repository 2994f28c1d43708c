// Writes crds/dicomaccesspolicies.dicomguard.io.yaml from operator/api/v1alpha1.ts.
// Usage: node operator/api/generate-crd.ts   (npm run crd:generate)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CRD_FILE, renderCrdYaml } from './crd.ts';

const target = join(import.meta.dirname, '..', '..', CRD_FILE);
await writeFile(target, renderCrdYaml());
console.log(`wrote ${CRD_FILE}`);
