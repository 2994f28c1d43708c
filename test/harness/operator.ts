// The operator as the chart runs it: `dicom-guard operator`, a separate process, with the
// token of a ServiceAccount bound to exactly the rules of operator/rbac.ts (so RBAC is
// real), on a control plane from test/cluster. Its /metrics are parsed so that tests can
// count API requests (writes on resync, a follower's writes).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { WRITE_VERBS, type Verb } from '../../operator/kube/client.ts';
import { asPolicyRules, CLUSTER_RULES, leaseRules, SIDECAR_RULES, sidecarBindRules } from '../../operator/rbac.ts';
import { DEFAULT_RENDER_SETTINGS } from '../../operator/render/sidecar-config.ts';
import type { ControlPlane } from '../cluster/control-plane.ts';
import { freePort } from './ports.ts';
import { GaveUp, start, waitFor, type Running } from './processes.ts';
import { CLI, NODE } from './tools.ts';

export const OPERATOR_NAMESPACE = 'dicom-guard-system';
export const SERVICE_ACCOUNT = 'dicom-guard-operator';
export const LEASE_NAME = 'dicom-guard-operator';

/** Runs kubectl with the admin kubeconfig and fails with its stderr on a non-zero exit. */
export async function kubectl(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const result = await cp.kubectl(args, { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export async function getJson<T = Record<string, unknown>>(cp: ControlPlane, args: string[]): Promise<T | undefined> {
  const result = await cp.kubectl(['get', ...args, '-o', 'json']);
  if (result.code !== 0) {
    if (/NotFound/.test(result.stderr)) return undefined;
    throw new Error(`kubectl get ${args.join(' ')}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** kubectl apply --server-side of objects as JSON (admin, field manager "test"). */
export async function applyObjects(cp: ControlPlane, ...objects: object[]): Promise<void> {
  await kubectl(cp, ['apply', '--server-side', '--field-manager=test', '--force-conflicts', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
}

/**
 * The ServiceAccount the chart will create, its ClusterRole and lease Role from
 * operator/rbac.ts, the sidecars' ClusterRole it binds, and a kubeconfig with its token (no admin certificate in it).
 */
export async function operatorKubeconfig(cp: ControlPlane, dir: string): Promise<string> {
  const namespace = OPERATOR_NAMESPACE;
  const sidecarRole = DEFAULT_RENDER_SETTINGS.sidecarClusterRole;
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'dicom-guard-operator' }, rules: asPolicyRules([...CLUSTER_RULES, ...sidecarBindRules(sidecarRole)]) };
  const subjects = [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace }];
  await applyObjects(
    cp,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace } },
    role,
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: sidecarRole }, rules: asPolicyRules(SIDECAR_RULES) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'dicom-guard-operator' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'dicom-guard-operator' }, subjects },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'dicom-guard-leader-election', namespace }, rules: asPolicyRules(leaseRules(LEASE_NAME)) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'dicom-guard-leader-election', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dicom-guard-leader-election' },
      subjects,
    },
  );
  const token = (await kubectl(cp, ['create', 'token', SERVICE_ACCOUNT, '-n', namespace, '--duration=2h'])).trim();
  return writeTokenKubeconfig(cp, SERVICE_ACCOUNT, token, join(dir, 'operator.kubeconfig'));
}

/** A kubeconfig for `user` with only a bearer token (no admin certificate in it). */
export async function writeTokenKubeconfig(cp: ControlPlane, user: string, token: string, path: string): Promise<string> {
  const ca = (await readFile(cp.caFile)).toString('base64');
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: cp.server, 'certificate-authority-data': ca } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'operator', context: { cluster: 'local', user } }],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );
  return path;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, samples only. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

export interface OperatorProcess {
  identity: string;
  healthPort: number;
  metricsPort: number;
  process: Running;
  metrics(): Promise<Sample[]>;
  /** API requests that write (create, update, patch, apply, delete), optionally only for some resources. */
  apiWrites(filter?: (resource: string) => boolean): Promise<number>;
  isLeader(): Promise<boolean>;
  /** JSON log lines so far. */
  logs(): Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface OperatorProcessOptions {
  kubeconfig: string;
  identity: string;
  dir: string;
  args?: string[];
  /** The entry point (default cmd/dicom-guard.ts; the benchmark runs dist/, as the image does). */
  cli?: string;
  /** Node.js flags before it (a benchmark's --cpu-prof). */
  nodeArgs?: string[];
  /** Runs the command through another (a benchmark's memory cgroup); the process keeps its pid. */
  wrap?: (command: string, args: readonly string[]) => { command: string; args: string[] };
  /** Instead of this harness's operator arguments: all of them, given the ports it picked (the chart's, say). */
  argsFor?: (ports: { health: number; metrics: number }) => string[];
}

export async function startOperatorProcess(options: OperatorProcessOptions): Promise<OperatorProcess> {
  const [healthPort, metricsPort] = [await freePort(), await freePort()];
  const args = [
    ...(options.nodeArgs ?? []),
    options.cli ?? CLI,
    'operator',
    ...(options.argsFor
      ? options.argsFor({ health: healthPort, metrics: metricsPort })
      : [
          `--kubeconfig=${options.kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--health-port=${healthPort}`,
          `--metrics-port=${metricsPort}`,
          '--leader-elect',
          `--lease-name=${LEASE_NAME}`,
          `--lease-namespace=${OPERATOR_NAMESPACE}`,
          `--leader-elect-identity=${options.identity}`,
          '--log-level=debug',
        ]),
    ...(options.args ?? []),
  ];
  const command = options.wrap ? options.wrap(NODE, args) : { command: NODE, args };
  const proc = start(`operator ${options.identity}`, command.command, command.args, { logFile: join(options.dir, `${options.identity}.log`) });
  const metrics = async () => parseMetrics(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  await waitFor(
    `operator ${options.identity} /readyz`,
    async () => {
      if (proc.child.exitCode !== null) throw new GaveUp(`the operator exited ${proc.child.exitCode}: ${proc.output().slice(-3000)}`);
      return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok;
    },
    60_000,
    200,
  );
  return {
    identity: options.identity,
    healthPort,
    metricsPort,
    process: proc,
    metrics,
    async apiWrites(filter = () => true) {
      return (await metrics())
        .filter((s) => s.name === 'dicomguard_operator_api_requests_total' && WRITE_VERBS.has(s.labels.verb as Verb) && filter(s.labels.resource!))
        .reduce((sum, s) => sum + s.value, 0);
    },
    async isLeader() {
      return (await metrics()).find((s) => s.name === 'dicomguard_operator_leader')?.value === 1;
    },
    logs: () =>
      proc
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: (signal = 'SIGTERM') => proc.stop(signal, 20_000),
  };
}
