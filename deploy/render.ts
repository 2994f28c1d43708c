// The plain manifest for `kubectl apply -f deploy/dicom-guard.yaml`: the Helm chart
// rendered with its defaults into the dicom-guard-system namespace, plus the namespace.
//   node deploy/render.ts    (npm run manifest:generate)
// A test renders it again and fails when the checked-in file differs.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const MANIFEST_FILE = 'deploy/dicom-guard.yaml';
export const MANIFEST_NAMESPACE = 'dicom-guard-system';
export const MANIFEST_REGENERATE_COMMAND = 'npm run manifest:generate';
const root = join(import.meta.dirname, '..');

export async function renderManifest(helm = join(root, '.local', 'bin', 'helm')): Promise<string> {
  const { stdout } = await promisify(execFile)(helm, ['template', 'dicom-guard', join(root, 'charts', 'dicom-guard'), '--namespace', MANIFEST_NAMESPACE], { maxBuffer: 64 * 1024 * 1024 });
  const namespace = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${MANIFEST_NAMESPACE}\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n`;
  return `# dicom-guard ${MANIFEST_NAMESPACE} install manifest, rendered from charts/dicom-guard with its\n# default values by \`${MANIFEST_REGENERATE_COMMAND}\`; do not edit. Needs cert-manager.\n#   kubectl apply --server-side -f ${MANIFEST_FILE}\n---\n${namespace}${stdout}`;
}

if (import.meta.main) {
  await writeFile(join(root, MANIFEST_FILE), await renderManifest());
  console.log(`wrote ${MANIFEST_FILE}`);
}
