// Benchmark 1: C-STORE of large images. One storescu association sends every generated
// object to storescp --ignore, timed from spawn to exit, over each path in turn; the
// rounds rotate the order of the paths so that a slow moment of the machine does not
// always land on the same one. With `tls`, nginx and the sidecar terminate TLS (storescu
// +tla +cf CA: anonymous TLS, the server's certificate checked) and direct stays plain
// TCP, the reference without any TLS.
import { memoryOf, cpuSecondsOf } from './process-usage.ts';
import { associateAndRelease, associateRequest } from './association-client.ts';
import { DIRECT, SIDECAR, startPaths, stopPaths, type Path, type ServerTls } from './paths.ts';
import { startStoreSink } from './store-sink.ts';
import { ratio, summarize, type Summary } from './statistics.ts';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { requireProgram } from '../test/harness/tools.ts';

export interface StoreThroughputPath {
  mibPerSecond: Summary;
  /** C-STORE operations per second: what counts when the instances are small. */
  objectsPerSecond: Summary;
  seconds: Summary;
  ratioToDirect: number;
  /** CPU seconds the proxy process used per GiB relayed (nginx: master + worker). */
  proxyCpuSecondsPerGiB?: Summary;
  /** The same CPU per C-STORE operation, in microseconds. */
  proxyCpuMicrosecondsPerObject?: Summary;
  /** The proxy's resident-memory high-water mark after all runs (sidecars only). */
  proxyPeakRssMiB?: number;
}

export interface StoreThroughputResult {
  maxPdu: number;
  objects: number;
  bytesPerAssociation: number;
  repeats: number;
  /** By path name: direct, nginx, sidecar (and "sidecar <node args>"). */
  paths: Record<string, StoreThroughputPath>;
  /** TLS runs: what each TLS path negotiated with storescu, e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256". */
  negotiated?: Record<string, string>;
}

/** The proxies serve `server`; storescu checks it against the CA file. */
export interface StoreTls {
  server: ServerTls;
  caFile: string;
}

export interface StoreThroughputOptions {
  files: readonly { path: string; bytes: number }[];
  maxPdu: number;
  repeats: number;
  sidecarNodeArgs?: readonly string[];
  tls?: StoreTls;
  /** Nagle's algorithm off in storescu and storescp (TCP_NODELAY=1, store-sink.ts): for small messages. */
  noDelay?: boolean;
  log: (line: string) => void;
}

const CALLED = 'PACS';
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** One storescu association sending every file; stdin closed (it exits early when refused). */
export async function storeOnce(path: Path, files: readonly string[], maxPdu: number, tls?: StoreTls, noDelay = false): Promise<void> {
  const tlsArgs = path.tls && tls ? ['+tla', '+cf', tls.caFile] : [];
  const args = [...tlsArgs, '--aetitle', 'BENCH', '--call', CALLED, '--max-pdu', String(maxPdu), '127.0.0.1', String(path.port), ...files];
  const env = noDelay ? { ...process.env, TCP_NODELAY: '1' } : process.env;
  const child = spawn(requireProgram('storescu'), args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000, env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | string>((resolve) => {
    child.on('error', (error) => resolve(`spawn error: ${error.message}`));
    child.on('close', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown'));
  });
  if (code !== 0) throw new Error(`storescu via ${path.name} exited ${code}: ${output.slice(-2000)}`);
}

/** What a TLS path negotiated, as the proxy recorded it (nginx's access log; the sidecar's audit record has the version). */
function negotiatedOn(path: Path): string {
  const lines = (path.output?.() ?? '').trim().split('\n');
  if (path.name.startsWith(SIDECAR)) {
    const audit = lines.filter((l) => l.includes('"audit":"association"')).at(-1);
    return audit ? String((JSON.parse(audit) as { tls?: { version?: string } }).tls?.version ?? 'no TLS in the audit record') : 'no audit record';
  }
  return lines.at(-1) ?? 'nothing logged';
}

export async function measureStoreThroughput(options: StoreThroughputOptions): Promise<StoreThroughputResult> {
  const { files, maxPdu, repeats, sidecarNodeArgs, tls, noDelay = false, log } = options;
  const request = associateRequest(CALLED, 'BENCH');
  const ready = (port: number) => associateAndRelease(port, request, 5000);
  const sink = await startStoreSink({ maxPdu, aeTitle: CALLED, noDelay, ready });
  let paths: Path[] = [];
  try {
    const clientTls = tls ? { ca: await readFile(tls.caFile, 'utf8') } : undefined;
    const readyThrough = (port: number) => associateAndRelease(port, request, 5000, clientTls);
    paths = await startPaths({ upstreamPort: sink.port, calledAETitle: CALLED, ready: readyThrough, ...(sidecarNodeArgs ? { sidecarNodeArgs } : {}), ...(tls ? { tls: tls.server } : {}) });
    const filePaths = files.map((f) => f.path);
    const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
    const negotiated: Record<string, string> = {};
    for (const path of paths) {
      log(`  warm-up: ${path.name}`);
      await storeOnce(path, filePaths, maxPdu, tls, noDelay);
      if (path.tls && path.output) negotiated[path.name] = negotiatedOn(path);
    }
    const seconds = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const cpuSeconds = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    for (let round = 0; round < repeats; round++) {
      const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
      for (const path of order) {
        const cpuBefore = path.pid ? await cpuSecondsOf(path.pid) : 0;
        const started = process.hrtime.bigint();
        await storeOnce(path, filePaths, maxPdu, tls, noDelay);
        const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
        seconds.get(path.name)!.push(elapsed);
        if (path.pid) cpuSeconds.get(path.name)!.push((await cpuSecondsOf(path.pid)) - cpuBefore);
        log(`  round ${round + 1}/${repeats} ${path.name.padEnd(7)} ${(bytes / MIB / elapsed).toFixed(0)} MiB/s, ${(files.length / elapsed).toFixed(0)} C-STORE/s`);
      }
    }
    const result: Record<string, StoreThroughputPath> = {};
    const throughputOf = (name: string) => summarize(seconds.get(name)!.map((s) => bytes / MIB / s));
    const direct = throughputOf(DIRECT);
    for (const path of paths) {
      const mibPerSecond = throughputOf(path.name);
      result[path.name] = {
        mibPerSecond,
        objectsPerSecond: summarize(seconds.get(path.name)!.map((s) => files.length / s)),
        seconds: summarize(seconds.get(path.name)!),
        ratioToDirect: ratio(mibPerSecond, direct),
        ...(path.pid
          ? {
              proxyCpuSecondsPerGiB: summarize(cpuSeconds.get(path.name)!.map((cpu) => cpu / (bytes / GIB))),
              proxyCpuMicrosecondsPerObject: summarize(cpuSeconds.get(path.name)!.map((cpu) => (cpu * 1e6) / files.length)),
            }
          : {}),
        ...(path.name.startsWith(SIDECAR) && path.pid ? { proxyPeakRssMiB: (await memoryOf(path.pid)).peakRssMiB } : {}),
      };
    }
    return { maxPdu, objects: files.length, bytesPerAssociation: bytes, repeats, paths: result, ...(tls ? { negotiated } : {}) };
  } finally {
    await stopPaths(paths);
    await sink.stop();
  }
}
