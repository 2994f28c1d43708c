// The CustomResourceDefinition of DicomAccessPolicy, built from the schema in v1alpha1.ts,
// and its YAML text as checked in under crds/. `node operator/api/generate-crd.ts`
// writes the file; crd.test.ts fails when the checked-in file is not what this renders.
import { stringify } from 'yaml';
import { API_VERSION, CRD_NAME, GROUP, KIND, openAPIV3Schema, PLURAL, SINGULAR, VERSION } from './v1alpha1.ts';

/** Where the generated manifest lives, relative to the repository root. */
export const CRD_FILE = `crds/${CRD_NAME}.yaml`;
/** The same manifest inside the Helm chart, which installs it behind crds.enabled. */
export const CHART_CRD_FILE = `charts/dicom-guard/files/${CRD_NAME}.yaml`;
export const REGENERATE_COMMAND = 'node operator/api/generate-crd.ts';

const readyCondition = '.status.conditions[?(@.type=="Ready")]';

export const dicomAccessPolicyCRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: CRD_NAME,
    labels: { 'app.kubernetes.io/name': 'dicom-guard', 'app.kubernetes.io/component': 'crd' },
  },
  spec: {
    group: GROUP,
    names: {
      kind: KIND,
      listKind: `${KIND}List`,
      plural: PLURAL,
      singular: SINGULAR,
      shortNames: ['dap'],
      categories: ['dicom-guard'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Ready', type: 'string', jsonPath: `${readyCondition}.status` },
          { name: 'Reason', type: 'string', jsonPath: `${readyCondition}.reason`, priority: 1 },
          { name: 'Matched', type: 'integer', jsonPath: '.status.matchedPods', description: 'Pods the selector matches' },
          { name: 'Protected', type: 'integer', jsonPath: '.status.protectedPods', description: 'Matched pods running the sidecar with the current config' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: { openAPIV3Schema },
      },
    ],
  },
} as const;

/** The manifest text: stable key order, no anchors, no line folding. */
export function renderCrdYaml(): string {
  const header = [
    `# ${KIND} (${API_VERSION}). Generated from operator/api/v1alpha1.ts: do not edit;`,
    `# regenerate with \`${REGENERATE_COMMAND}\` (npm run crd:generate).`,
  ].join('\n');
  return `${header}\n${stringify(dicomAccessPolicyCRD, { aliasDuplicateObjects: false, lineWidth: 0 })}`;
}
