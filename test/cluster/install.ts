// dicom-guard installed on the local control plane the way a user installs it: the Helm
// chart with `helm install` (its CRD, RBAC, webhook configuration, Deployment), then
// the operator run on this host as the chart's ServiceAccount (with that account's
// token, so RBAC is real) and with the arguments of the chart's Deployment. There is no
// kubelet here, so the Deployment's pods stay Pending; the host process stands in for them.
// There is no cert-manager controller either: the webhook's serving certificate is made
// with openssl and handed to the chart as an existing Secret and CA bundle.
// Used by `npm run cluster:up`, the demo and the end-to-end tests.
import { readFile, writeFile } from 'node:fs/promises';
import { writeTokenKubeconfig } from '../harness/operator.ts';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { createPki } from '../harness/pki.ts';
import { freePort } from '../harness/ports.ts';
import { run } from '../harness/processes.ts';
import { ROOT } from '../harness/tools.ts';
import type { ControlPlane } from './control-plane.ts';

export const RELEASE = 'dicom-guard';
export const RELEASE_NAMESPACE = 'dicom-guard-system';
/** The chart's fullname for this release name (its ServiceAccount, Lease, webhook configuration). */
export const FULLNAME = 'dicom-guard';

export interface Installation {
  /** The ServiceAccount token kubeconfig the operator runs with. */
  operatorKubeconfig: string;
  /** Where the webhook's serving certificate and key are (tls.crt, tls.key). */
  webhookCertDir: string;
  webhookPort: number;
  /** The operator's arguments from the chart's Deployment (after "operator"). */
  chartArgs: string[];
  /** Everything `helm install` created, as it rendered it. */
  manifest: string;
  /** The --set values it was installed with. */
  values: string[];
}

async function must(command: string, args: string[], options: { input?: string } = {}): Promise<string> {
  const result = await run(command, args, { ...options, timeoutMs: 180_000 });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.output}`);
  return result.stdout;
}

export const helmBinary = () => join(ROOT, '.local', 'bin', 'helm');

/** `helm install` of charts/dicom-guard, and what the host-run operator needs. */
export async function installDicomGuard(cp: ControlPlane, dir: string, log: (line: string) => void = () => undefined): Promise<Installation> {
  const kubectl = (args: string[], input?: string) => must(join(ROOT, '.local', 'bin', 'kubectl'), [`--kubeconfig=${cp.kubeconfig}`, ...args], input === undefined ? {} : { input });

  log('webhook serving certificate (openssl; cert-manager does this in a real cluster)');
  const pki = await createPki('dicom-guard webhook CA');
  const serving = await pki.issue(`${FULLNAME}.${RELEASE_NAMESPACE}.svc`, { ips: ['127.0.0.1'], usage: 'server', file: 'webhook' });
  const webhookCertDir = join(dir, 'webhook-tls');
  await must('mkdir', ['-p', webhookCertDir]);
  await writeFile(join(webhookCertDir, 'tls.crt'), await readFile(serving.cert));
  await writeFile(join(webhookCertDir, 'tls.key'), await readFile(serving.key), { mode: 0o600 });
  const caBundle = (await readFile(pki.ca.cert)).toString('base64');
  await must('rm', ['-rf', pki.dir]);

  await kubectl(['create', 'namespace', RELEASE_NAMESPACE]);
  await kubectl(['-n', RELEASE_NAMESPACE, 'create', 'secret', 'tls', `${FULLNAME}-webhook-tls`, `--cert=${join(webhookCertDir, 'tls.crt')}`, `--key=${join(webhookCertDir, 'tls.key')}`]);

  const webhookPort = await freePort();
  log(`helm install ${RELEASE} charts/dicom-guard (webhook at https://127.0.0.1:${webhookPort})`);
  const values = ['webhook.certManager.enabled=false', `webhook.tls.secretName=${FULLNAME}-webhook-tls`, `webhook.tls.caBundle=${caBundle}`, `webhook.url=https://127.0.0.1:${webhookPort}/mutate-pods`];
  await must(helmBinary(), ['install', RELEASE, join(ROOT, 'charts', 'dicom-guard'), `--kubeconfig=${cp.kubeconfig}`, '--namespace', RELEASE_NAMESPACE, ...values.flatMap((v) => ['--set', v])]);
  const manifest = await must(helmBinary(), ['get', 'manifest', RELEASE, `--kubeconfig=${cp.kubeconfig}`, '--namespace', RELEASE_NAMESPACE]);
  const deployment = parseAllDocuments(manifest)
    .map((d) => d.toJSON() as { kind?: string; spec?: { template: { spec: { containers: { args: string[] }[] } } } } | null)
    .find((m) => m?.kind === 'Deployment');
  const chartArgs = deployment!.spec!.template.spec.containers[0]!.args.slice(1);

  log(`a token of ServiceAccount ${RELEASE_NAMESPACE}/${FULLNAME} for the operator`);
  const token = (await kubectl(['create', 'token', FULLNAME, '-n', RELEASE_NAMESPACE, '--duration=24h'])).trim();
  const operatorKubeconfig = await writeTokenKubeconfig(cp, FULLNAME, token, join(dir, 'operator.kubeconfig'));
  return { operatorKubeconfig, webhookCertDir, webhookPort, chartArgs, manifest, values };
}

/**
 * The chart's operator arguments, pointed at this host: the ServiceAccount kubeconfig,
 * the webhook certificate files and port, loopback ports for the HTTP endpoints.
 */
export function hostOperatorArgs(installation: Installation, ports: { health: number; metrics: number }, identity: string): string[] {
  const replaced = new Set(['--webhook-cert-dir', '--webhook-port', '--metrics-port', '--health-port']);
  const kept = installation.chartArgs.filter((arg) => !replaced.has(arg.split('=')[0]!));
  return [
    ...kept,
    `--kubeconfig=${installation.operatorKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--webhook-cert-dir=${installation.webhookCertDir}`,
    `--webhook-port=${installation.webhookPort}`,
    `--health-port=${ports.health}`,
    `--metrics-port=${ports.metrics}`,
    `--leader-elect-identity=${identity}`,
  ];
}
