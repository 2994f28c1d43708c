// The Helm chart, rendered by the real Helm (built from its Go module): lint-clean, the
// RBAC exactly operator/rbac.ts, operator arguments the operator accepts, non-root
// everywhere, deterministic output (no perpetual GitOps diff), the plain manifest in sync.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { run } from '../harness/processes.ts';
import { requireProgram, ROOT } from '../harness/tools.ts';
import { asPolicyRules, CLUSTER_RULES, leaseRules, SIDECAR_RULES, sidecarBindRules, webhookRules } from '../../operator/rbac.ts';
import { parseOperatorArgs } from '../../operator/options.ts';
import { renderRbacTemplate, RBAC_REGENERATE_COMMAND, RBAC_TEMPLATE_FILE } from '../../operator/rbac-template.ts';
import { renderManifest, MANIFEST_FILE, MANIFEST_REGENERATE_COMMAND } from '../../deploy/render.ts';
import { DEFAULT_INJECTION_SETTINGS } from '../../operator/webhook/inject.ts';

const CHART = join(ROOT, 'charts', 'dicom-guard');
const helm = () => requireProgram(join(ROOT, '.local', 'bin', 'helm'));

type Manifest = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [key: string]: unknown };

async function template(...values: string[]): Promise<Manifest[]> {
  const result = await run(helm(), ['template', 'dg', CHART, '--namespace', 'dicom-guard-system', ...values.flatMap((v) => ['--set', v])]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const find = (manifests: Manifest[], kind: string, name?: string) => manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));

test('helm lint is clean', async () => {
  const result = await run(helm(), ['lint', '--strict', CHART]);
  assert.is(result.code, 0, result.output);
});

test('the RBAC template is generated from operator/rbac.ts', async () => {
  const checkedIn = await readFile(join(ROOT, RBAC_TEMPLATE_FILE), 'utf8');
  if (checkedIn !== renderRbacTemplate()) assert.unreachable(`${RBAC_TEMPLATE_FILE} is stale; regenerate it with \`${RBAC_REGENERATE_COMMAND}\``);
  const manifests = await template();
  const clusterRole = find(manifests, 'ClusterRole', 'dg-dicom-guard') as unknown as { rules: unknown[] };
  assert.equal(clusterRole.rules, asPolicyRules([...CLUSTER_RULES, ...webhookRules('dg-dicom-guard'), ...sidecarBindRules('dg-dicom-guard-sidecar')]));
  const sidecarRole = find(manifests, 'ClusterRole', 'dg-dicom-guard-sidecar') as unknown as { rules: unknown[] };
  assert.equal(sidecarRole.rules, asPolicyRules(SIDECAR_RULES));
  const role = find(manifests, 'Role') as unknown as { rules: unknown[] };
  assert.equal(role.rules, asPolicyRules(leaseRules('dg-dicom-guard')));
});

test('the operator accepts the arguments the Deployment gives it', async () => {
  const manifests = await template();
  const deployment = find(manifests, 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: { args: string[]; image: string; securityContext: Record<string, unknown> }[]; securityContext: Record<string, unknown> } } } };
  const container = deployment.spec.template.spec.containers[0]!;
  assert.is(container.args[0], 'operator');
  const options = parseOperatorArgs(container.args.slice(1), { POD_NAME: 'dg-0', POD_NAMESPACE: 'dicom-guard-system' });
  assert.is(options.leaderElect, true);
  assert.is(options.leaseName, 'dg-dicom-guard');
  assert.equal(options.webhook, { certDir: '/etc/dicom-guard/webhook', port: 9443 });
  assert.equal(options.webhookConfiguration, { name: 'dg-dicom-guard', webhook: 'dg-dicom-guard.dicomguard.io' });
  assert.is(options.injection.image, container.image, 'the sidecar is the same image by default');
  assert.is(options.render.sidecarClusterRole, 'dg-dicom-guard-sidecar', 'the ClusterRole the chart ships and lets the operator bind');
  assert.is(deployment.spec.replicas, 2);
  // Non-root, read-only root filesystem, no capabilities.
  assert.equal(deployment.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.equal(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  const webhook = find(manifests, 'MutatingWebhookConfiguration') as unknown as { webhooks: { name: string; failurePolicy: string; namespaceSelector: { matchExpressions: { operator: string; values: string[] }[] } }[] };
  assert.is(webhook.webhooks[0]!.name, options.webhookConfiguration!.webhook);
  assert.is(webhook.webhooks[0]!.failurePolicy, 'Fail');
  assert.ok(webhook.webhooks[0]!.namespaceSelector.matchExpressions.some((e) => e.operator === 'NotIn' && e.values.includes('dicom-guard-system') && e.values.includes('kube-system')), 'the operator namespace and kube-system are never sent');
});

test('image names: the chart, the webhook defaults, the Dockerfile and package.json agree', async () => {
  const chart = await readFile(join(CHART, 'Chart.yaml'), 'utf8');
  const values = await readFile(join(CHART, 'values.yaml'), 'utf8');
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.match(chart, new RegExp(`appVersion: "${pkg.version}"`));
  assert.match(values, /repository: ghcr\.io\/dicom-guard\/dicom-guard/);
  assert.is(DEFAULT_INJECTION_SETTINGS.image, `ghcr.io/dicom-guard/dicom-guard:${pkg.version}`);
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /docker build -t ghcr\.io\/dicom-guard\/dicom-guard:0\.1\.0/);
  assert.match(dockerfile, /^USER 65532:65532$/m, 'non-root image');
  assert.is(DEFAULT_INJECTION_SETTINGS.runAsUser, 65532);
  assert.match(dockerfile, /npm prune --omit=dev/, 'production dependencies only');
});

test('the CRD is behind crds.enabled and kept on uninstall', async () => {
  const crd = find(await template(), 'CustomResourceDefinition');
  assert.ok(crd);
  assert.is(crd!.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  assert.is(find(await template('crds.enabled=false'), 'CustomResourceDefinition'), undefined);
});

test('webhook certificate: cert-manager by default, an existing Secret otherwise', async () => {
  const byDefault = await template();
  assert.ok(find(byDefault, 'Certificate', 'dg-dicom-guard-webhook'));
  assert.ok(find(byDefault, 'Issuer'));
  assert.is(find(byDefault, 'MutatingWebhookConfiguration')!.metadata.annotations?.['cert-manager.io/inject-ca-from'], 'dicom-guard-system/dg-dicom-guard-webhook');
  const own = await template('webhook.certManager.enabled=false', 'webhook.tls.secretName=my-tls', 'webhook.tls.caBundle=Q0E=');
  assert.is(find(own, 'Certificate'), undefined);
  const webhook = find(own, 'MutatingWebhookConfiguration') as unknown as { webhooks: { clientConfig: { caBundle: string } }[] };
  assert.is(webhook.webhooks[0]!.clientConfig.caBundle, 'Q0E=');
  const failed = await run(helm(), ['template', 'dg', CHART, '--set', 'webhook.certManager.enabled=false']);
  assert.match(failed.stderr, /webhook\.tls\.secretName is required/);
});

test('values.schema.json refuses a wrong value naming it', async () => {
  const result = await run(helm(), ['template', 'dg', CHART, '--set', 'webhook.failurePolicy=Sometimes', '--set', 'operator.replicaz=3']);
  assert.is.not(result.code, 0);
  assert.match(result.stderr, /webhook\/failurePolicy/);
});

test('monitoring objects are optional and render when asked', async () => {
  assert.is(find(await template(), 'PrometheusRule'), undefined);
  const monitored = await template('metrics.serviceMonitor.enabled=true', 'metrics.podMonitor.enabled=true', 'metrics.prometheusRule.enabled=true');
  assert.ok(find(monitored, 'ServiceMonitor') && find(monitored, 'PodMonitor') && find(monitored, 'PrometheusRule'));
});

test('rendering is deterministic (no random values, no perpetual GitOps diff)', async () => {
  const first = await run(helm(), ['template', 'dg', CHART, '-n', 'x']);
  const second = await run(helm(), ['template', 'dg', CHART, '-n', 'x']);
  assert.is(first.stdout, second.stdout);
  assert.not.match(first.stdout, /randAlphaNum|genCA|genSelfSignedCert/);
});

test(`${MANIFEST_FILE} is the chart rendered with its defaults`, async () => {
  const checkedIn = await readFile(join(ROOT, MANIFEST_FILE), 'utf8');
  if (checkedIn !== (await renderManifest(helm()))) assert.unreachable(`${MANIFEST_FILE} is stale; regenerate it with \`${MANIFEST_REGENERATE_COMMAND}\``);
});

test.run();
