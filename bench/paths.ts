// The ways a client reaches the same acceptor, measured side by side: direct (the
// baseline), through nginx's stream proxy (what a DICOM-unaware relay costs) and through
// the sidecar as users run it (`dicom-guard sidecar --config FILE`). With
// --sidecar-node-args a second sidecar runs the same config under other Node.js/V8
// flags, so a proposed runtime setting is measured against the default in the same run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SidecarConfigInput } from '../sidecar/config/schema.ts';
import { completeConfig } from '../test/harness/sidecar.ts';
import { start, waitFor } from '../test/harness/processes.ts';
import { CLI, NODE } from '../test/harness/tools.ts';
import { startNginxStream } from './nginx-stream.ts';

/** The baseline every ratio is taken against, and the proxy the sidecar is held to. */
export const DIRECT = 'direct';
export const NGINX = 'nginx';
export const SIDECAR = 'sidecar';

export interface Path {
  /** direct, nginx, sidecar, or "sidecar <node args>". */
  name: string;
  port: number;
  /** The proxy's process (nginx's master; its worker is counted as a child); none for direct. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface PathOptions {
  upstreamPort: number;
  calledAETitle: string;
  /** Answers once a path is ready (an association through it). */
  ready: (port: number) => Promise<unknown>;
  limits?: SidecarConfigInput['limits'];
  /** Also run a sidecar under these node flags (e.g. ["--max-semi-space-size=1"]). */
  sidecarNodeArgs?: readonly string[];
}

/**
 * `node [nodeArgs] cmd/dicom-guard.ts sidecar --config FILE`, ready once /readyz answers
 * and an association passed. (test/harness/sidecar.ts starts it without node flags.)
 */
export async function startSidecarPath(options: PathOptions, nodeArgs: readonly string[] = []): Promise<Path> {
  const config = await completeConfig({
    upstream: { host: '127.0.0.1', port: options.upstreamPort },
    calledAETitles: [options.calledAETitle],
    peers: [{ name: 'bench', aeTitles: ['*'] }],
    ...(options.limits ? { limits: options.limits } : {}),
    // The level production runs at: one audit line per association is part of the cost.
    log: { level: 'info' },
  });
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-sidecar-'));
  const configPath = join(dir, 'sidecar.yaml');
  await writeFile(configPath, stringify(config));
  // stdout is a pipe, as under a container runtime (the harness keeps what it reads).
  const proc = start('sidecar', NODE, [...nodeArgs, CLI, 'sidecar', '--config', configPath], { logFile: join(dir, 'sidecar.log') });
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
  return { name: nodeArgs.length ? `${SIDECAR} ${nodeArgs.join(' ')}` : SIDECAR, port, pid: proc.child.pid, stop };
}

/** Direct, nginx and the sidecar (and the sidecar under other node flags) in front of the acceptor. */
export async function startPaths(options: PathOptions): Promise<Path[]> {
  const paths: Path[] = [{ name: DIRECT, port: options.upstreamPort, pid: undefined, stop: async () => undefined }];
  try {
    const nginx = await startNginxStream(options.upstreamPort, options.ready);
    paths.push({ name: NGINX, port: nginx.port, pid: nginx.process.child.pid, stop: () => nginx.stop() });
    paths.push(await startSidecarPath(options));
    if (options.sidecarNodeArgs?.length) paths.push(await startSidecarPath(options, options.sidecarNodeArgs));
  } catch (error) {
    await stopPaths(paths);
    throw error;
  }
  return paths;
}

export async function stopPaths(paths: readonly Path[]): Promise<void> {
  await Promise.all(paths.map((p) => p.stop()));
}
