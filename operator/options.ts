// The operator's command line: `dicom-guard operator [flags]`. Pure: parseOperatorArgs
// reads the arguments and the environment (the downward API's POD_NAME and
// POD_NAMESPACE) and returns the options or a UsageError naming the flag at fault.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { DEFAULT_TIMING, type ElectionTiming } from './leader/lease.ts';
import { DEFAULT_RENDER_SETTINGS, type RenderSettings } from './render/sidecar-config.ts';
import { DEFAULT_INJECTION_SETTINGS, type InjectionSettings } from './webhook/inject.ts';

export const OPERATOR_USAGE = `usage: dicom-guard operator [flags]
  --kubeconfig FILE             credentials (default: $KUBECONFIG, else the pod's ServiceAccount)
  --namespace NS                watch policies, pods and Secrets in NS only (default: every namespace)
  --leader-elect[=true|false]   elect a leader on a Lease; only the leader reconciles (default: off)
  --lease-name NAME             the Lease (default: dicom-guard-operator)
  --lease-namespace NS          its namespace (default: $POD_NAMESPACE, the ServiceAccount's, or default)
  --leader-elect-identity ID    this replica's name on the Lease (default: $POD_NAME or the host name, plus a random suffix)
  --lease-duration DURATION     15s; --renew-deadline 10s; --retry-period 2s (as client-go)
  --bind-address HOST           where the HTTP endpoints listen (default ::)
  --metrics-port PORT           GET /metrics (default 8080)
  --health-port PORT            GET /healthz, /readyz (default 8081; may equal --metrics-port)
  --workers N                   policies reconciled at once (default 4)
  --resync-period DURATION      every policy is checked again this often (default 10m)
  --sidecar-image IMAGE         the sidecar image the webhook injects (default ${DEFAULT_INJECTION_SETTINGS.image})
  --sidecar-image-pull-policy P Always, IfNotPresent or Never (default ${DEFAULT_INJECTION_SETTINGS.imagePullPolicy})
  --sidecar-cpu-request Q       the injected sidecar's resources (defaults ${DEFAULT_INJECTION_SETTINGS.resources.requests.cpu},
  --sidecar-memory-request Q      ${DEFAULT_INJECTION_SETTINGS.resources.requests.memory} and a ${DEFAULT_INJECTION_SETTINGS.resources.limits.memory} memory limit)
  --sidecar-memory-limit Q
  --sidecar-admin-port PORT     the sidecar's metrics and health port in rendered configs (default ${DEFAULT_RENDER_SETTINGS.adminPort})
  --sidecar-cluster-role NAME   the ClusterRole (Events create) bound to the service accounts of the pods
                                that run a policy's sidecar, so that it can post Events (default ${DEFAULT_RENDER_SETTINGS.sidecarClusterRole})
  --webhook-cert-dir DIR        serve the injecting webhook with DIR/tls.crt and DIR/tls.key (reloaded on change);
                                no webhook without it
  --webhook-port PORT           its HTTPS port (default 9443)
  --webhook-configuration NAME  the MutatingWebhookConfiguration whose namespaceSelector the operator keeps
  --webhook-name NAME             to the namespaces holding a policy, and the webhook's name in it
  --certificate-duration D      server certificate lifetime (default ${DEFAULT_RENDER_SETTINGS.certificateDuration})
  --certificate-renew-before D  renew this long before expiry (default ${DEFAULT_RENDER_SETTINGS.certificateRenewBefore})
  --log-level LEVEL             fatal, error, warn, info, debug, trace (default info)`;

export interface OperatorOptions {
  kubeconfig?: string;
  namespace?: string;
  leaderElect: boolean;
  leaseName: string;
  /** Undefined: the ServiceAccount's namespace, else "default" (resolved at start). */
  leaseNamespace?: string;
  identity: string;
  timing: ElectionTiming;
  bindAddress: string;
  metricsPort: number;
  healthPort: number;
  workers: number;
  resyncSeconds: number;
  render: RenderSettings;
  injection: InjectionSettings;
  webhook?: { certDir: string; port: number };
  /** The MutatingWebhookConfiguration (and webhook in it) whose namespaceSelector the leader maintains. */
  webhookConfiguration?: { name: string; webhook: string };
  logLevel: LevelWithSilent;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds of "15s", "1m30s", "500ms", "2h" or a plain number of seconds. */
export function parseDuration(flag: string, text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new UsageError(`${flag}: "${text}" is not a duration (like 15s, 2m, 1h30m)`);
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * UNITS[unit!]!, 0);
}

function integer(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`${flag}: "${text}" is not a whole number from ${min} to ${max}`);
  return value;
}

/** A Go duration text for cert-manager ("2160h"): kept as written, checked for form. */
function goDuration(flag: string, text: string | undefined, fallback: string): string {
  if (text === undefined) return fallback;
  parseDuration(flag, text);
  return text;
}

/** `--flag=true` and `--flag=false` (as Go's flag package takes them, and Helm charts write them) for boolean flags. */
function booleanValues(args: string[]): string[] {
  return args.map((arg) => {
    const match = /^--(leader-elect)=(true|false)$/.exec(arg);
    return match ? (match[2] === 'true' ? `--${match[1]}` : `--no-${match[1]}`) : arg;
  });
}

export function parseOperatorArgs(args: string[], env: NodeJS.ProcessEnv = process.env): OperatorOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: booleanValues(args),
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'leader-elect': { type: 'boolean', default: false },
        'lease-name': { type: 'string', default: 'dicom-guard-operator' },
        'lease-namespace': { type: 'string' },
        'leader-elect-identity': { type: 'string' },
        'lease-duration': { type: 'string' },
        'renew-deadline': { type: 'string' },
        'retry-period': { type: 'string' },
        'bind-address': { type: 'string', default: '::' },
        'metrics-port': { type: 'string' },
        'health-port': { type: 'string' },
        workers: { type: 'string' },
        'resync-period': { type: 'string', default: '10m' },
        'sidecar-image': { type: 'string' },
        'sidecar-image-pull-policy': { type: 'string' },
        'sidecar-cpu-request': { type: 'string' },
        'sidecar-memory-request': { type: 'string' },
        'sidecar-memory-limit': { type: 'string' },
        'sidecar-admin-port': { type: 'string' },
        'sidecar-cluster-role': { type: 'string' },
        'webhook-cert-dir': { type: 'string' },
        'webhook-port': { type: 'string' },
        'webhook-configuration': { type: 'string' },
        'webhook-name': { type: 'string' },
        'certificate-duration': { type: 'string' },
        'certificate-renew-before': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  const seconds = (flag: string, text: string | undefined, fallback: number) => (text === undefined ? fallback : parseDuration(`--${flag}`, text));
  const timing: ElectionTiming = {
    leaseDurationSeconds: seconds('lease-duration', v['lease-duration'], DEFAULT_TIMING.leaseDurationSeconds),
    renewDeadlineSeconds: seconds('renew-deadline', v['renew-deadline'], DEFAULT_TIMING.renewDeadlineSeconds),
    retryPeriodSeconds: seconds('retry-period', v['retry-period'], DEFAULT_TIMING.retryPeriodSeconds),
  };
  // client-go's rules: the leader must give up before a follower may take over.
  if (!(timing.leaseDurationSeconds > timing.renewDeadlineSeconds)) throw new UsageError('--lease-duration must be longer than --renew-deadline');
  if (!(timing.renewDeadlineSeconds > timing.retryPeriodSeconds * 1.2)) throw new UsageError('--renew-deadline must be longer than 1.2 x --retry-period');
  if (!(timing.retryPeriodSeconds > 0)) throw new UsageError('--retry-period must be positive');
  const level = v['log-level']!;
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level: "${level}" is not one of ${LEVELS.join(', ')}`);
  const resyncSeconds = parseDuration('--resync-period', v['resync-period']!);
  const base = env.POD_NAME || hostname();
  const pullPolicy = v['sidecar-image-pull-policy'] ?? DEFAULT_INJECTION_SETTINGS.imagePullPolicy;
  if (pullPolicy !== 'Always' && pullPolicy !== 'IfNotPresent' && pullPolicy !== 'Never') throw new UsageError(`--sidecar-image-pull-policy: "${pullPolicy}" is not Always, IfNotPresent or Never`);
  const quantity = (flag: string, text: string | undefined, fallback: string) => {
    if (text === undefined) return fallback;
    if (!/^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.test(text)) throw new UsageError(`--${flag}: "${text}" is not a Kubernetes quantity (like 50m, 96Mi)`);
    return text;
  };
  if (Boolean(v['webhook-configuration']) !== Boolean(v['webhook-name'])) throw new UsageError('--webhook-configuration and --webhook-name go together');
  const clusterRole = v['sidecar-cluster-role'] ?? DEFAULT_RENDER_SETTINGS.sidecarClusterRole;
  if (!/^[^/%]+$/.test(clusterRole)) throw new UsageError(`--sidecar-cluster-role: "${clusterRole}" is not a ClusterRole name`);
  const adminPort = integer('--sidecar-admin-port', v['sidecar-admin-port'], DEFAULT_RENDER_SETTINGS.adminPort, 1, 65535);
  return {
    ...(v.kubeconfig ? { kubeconfig: v.kubeconfig } : {}),
    ...(v.namespace ? { namespace: v.namespace } : {}),
    leaderElect: v['leader-elect']!,
    leaseName: v['lease-name']!,
    ...(v['lease-namespace'] || env.POD_NAMESPACE ? { leaseNamespace: v['lease-namespace'] || env.POD_NAMESPACE } : {}),
    identity: v['leader-elect-identity'] ?? `${base}_${randomUUID()}`,
    timing,
    bindAddress: v['bind-address']!,
    metricsPort: integer('--metrics-port', v['metrics-port'], 8080, 1, 65535),
    healthPort: integer('--health-port', v['health-port'], 8081, 1, 65535),
    workers: integer('--workers', v.workers, 4, 1, 64),
    resyncSeconds,
    injection: {
      image: v['sidecar-image'] ?? DEFAULT_INJECTION_SETTINGS.image,
      imagePullPolicy: pullPolicy,
      adminPort,
      resources: {
        requests: {
          cpu: quantity('sidecar-cpu-request', v['sidecar-cpu-request'], DEFAULT_INJECTION_SETTINGS.resources.requests.cpu),
          memory: quantity('sidecar-memory-request', v['sidecar-memory-request'], DEFAULT_INJECTION_SETTINGS.resources.requests.memory),
        },
        limits: { memory: quantity('sidecar-memory-limit', v['sidecar-memory-limit'], DEFAULT_INJECTION_SETTINGS.resources.limits.memory) },
      },
      runAsUser: DEFAULT_INJECTION_SETTINGS.runAsUser,
    },
    ...(v['webhook-cert-dir'] ? { webhook: { certDir: v['webhook-cert-dir'], port: integer('--webhook-port', v['webhook-port'], 9443, 1, 65535) } } : {}),
    ...(v['webhook-configuration'] ? { webhookConfiguration: { name: v['webhook-configuration'], webhook: v['webhook-name']! } } : {}),
    render: {
      adminPort,
      certificateDuration: goDuration('--certificate-duration', v['certificate-duration'], DEFAULT_RENDER_SETTINGS.certificateDuration),
      certificateRenewBefore: goDuration('--certificate-renew-before', v['certificate-renew-before'], DEFAULT_RENDER_SETTINGS.certificateRenewBefore),
      sidecarClusterRole: clusterRole,
    },
    logLevel: level as LevelWithSilent,
  };
}
