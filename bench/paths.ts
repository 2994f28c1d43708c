// The three ways a client reaches the same acceptor, measured side by side: direct (the
// baseline), through nginx's stream proxy (what a DICOM-unaware relay costs) and through
// the sidecar as users run it (`dicom-guard sidecar --config FILE`).
import type { SidecarConfigInput } from '../sidecar/config/schema.ts';
import { startSidecar } from '../test/harness/sidecar.ts';
import { startNginxStream } from './nginx-stream.ts';

export const PATH_NAMES = ['direct', 'nginx', 'sidecar'] as const;
export type PathName = (typeof PATH_NAMES)[number];

export interface Path {
  name: PathName;
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
}

export async function startSidecarPath(options: PathOptions): Promise<Path> {
  const sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: options.upstreamPort },
    calledAETitles: [options.calledAETitle],
    peers: [{ name: 'bench', aeTitles: ['*'] }],
    ...(options.limits ? { limits: options.limits } : {}),
    // The level production runs at: one audit line per association is part of the cost.
    log: { level: 'info' },
  });
  await options.ready(sidecar.port);
  return {
    name: 'sidecar',
    port: sidecar.port,
    pid: sidecar.process.child.pid,
    async stop() {
      await sidecar.stop();
    },
  };
}

/** Direct, nginx and the sidecar in front of the acceptor on `upstreamPort`. */
export async function startPaths(options: PathOptions): Promise<Path[]> {
  const paths: Path[] = [{ name: 'direct', port: options.upstreamPort, pid: undefined, stop: async () => undefined }];
  try {
    const nginx = await startNginxStream(options.upstreamPort, options.ready);
    paths.push({ name: 'nginx', port: nginx.port, pid: nginx.process.child.pid, stop: () => nginx.stop() });
    paths.push(await startSidecarPath(options));
  } catch (error) {
    await stopPaths(paths);
    throw error;
  }
  return paths;
}

export async function stopPaths(paths: readonly Path[]): Promise<void> {
  await Promise.all(paths.map((p) => p.stop()));
}
