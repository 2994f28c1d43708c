// The comparison proxy: Debian's nginx with the stream module, a plain TCP relay with no
// idea of DICOM. Its config is written at run time into a temp dir, with every path
// nginx writes (pid, error log) inside it, so it runs as any user. One worker process,
// like the sidecar's one event loop.
//
// With a certificate it terminates TLS (Debian builds the stream module with stream_ssl:
// `nginx -V` shows --with-stream_ssl_module), held to what the sidecar offers: TLS 1.2
// and 1.3, the same BCP 195 suites in the same order, the server's order preferred, the
// same curves. Its access log records the protocol and suite each connection negotiated.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/harness/ports.ts';
import { start, waitFor, type Running } from '../test/harness/processes.ts';
import { requireProgram } from '../test/harness/tools.ts';
import { BCP195_CIPHERS } from '../sidecar/tls/context.ts';
import type { ServerTls } from './paths.ts';

export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface NginxStream {
  port: number;
  process: Running;
  /** With TLS, one line per closed connection: "TLSv1.3 TLS_AES_128_GCM_SHA256". */
  accessLog(): string;
  stop(): Promise<void>;
}

/** The sidecar's suites (sidecar/tls/context.ts), split the way OpenSSL takes them: TLS 1.3 suites apart. */
function tlsLines(tls: ServerTls): string[] {
  const suites = BCP195_CIPHERS.split(':');
  return [
    `    ssl_certificate ${tls.cert};`,
    `    ssl_certificate_key ${tls.key};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    `    ssl_ciphers ${suites.filter((s) => !s.startsWith('TLS_')).join(':')};`,
    `    ssl_conf_command Ciphersuites ${suites.filter((s) => s.startsWith('TLS_')).join(':')};`,
    '    ssl_prefer_server_ciphers on;',
    '    ssl_ecdh_curve X25519:prime256v1:secp384r1;',
  ];
}

export function nginxConfig(dir: string, listenPort: number, upstreamPort: number, tls?: ServerTls): string {
  return [
    `load_module ${STREAM_MODULE};`,
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    // The memory benchmark holds 1000 connections, each two sockets in nginx.
    'events { worker_connections 4096; }',
    'stream {',
    // Plain: no access log, as before (the association-rate baseline stays what it was).
    ...(tls ? ["  log_format negotiated '$ssl_protocol $ssl_cipher';", `  access_log ${join(dir, 'access.log')} negotiated;`] : []),
    '  server {',
    `    listen 127.0.0.1:${listenPort}${tls ? ' ssl' : ''};`,
    ...(tls ? tlsLines(tls) : []),
    `    proxy_pass 127.0.0.1:${upstreamPort};`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Start nginx relaying a free loopback port to `upstreamPort` (terminating TLS with `tls`);
 * resolves once `ready` passes through it.
 */
export async function startNginxStream(upstreamPort: number, ready: (port: number) => Promise<unknown>, tls?: ServerTls): Promise<NginxStream> {
  const binary = requireProgram('nginx');
  if (!existsSync(STREAM_MODULE)) throw new Error(`${STREAM_MODULE} is missing; install the test dependencies with: bash test/setup/install.sh (libnginx-mod-stream)`);
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-nginx-'));
  const port = await freePort();
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, nginxConfig(dir, port, upstreamPort, tls));
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
    accessLog() {
      try {
        return readFileSync(join(dir, 'access.log'), 'utf8');
      } catch {
        return '';
      }
    },
    async stop() {
      await proc.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
