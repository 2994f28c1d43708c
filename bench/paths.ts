// The ways a client reaches the same acceptor, measured side by side: direct (the
// baseline), through nginx's stream proxy (what a DICOM-unaware relay costs), through a
// 10-line Node.js relay (node-relay.mjs: the floor of any proxy written for Node.js) and
// through the sidecar as the image runs it (`node bin/dicom-guard.js sidecar --config FILE`,
// compiled JavaScript: see compiled.ts). With --sidecar-node-args a second sidecar runs
// the same config as `node <flags> dist/cmd/dicom-guard.js sidecar`, past the launcher
// and its flag, so a runtime setting (or none) is measured against it in the same run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SidecarConfigInput } from '../sidecar/config/schema.ts';
import { completeConfig } from '../test/harness/sidecar.ts';
import { start, waitFor } from '../test/harness/processes.ts';
import { NODE } from '../test/harness/tools.ts';
import { COMPILED_CLI, LAUNCHER } from './compiled.ts';
import { startNginxStream } from './nginx-stream.ts';
import { freePort } from '../test/harness/ports.ts';
import { BCP195_CIPHERS } from '../sidecar/tls/context.ts';

/** The baseline every ratio is taken against, and the proxy the sidecar is held to. */
export const DIRECT = 'direct';
export const NGINX = 'nginx';
export const NODE_RELAY = 'node relay';
export const SIDECAR = 'sidecar';

export interface Path {
  /** direct, nginx, sidecar, or "sidecar <node args>", "sidecar (no node flags)", "sidecar <label>". */
  name: string;
  port: number;
  /** The proxy's process (nginx's master; its worker is counted as a child); none for direct. */
  pid: number | undefined;
  /** Whether a client speaks TLS to this port (the proxy terminates it; the acceptor is plain). */
  tls: boolean;
  /** The proxy's output so far (the sidecar's JSON log lines); none for direct. */
  output?: () => string;
  /** The sidecar's admin port (/metrics, /readyz); sidecars only. */
  adminPort?: number;
  stop(): Promise<void>;
}

/** A certificate and key for the proxies to serve TLS with (generated per run, test/harness/pki.ts). */
export interface ServerTls {
  cert: string;
  key: string;
}

export interface PathOptions {
  upstreamPort: number;
  calledAETitle: string;
  /** Answers once a path is ready (an association through it). */
  ready: (port: number) => Promise<unknown>;
  limits?: SidecarConfigInput['limits'];
  /** Also run a sidecar from dist/ directly under these node flags (none: []), past the launcher. */
  sidecarNodeArgs?: readonly string[];
  /** nginx and the sidecar terminate TLS with this certificate (direct stays plain TCP, as a reference). */
  tls?: ServerTls;
}

/** What sets a sidecar apart from the plain one: a name and the config it adds (identity, say). */
export interface SidecarVariant {
  label: string;
  config: Pick<SidecarConfigInput, 'identity' | 'audit'>;
}

/**
 * `node bin/dicom-guard.js sidecar --config FILE`, or with `nodeArgs`
 * `node [nodeArgs] dist/cmd/dicom-guard.js sidecar --config FILE`; ready once /readyz
 * answers and an association passed. (test/harness/sidecar.ts starts the .ts sources.)
 */
export async function startSidecarPath(options: PathOptions, nodeArgs?: readonly string[], variant?: SidecarVariant): Promise<Path> {
  const config = await completeConfig({
    upstream: { host: '127.0.0.1', port: options.upstreamPort },
    calledAETitles: [options.calledAETitle],
    peers: [{ name: 'bench', aeTitles: ['*'] }],
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.tls ? { tls: { mode: 'Required', certFile: options.tls.cert, keyFile: options.tls.key } } : {}),
    ...variant?.config,
    // The level production runs at: one audit line per association is part of the cost.
    log: { level: 'info' },
  });
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-sidecar-'));
  const configPath = join(dir, 'sidecar.yaml');
  await writeFile(configPath, stringify(config));
  // stdout is a pipe, as under a container runtime (the harness keeps what it reads).
  const command = nodeArgs ? [...nodeArgs, COMPILED_CLI] : [LAUNCHER];
  const proc = start('sidecar', NODE, [...command, 'sidecar', '--config', configPath], { logFile: join(dir, 'sidecar.log') });
  const port = config.listen!.port!;
  const stop = async () => {
    await proc.stop('SIGTERM', 15_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the sidecar to answer /readyz',
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`sidecar exited ${proc.child.exitCode}: ${proc.output().slice(-3000)}`);
        return (await fetch(`http://127.0.0.1:${config.admin!.port!}/readyz`)).ok;
      },
      30_000,
      100,
    );
    await options.ready(port);
  } catch (error) {
    await stop();
    throw error;
  }
  const flags = nodeArgs && (nodeArgs.length ? nodeArgs : ['(no node flags)']);
  const name = [SIDECAR, variant?.label, ...(flags ?? [])].filter(Boolean).join(' ');
  return { name, port, pid: proc.child.pid, tls: options.tls !== undefined, output: () => proc.output(), adminPort: config.admin!.port!, stop };
}

const RELAY_SCRIPT = join(import.meta.dirname, 'node-relay.mjs');

/** node-relay.mjs (terminating TLS with `options.tls`), ready once an association passed through it. */
async function startNodeRelay(options: PathOptions): Promise<Path> {
  const port = await freePort();
  const tlsFiles = options.tls ? [options.tls.cert, options.tls.key] : [];
  const proc = start('node-relay', NODE, [RELAY_SCRIPT, String(port), String(options.upstreamPort), ...tlsFiles], { env: { ...process.env, BCP195_CIPHERS } });
  const stop = async () => void (await proc.stop('SIGTERM', 5000));
  try {
    await waitFor('the node relay', async () => {
      if (proc.child.exitCode !== null) throw new Error(`node-relay.mjs exited ${proc.child.exitCode}: ${proc.output()}`);
      await options.ready(port);
      return true;
    }, 15_000, 100);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name: NODE_RELAY, port, pid: proc.child.pid, tls: options.tls !== undefined, stop };
}

/**
 * Direct, nginx, the Node.js relay and the sidecar (and the sidecar under other node
 * flags) in front of the acceptor; with `tls`, all but direct terminate TLS.
 */
export async function startPaths(options: PathOptions): Promise<Path[]> {
  const paths: Path[] = [{ name: DIRECT, port: options.upstreamPort, pid: undefined, tls: false, stop: async () => undefined }];
  try {
    const nginx = await startNginxStream(options.upstreamPort, options.ready, options.tls);
    paths.push({ name: NGINX, port: nginx.port, pid: nginx.process.child.pid, tls: options.tls !== undefined, output: () => nginx.accessLog(), stop: () => nginx.stop() });
    paths.push(await startNodeRelay(options));
    paths.push(await startSidecarPath(options));
    if (options.sidecarNodeArgs) paths.push(await startSidecarPath(options, options.sidecarNodeArgs));
  } catch (error) {
    await stopPaths(paths);
    throw error;
  }
  return paths;
}

export async function stopPaths(paths: readonly Path[]): Promise<void> {
  await Promise.all(paths.map((p) => p.stop()));
}
