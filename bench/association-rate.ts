// Benchmark 2: sequential associations per second. One association at a time
// (connect, A-ASSOCIATE-RQ, AC, A-RELEASE-RQ, RP, close, both FINs seen) from a Node
// loop in this process, for a fixed time per path and round, to storescp. With `jwt`, one
// more sidecar requires a user identity and verifies the JWT each association presents
// ("sidecar jwt"), measured against the sidecar without identity in the same rounds.
// With `atna`, two more such sidecars send DICOM audit messages (a Login and a Logout per
// association) by syslog over TLS: one to a running repository ("sidecar jwt atna"), one
// to a port where nothing listens ("sidecar jwt atna-down", its queue overflowing): the
// repository must never slow the associations.
import { cpuSecondsOf } from './process-usage.ts';
import { associateAndRelease, associateRequest } from './association-client.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT, startPaths, startSidecarPath, stopPaths, type Path } from './paths.ts';
import { createJwtIdentity } from './jwt-identity.ts';
import { startStoreSink } from './store-sink.ts';
import { median, ratio, summarize, type Summary } from './statistics.ts';

export interface AssociationRatePath {
  perSecond: Summary;
  ratioToDirect: number;
  /** Median time of one whole association, microseconds (all rounds pooled). */
  medianMicroseconds: number;
  /** CPU time the proxy used per association, microseconds. */
  proxyCpuMicroseconds?: Summary;
}

export interface AssociationRateResult {
  secondsPerRound: number;
  repeats: number;
  /** By path name: direct, nginx, sidecar (and "sidecar <node args>"). */
  paths: Record<string, AssociationRatePath>;
}

export interface AssociationRateOptions {
  seconds: number;
  warmupSeconds: number;
  repeats: number;
  sidecarNodeArgs?: readonly string[];
  /** Also measure a sidecar verifying a JWT identity on every association. */
  jwt?: boolean;
  /** With jwt: the same sidecar sending audit messages to this repository, and to a dead port. */
  atna?: { host: string; port: number; deadPort: number; caFile: string; serverName: string };
  log: (line: string) => void;
}

const CALLED = 'PACS';

/** Associations completed one after another for `seconds`; their durations in microseconds. */
async function loop(port: number, request: Uint8Array, seconds: number): Promise<number[]> {
  const durations: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  for (;;) {
    const started = process.hrtime.bigint();
    if (started >= deadline) return durations;
    await associateAndRelease(port, request);
    durations.push(Number(process.hrtime.bigint() - started) / 1000);
  }
}

export async function measureAssociationRate(options: AssociationRateOptions): Promise<AssociationRateResult> {
  const { seconds, warmupSeconds, repeats, sidecarNodeArgs, log } = options;
  const request = associateRequest(CALLED, 'BENCH');
  const ready = (port: number) => associateAndRelease(port, request, 5000);
  const sink = await startStoreSink({ maxPdu: 16384, aeTitle: CALLED, ready });
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-rate-'));
  let paths: Path[] = [];
  /** The A-ASSOCIATE-RQ each path is sent: the JWT sidecar's carries the token. */
  const requests = new Map<string, Uint8Array>();
  const requestOf = (path: Path) => requests.get(path.name) ?? request;
  try {
    paths = await startPaths({ upstreamPort: sink.port, calledAETitle: CALLED, ready, ...(sidecarNodeArgs ? { sidecarNodeArgs } : {}) });
    if (options.jwt) {
      const jwt = await createJwtIdentity(dir);
      const withToken = associateRequest(CALLED, 'BENCH', jwt.userIdentity);
      const path = await startSidecarPath({ upstreamPort: sink.port, calledAETitle: CALLED, ready: (port) => associateAndRelease(port, withToken, 5000) }, undefined, jwt.variant);
      paths.push(path);
      requests.set(path.name, withToken);
      for (const [label, port] of options.atna ? ([['jwt atna', options.atna.port], ['jwt atna-down', options.atna.deadPort]] as const) : []) {
        const atna = options.atna!;
        const variant = { label, config: { ...jwt.variant.config, audit: { syslog: { host: atna.host, port, caFile: atna.caFile, serverName: atna.serverName, queueSize: 1000 } } } };
        const audited = await startSidecarPath({ upstreamPort: sink.port, calledAETitle: CALLED, ready: (p) => associateAndRelease(p, withToken, 5000) }, undefined, variant);
        paths.push(audited);
        requests.set(audited.name, withToken);
      }
    }
    for (const path of paths) {
      const warm = await loop(path.port, requestOf(path), warmupSeconds);
      log(`  warm-up: ${path.name} ${warm.length} associations`);
    }
    const rates = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const durations = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const cpu = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    for (let round = 0; round < repeats; round++) {
      const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
      for (const path of order) {
        const cpuBefore = path.pid ? await cpuSecondsOf(path.pid) : 0;
        const started = process.hrtime.bigint();
        const done = await loop(path.port, requestOf(path), seconds);
        const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
        rates.get(path.name)!.push(done.length / elapsed);
        durations.get(path.name)!.push(...done);
        if (path.pid) cpu.get(path.name)!.push((((await cpuSecondsOf(path.pid)) - cpuBefore) / done.length) * 1e6);
        log(`  round ${round + 1}/${repeats} ${path.name.padEnd(7)} ${(done.length / elapsed).toFixed(0)} associations/s`);
      }
    }
    const direct = summarize(rates.get(DIRECT)!);
    const result: Record<string, AssociationRatePath> = {};
    for (const path of paths) {
      const perSecond = summarize(rates.get(path.name)!);
      result[path.name] = {
        perSecond,
        ratioToDirect: ratio(perSecond, direct),
        medianMicroseconds: median(durations.get(path.name)!),
        ...(path.pid ? { proxyCpuMicroseconds: summarize(cpu.get(path.name)!) } : {}),
      };
    }
    return { secondsPerRound: seconds, repeats, paths: result };
  } finally {
    await stopPaths(paths);
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
