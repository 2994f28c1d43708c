// Benchmark 5 (soak): does the sidecar's memory keep growing with the associations it
// has relayed, or level off? Issue 14: a user saw its RSS go from 101 to 136 MiB over
// ~1000 associations, several of them 50 MB C-STOREs. Here a few clients at a time run
// a mix like theirs through one sidecar: mostly small associations (associate, one
// C-ECHO or one small C-STORE, release; built in this process, dimse.ts), and every
// `largeEvery`-th a large C-STORE by storescu. The acceptor is storescp --fork --ignore,
// which serves them at once and writes nothing.
//
// After every `sampleEvery` associations the clients pause and the sidecar is sampled:
// VmRSS from /proc, and the V8 heap (used, total) and external memory from its own
// Prometheus default metrics. RSS alone cannot tell a leak from an allocator or a heap
// that grew to a high-water mark and stays there; the heap used can, when read over many
// samples: it includes garbage not yet collected (a saw-tooth), but a leak shows as a
// rising floor. The slopes over the second half of the samples are the verdict.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeImage } from '../test/harness/dicom-file.ts';
import { memoryOf } from './process-usage.ts';
import { associateAndRelease, associateRequest, IMPLICIT_LITTLE, openAssociation, VERIFICATION } from './association-client.ts';
import { echoRequest, EXPLICIT_LITTLE, expectSuccess, smallObject, storeRequest, type SmallObject } from './dimse.ts';
import { inBatches, sampleRss } from './idle-memory.ts';
import { startSidecarPath, type Path } from './paths.ts';
import { startStoreSink } from './store-sink.ts';
import { storeOnce } from './store-throughput.ts';
import { linearFit, type LinearFit } from './statistics.ts';

export interface MemorySample {
  /** Associations run so far (those that failed included). */
  associations: number;
  /** Since the first association. */
  seconds: number;
  rssMiB: number;
  /** V8's heap: used (live objects and garbage not yet collected) and reserved. */
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** Memory outside the heap held by JS objects: Buffers' and ArrayBuffers' backing stores. */
  externalMiB: number;
}

/** Growth per 1000 associations over the samples from `fromAssociations` on, in KiB. */
export interface MemorySlopes {
  fromAssociations: number;
  toAssociations: number;
  samples: number;
  rss: LinearFit;
  heapUsed: LinearFit;
  external: LinearFit;
}

export interface AssociationMemorySidecar {
  /** The first at 0: the started sidecar that has relayed the readiness association. */
  samples: MemorySample[];
  slopes: MemorySlopes;
  peakRssMiB: number;
  /** Associations that completed, by kind. */
  completed: { echo: number; store: number; large: number };
  failed: number;
  firstFailure?: string;
  /** Why the run ended before `associations` (the time bound, or too many failures). */
  stoppedEarly?: string;
  seconds: number;
}

export interface AssociationMemoryResult {
  associations: number;
  sampleEvery: number;
  largeEvery: number;
  largeMiB: number;
  smallStoreBytes: number;
  concurrency: number;
  /** By sidecar: "sidecar" (and "sidecar <node args>"). */
  sidecars: Record<string, AssociationMemorySidecar>;
}

export interface AssociationMemoryOptions {
  associations: number;
  sampleEvery: number;
  /** Every `largeEvery`-th association is a large C-STORE. */
  largeEvery: number;
  largeMiB: number;
  sidecarNodeArgs?: readonly string[];
  log: (line: string) => void;
}

const CALLED = 'PACS';
/** A few clients at a time, as a handful of modalities would: 2 cores also run them, storescp and the sidecar. */
const CONCURRENCY = 4;
/** storescp's and storescu's default maximum PDU (DCMTK). */
const MAX_PDU = 16384;
/** 64 x 64 x 16 bits: 8 KiB of pixel data, the data set in one P-DATA-TF under MAX_PDU. */
const SMALL_ROWS = 64;
const SMALL_COLUMNS = 64;
/** Large images are LARGE_COLUMNS wide and as many rows as the size needs (at most 65535, a US). */
const LARGE_COLUMNS = 4096;
/** Bounds on one small association, and on a whole run: the loop ends in time, done or not. */
const ASSOCIATION_TIMEOUT_MS = 10_000;
const MAX_RUN_SECONDS = 1200;
const MAX_FAILURES = 10;
/** Before each sample: let the sidecar finish closing what the last associations left (sockets, audit lines). */
const SETTLE_MS = 1000;
const MIB = 1024 * 1024;

const ECHO_CONTEXT = 1;
const STORE_CONTEXT = 3;

/** Every association proposes both, as a modality proposes all it may need. */
const contextsFor = (object: SmallObject) => [
  { id: ECHO_CONTEXT, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LITTLE] },
  { id: STORE_CONTEXT, abstractSyntax: object.sopClassUid, transferSyntaxes: [EXPLICIT_LITTLE] },
];

type Kind = 'echo' | 'store' | 'large';

/** Association `index` (from 0): every `largeEvery`-th large, the others C-ECHO and small C-STORE in turn. */
function kindOf(index: number, largeEvery: number): Kind {
  if ((index + 1) % largeEvery === 0) return 'large';
  return index % 2 === 0 ? 'echo' : 'store';
}

/** Associate, one C-ECHO or one small C-STORE, release, close; bounded by ASSOCIATION_TIMEOUT_MS. */
async function smallAssociation(port: number, request: Uint8Array, kind: 'echo' | 'store', object: SmallObject): Promise<void> {
  const signal = AbortSignal.timeout(ASSOCIATION_TIMEOUT_MS);
  const association = await openAssociation(port, request, signal);
  const onAbort = () => association.socket.destroy(new Error(`${kind} association not completed: ${String(signal.reason)}`));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const pdus = kind === 'echo' ? echoRequest(ECHO_CONTEXT, 1) : storeRequest(STORE_CONTEXT, 1, object, association.maxPduLength || Number.MAX_SAFE_INTEGER);
    expectSuccess(await association.exchange(pdus), kind);
    await association.release();
  } finally {
    signal.removeEventListener('abort', onAbort);
    association.socket.destroy();
  }
}

/** One gauge of the sidecar's /metrics (prom-client's text format, no labels). */
function gauge(metrics: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)`, 'm').exec(metrics);
  if (!match) throw new Error(`the sidecar's /metrics has no ${name}`);
  return Number(match[1]);
}

async function sample(path: Path, associations: number, seconds: number): Promise<MemorySample> {
  await sleep(SETTLE_MS);
  const rssMiB = await sampleRss(path.pid!, 3, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${path.adminPort!}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return {
    associations,
    seconds,
    rssMiB,
    heapUsedMiB: gauge(metrics, 'dicomguard_sidecar_nodejs_heap_size_used_bytes') / MIB,
    heapTotalMiB: gauge(metrics, 'dicomguard_sidecar_nodejs_heap_size_total_bytes') / MIB,
    externalMiB: gauge(metrics, 'dicomguard_sidecar_nodejs_external_memory_bytes') / MIB,
  };
}

/** Slopes over the second half of the run (at least 3 samples): past the start-up, where a plateau would be flat. */
function slopesOf(samples: readonly MemorySample[]): MemorySlopes {
  const last = samples.at(-1)!.associations;
  let tail = samples.filter((s) => s.associations >= last / 2);
  if (tail.length < 3) tail = samples.slice(-3);
  const xs = tail.map((s) => s.associations / 1000);
  const fit = (mib: (s: MemorySample) => number) => {
    const { slope, standardError } = linearFit(xs, tail.map((s) => mib(s) * 1024));
    return { slope, standardError };
  };
  return {
    fromAssociations: tail[0]!.associations,
    toAssociations: last,
    samples: tail.length,
    rss: fit((s) => s.rssMiB),
    heapUsed: fit((s) => s.heapUsedMiB),
    external: fit((s) => s.externalMiB),
  };
}

async function measureOne(nodeArgs: readonly string[] | undefined, files: { small: SmallObject; large: string }, options: AssociationMemoryOptions): Promise<[string, AssociationMemorySidecar]> {
  const { associations, sampleEvery, largeEvery, log } = options;
  const request = associateRequest(CALLED, 'BENCH', undefined, contextsFor(files.small));
  const ready = (port: number) => associateAndRelease(port, request, 5000);
  const sink = await startStoreSink({ maxPdu: MAX_PDU, aeTitle: CALLED, fork: true, ready });
  try {
    const sidecar = await startSidecarPath({ upstreamPort: sink.port, calledAETitle: CALLED, ready }, nodeArgs);
    try {
      const completed = { echo: 0, store: 0, large: 0 };
      let failed = 0;
      let firstFailure: string | undefined;
      let stoppedEarly: string | undefined;
      let run = 0;
      const started = process.hrtime.bigint();
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
      const one = async (index: number) => {
        if (stoppedEarly) return;
        if (elapsed() > MAX_RUN_SECONDS) {
          stoppedEarly = `the run's time bound (${MAX_RUN_SECONDS} s) passed`;
          return;
        }
        run++;
        const kind = kindOf(index, largeEvery);
        try {
          if (kind === 'large') await storeOnce(sidecar, [files.large], MAX_PDU);
          else await smallAssociation(sidecar.port, request, kind, files.small);
          completed[kind]++;
        } catch (error) {
          failed++;
          firstFailure ??= `association ${index} (${kind}): ${(error as Error).message}`;
          if (failed >= MAX_FAILURES) stoppedEarly = `${failed} associations failed`;
        }
      };
      const samples = [await sample(sidecar, 0, 0)];
      const show = (s: MemorySample) =>
        log(`  ${sidecar.name} ${String(s.associations).padStart(String(associations).length)}/${associations} (${s.seconds.toFixed(0)} s): ` +
          `RSS ${s.rssMiB.toFixed(1)} MiB, heap used ${s.heapUsedMiB.toFixed(1)} of ${s.heapTotalMiB.toFixed(1)} MiB, external ${s.externalMiB.toFixed(1)} MiB`);
      show(samples[0]!);
      for (let next = 0; next < associations && !stoppedEarly; next += sampleEvery) {
        await inBatches(Math.min(sampleEvery, associations - next), (i) => one(next + i), CONCURRENCY);
        const seconds = elapsed();
        samples.push(await sample(sidecar, run, seconds));
        show(samples.at(-1)!);
      }
      if (firstFailure) log(`  ${failed} failed; the first: ${firstFailure}`);
      if (stoppedEarly) log(`  stopped after ${run} associations: ${stoppedEarly}`);
      return [
        sidecar.name,
        {
          samples,
          slopes: slopesOf(samples),
          peakRssMiB: (await memoryOf(sidecar.pid!)).peakRssMiB,
          completed,
          failed,
          ...(firstFailure ? { firstFailure } : {}),
          ...(stoppedEarly ? { stoppedEarly } : {}),
          seconds: elapsed(),
        },
      ];
    } finally {
      await sidecar.stop();
    }
  } finally {
    await sink.stop();
  }
}

/** A fresh sidecar (and one under the extra node flags) per measurement, each with its own storescp. */
export async function measureAssociationMemory(options: AssociationMemoryOptions): Promise<AssociationMemoryResult> {
  const rows = Math.round((options.largeMiB * MIB) / (LARGE_COLUMNS * 2));
  if (rows < 1 || rows > 65535) throw new Error(`a large C-STORE of ${options.largeMiB} MiB is outside what ${LARGE_COLUMNS}-column images can hold (1-511 MiB)`);
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-soak-'));
  try {
    const small = await smallObject(join(dir, 'small.dcm'), SMALL_ROWS, SMALL_COLUMNS);
    const large = await writeImage(join(dir, 'large.dcm'), { rows, columns: LARGE_COLUMNS });
    options.log(`  small C-STORE: ${small.dataSet.length} bytes; large: ${(large.bytes / MIB).toFixed(1)} MiB every ${options.largeEvery}th association`);
    const sidecars: Record<string, AssociationMemorySidecar> = {};
    for (const nodeArgs of options.sidecarNodeArgs ? [undefined, options.sidecarNodeArgs] : [undefined]) {
      const [name, result] = await measureOne(nodeArgs, { small, large: large.path }, options);
      sidecars[name] = result;
    }
    return {
      associations: options.associations,
      sampleEvery: options.sampleEvery,
      largeEvery: options.largeEvery,
      largeMiB: large.bytes / MIB,
      smallStoreBytes: small.dataSet.length,
      concurrency: CONCURRENCY,
      sidecars,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
