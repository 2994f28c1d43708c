// The Helm chart's RBAC template, rendered from operator/rbac.ts so that the chart grants
// exactly what the operator needs and the end-to-end tests run under.
//   node operator/rbac-template.ts   (npm run chart:rbac) writes charts/dicom-guard/templates/rbac.yaml
// A test fails when the checked-in template differs.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLUSTER_RULES, leaseRules, SIDECAR_RULES, sidecarBindRules, webhookRules, type ExplainedRule } from './rbac.ts';

export const RBAC_TEMPLATE_FILE = 'charts/dicom-guard/templates/rbac.yaml';
export const RBAC_REGENERATE_COMMAND = 'npm run chart:rbac';

/** Template expressions standing for names only Helm knows. */
const FULLNAME = '{{ $fullname }}';
/** The sidecars' ClusterRole; the chart passes the same name to --sidecar-cluster-role. */
const SIDECAR_ROLE = '{{ $fullname }}-sidecar';

function rulesYaml(rules: readonly ExplainedRule[], indent: string): string {
  const list = (values: readonly string[]) => `[${values.map((v) => (v === '' ? '""' : v)).join(', ')}]`;
  return rules
    .map((r) =>
      [
        `${indent}# ${r.why}`,
        `${indent}- apiGroups: ${list(r.apiGroups)}`,
        `${indent}  resources: ${list(r.resources)}`,
        ...(r.resourceNames ? [`${indent}  resourceNames: ${list(r.resourceNames)}`] : []),
        `${indent}  verbs: ${list(r.verbs)}`,
      ].join('\n'),
    )
    .join('\n');
}

export function renderRbacTemplate(): string {
  const binding = (kind: 'ClusterRoleBinding' | 'RoleBinding', roleKind: 'ClusterRole' | 'Role', name: string, namespaced: boolean) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ${kind}
metadata:
  name: ${name}
${namespaced ? '  namespace: {{ .Release.Namespace }}\n' : ''}  labels:
    {{- include "dicom-guard.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ${roleKind}
  name: ${name}
subjects:
  - kind: ServiceAccount
    name: ${FULLNAME}
    namespace: {{ .Release.Namespace }}`;
  const role = (kind: 'ClusterRole' | 'Role', name: string, namespaced: boolean, rules: readonly ExplainedRule[]) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ${kind}
metadata:
  name: ${name}
${namespaced ? '  namespace: {{ .Release.Namespace }}\n' : ''}  labels:
    {{- include "dicom-guard.labels" . | nindent 4 }}
rules:
${rulesYaml(rules, '  ')}`;
  return `{{- /* Generated from operator/rbac.ts by \`${RBAC_REGENERATE_COMMAND}\`; do not edit. */}}
{{- $fullname := include "dicom-guard.fullname" . }}
# Least privilege: what the operator reads and writes, and nothing else.
${role('ClusterRole', FULLNAME, false, [...CLUSTER_RULES, ...webhookRules(FULLNAME), ...sidecarBindRules(SIDECAR_ROLE)])}
---
${binding('ClusterRoleBinding', 'ClusterRole', FULLNAME, false)}
---
# Leader election: the Lease lives in the release namespace only.
${role('Role', `${FULLNAME}-leader-election`, true, leaseRules(FULLNAME))}
---
${binding('RoleBinding', 'Role', `${FULLNAME}-leader-election`, true)}
---
# The sidecars' own rights, bound by the operator in each policy's namespace to the
# service accounts of the pods that run its sidecar (a RoleBinding per policy).
${role('ClusterRole', SIDECAR_ROLE, false, SIDECAR_RULES)}
`;
}

if (import.meta.main) {
  await writeFile(join(import.meta.dirname, '..', RBAC_TEMPLATE_FILE), renderRbacTemplate());
  console.log(`wrote ${RBAC_TEMPLATE_FILE}`);
}
