// The comparison proxy: Debian's nginx with the stream module, a plain TCP relay with no
// idea of DICOM. Its config is written at run time into a temp dir, with every path
// nginx writes (pid, error log) inside it, so it runs as any user. One worker process,
// like the sidecar's one event loop.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/harness/ports.ts';
import { start, waitFor, type Running } from '../test/harness/processes.ts';
import { requireProgram } from '../test/harness/tools.ts';

export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface NginxStream {
  port: number;
  process: Running;
  stop(): Promise<void>;
}

export function nginxConfig(dir: string, listenPort: number, upstreamPort: number): string {
  return [
    `load_module ${STREAM_MODULE};`,
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    // The memory benchmark holds 1000 connections, each two sockets in nginx.
    'events { worker_connections 4096; }',
    'stream {',
    '  server {',
    `    listen 127.0.0.1:${listenPort};`,
    `    proxy_pass 127.0.0.1:${upstreamPort};`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Start nginx relaying a free loopback port to `upstreamPort`; resolves once `ready` passes through it. */
export async function startNginxStream(upstreamPort: number, ready: (port: number) => Promise<unknown>): Promise<NginxStream> {
  const binary = requireProgram('nginx');
  if (!existsSync(STREAM_MODULE)) throw new Error(`${STREAM_MODULE} is missing; install the test dependencies with: bash test/setup/install.sh (libnginx-mod-stream)`);
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-nginx-'));
  const port = await freePort();
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, nginxConfig(dir, port, upstreamPort));
  // -e: the error log before the config is read (else nginx tries /var/log/nginx as non-root).
  const proc = start('nginx', binary, ['-p', dir, '-c', configPath, '-e', join(dir, 'error.log')], { cwd: dir });
  try {
    await waitFor(`nginx relaying port ${port}`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`nginx exited ${proc.child.exitCode}: ${proc.output()}`);
      await ready(port);
      return true;
    }, 15_000, 100);
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return {
    port,
    process: proc,
    async stop() {
      await proc.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
