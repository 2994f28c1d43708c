// The sidecar as users run it: `dicom-guard sidecar --config FILE`, a real process,
// its JSON log lines parsed so tests can read the audit records.
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SidecarConfigInput } from '../../sidecar/config/schema.ts';
import type { AuditRecord } from '../../sidecar/proxy/association.ts';
import { loadGeneration } from '../../sidecar/proxy/generation.ts';
import { createLogger } from '../../sidecar/log.ts';
import { freePort } from './ports.ts';
import { GaveUp, start, waitFor, type Running } from './processes.ts';
import { CLI, NODE } from './tools.ts';

export type LogRecord = Record<string, unknown> & { level: string; msg: string };

export interface SidecarProcess {
  port: number;
  adminPort: number;
  configPath: string;
  dir: string;
  process: Running;
  logs(): LogRecord[];
  audits(): (AuditRecord & LogRecord)[];
  waitForAudit(predicate: (record: AuditRecord) => boolean, timeoutMs?: number): Promise<AuditRecord>;
  waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Replace the config file the way Kubernetes does: a new file renamed over the old. */
  writeConfig(config: SidecarConfigInput | string): Promise<void>;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

type PartialConfig = Omit<SidecarConfigInput, 'apiVersion' | 'kind' | 'listen' | 'admin'> & Partial<Pick<SidecarConfigInput, 'listen' | 'admin'>>;

/** Fill in apiVersion/kind and free ports for listen and admin. */
export async function completeConfig(config: PartialConfig): Promise<SidecarConfigInput> {
  return {
    apiVersion: 'dicomguard.io/v1alpha1',
    kind: 'SidecarConfig',
    ...config,
    listen: config.listen ?? { host: '127.0.0.1', port: await freePort() },
    admin: config.admin ?? { host: '127.0.0.1', port: await freePort() },
  };
}

/**
 * Why the sidecar refuses `config` (the ConfigError's message, as `dicom-guard
 * check-config` and a start print it): loaded from a file in `dir` by the sidecar's own
 * loader, with the files it names. Throws when the config is accepted.
 */
export async function configRefusal(dir: string, config: object): Promise<string> {
  const path = join(dir, `refused-${process.hrtime.bigint()}.yaml`);
  await writeFile(path, stringify({ apiVersion: 'dicomguard.io/v1alpha1', kind: 'SidecarConfig', ...config }));
  try {
    const generation = await loadGeneration(path, createLogger('test', 'silent'));
    generation.verifier?.close();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await rm(path, { force: true });
  }
  throw new Error(`the sidecar accepts ${JSON.stringify(config)}`);
}

export interface SidecarLaunch {
  /** The command before `sidecar --config FILE` (default: this Node.js and cmd/dicom-guard.ts). */
  command?: readonly [string, ...string[]];
  /** Run as this user and group (the image's 65532); the config folder is then made readable to it. */
  user?: { uid: number; gid: number };
  /** Added to this process's environment (a pod's downward API variables, KUBERNETES_SERVICE_HOST). */
  env?: NodeJS.ProcessEnv;
  /**
   * Directories seen by the sidecar where the kubelet would mount them in a pod (the
   * service account token at SERVICE_ACCOUNT_DIR, the rendered config and Secrets under
   * /etc/dicom-guard): bind mounts in a mount namespace of the sidecar's own (unshare, as
   * root), so the sidecar reads exactly the paths it reads in a pod. On this machine only
   * the empty mount points are made.
   */
  mounts?: readonly { source: string; target: string }[];
}

export async function startSidecar(partial: PartialConfig, launch: SidecarLaunch = {}): Promise<SidecarProcess> {
  const config = await completeConfig(partial);
  const dir = await mkdtemp(join(tmpdir(), 'dg-sidecar-'));
  if (launch.user) await chmod(dir, 0o755);
  const configPath = join(dir, 'sidecar.yaml');
  const writeConfig = async (next: SidecarConfigInput | string) => {
    const temporary = `${configPath}.${process.hrtime.bigint()}`;
    await writeFile(temporary, typeof next === 'string' ? next : stringify(next));
    await rename(temporary, configPath);
  };
  await writeConfig(config);
  const base = [...(launch.command ?? [NODE, CLI]), 'sidecar', '--config', configPath];
  const mounts = launch.mounts ?? [];
  for (const { target } of mounts) await mkdir(target, { recursive: true });
  // sh -c SCRIPT source1 target1 ... -- command...: bind each pair, then exec the command.
  const script = 'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 111; shift 2; done; shift; exec "$@"';
  const [command, ...args] = mounts.length ? ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...mounts.flatMap((m) => [m.source, m.target]), '--', ...base] : base;
  const proc = start('sidecar', command!, args, {
    logFile: join(dir, 'sidecar.log'),
    ...(launch.env ? { env: { ...process.env, ...launch.env } } : {}),
    ...launch.user,
  });
  const logs = (): LogRecord[] =>
    proc
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogRecord);
  const audits = () => logs().filter((r) => r.audit === 'association') as (AuditRecord & LogRecord)[];
  const adminPort = config.admin!.port!;
  await waitFor(
    'sidecar /readyz',
    async () => {
      if (proc.child.exitCode !== null) throw new GaveUp(`sidecar exited ${proc.child.exitCode}: ${proc.output()}`);
      const response = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
      return response.ok;
    },
    20_000,
  );
  return {
    port: config.listen!.port!,
    adminPort,
    configPath,
    dir,
    process: proc,
    logs,
    audits,
    waitForAudit: (predicate, timeoutMs = 15_000) => waitFor('an audit record', () => audits().find(predicate), timeoutMs),
    waitForLog: (predicate, timeoutMs = 15_000) => waitFor('a log record', () => logs().find(predicate), timeoutMs),
    writeConfig,
    metrics: async () => (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text(),
    async stop(signal = 'SIGTERM') {
      const code = await proc.stop(signal, 15_000);
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
