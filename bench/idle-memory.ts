// Benchmark 3: the sidecar's resident memory with many idle associations. "Idle" means
// the realistic case: associations accepted, relayed and established with the upstream
// (two sockets, two relays and an audit record each in the sidecar), with no traffic.
// Connections that never send an A-ASSOCIATE-RQ would cost less and time out (ARTIM).
// The upstream is a Node acceptor (accepting-upstream.ts) because storescp serves one
// association at a time.
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryOf } from './process-usage.ts';
import { associateAndRelease, associateRequest, openAssociation, type OpenAssociation } from './association-client.ts';
import { startAcceptingUpstream } from './accepting-upstream.ts';
import { startSidecarPath } from './paths.ts';
import { median, summarize, type Summary } from './statistics.ts';
import { waitFor } from '../test/harness/processes.ts';

export interface IdleMemorySidecar {
  /** RSS of the started sidecar that has relayed one association, before the rounds. */
  baselineRssMiB: number;
  /** RSS with all associations open, per round. */
  rssMiB: Summary;
  /** (RSS open - baseline) / associations. */
  kibPerAssociation: number;
  /** RSS after the round's associations were released, per round. */
  rssAfterReleaseMiB: Summary;
  peakRssMiB: number;
  secondsToOpen: Summary;
}

export interface IdleMemoryResult {
  associations: number;
  repeats: number;
  /** By sidecar: "sidecar" (and "sidecar <node args>"). */
  sidecars: Record<string, IdleMemorySidecar>;
}

export interface IdleMemoryOptions {
  associations: number;
  repeats: number;
  sidecarNodeArgs?: readonly string[];
  log: (line: string) => void;
}

const CALLED = 'PACS';
/** Associations being set up at once: below Node's default listen backlog (511). */
const CONCURRENCY = 50;

/** `work(0 .. count-1)`, at most `concurrency` at a time; the results in index order. */
export async function inBatches<T>(count: number, work: (index: number) => Promise<T>, concurrency = CONCURRENCY): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** The median VmRSS of a few readings, in MiB: one reading can land in the middle of a collection. */
export async function sampleRss(pid: number, samples = 5, intervalMs = 200): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push((await memoryOf(pid)).rssMiB);
    await sleep(intervalMs);
  }
  return median(values);
}

async function measureOne(nodeArgs: readonly string[] | undefined, options: IdleMemoryOptions): Promise<[string, IdleMemorySidecar]> {
  const { associations, repeats, log } = options;
  const request = associateRequest(CALLED, 'BENCH');
  const upstream = await startAcceptingUpstream();
  const ready = (port: number) => associateAndRelease(port, request, 5000);
  try {
    const sidecar = await startSidecarPath(
      {
        upstreamPort: upstream.port,
        calledAETitle: CALLED,
        ready,
        limits: { maxAssociations: associations * 2, maxAssociationsPerPeer: associations * 2 },
      },
      nodeArgs,
    );
    try {
      const pid = sidecar.pid!;
      await sleep(1000);
      const baselineRssMiB = await sampleRss(pid);
      log(`  ${sidecar.name}: ${baselineRssMiB.toFixed(1)} MiB after start`);
      const open: number[] = [];
      const afterRelease: number[] = [];
      const openSeconds: number[] = [];
      for (let round = 0; round < repeats; round++) {
        const started = process.hrtime.bigint();
        const held: OpenAssociation[] = await inBatches(associations, () => openAssociation(sidecar.port, request, AbortSignal.timeout(30_000)));
        openSeconds.push(Number(process.hrtime.bigint() - started) / 1e9);
        await waitFor(`${associations} associations at the upstream`, () => upstream.open >= associations, 30_000);
        await sleep(2000); // let the sidecar settle (GC, timers) before sampling
        open.push(await sampleRss(pid));
        await inBatches(held.length, (i) => held[i]!.release());
        await waitFor('the upstream to see every association released', () => upstream.open === 0, 30_000);
        await sleep(2000);
        afterRelease.push(await sampleRss(pid));
        log(`  ${sidecar.name} round ${round + 1}/${repeats}: ${open.at(-1)!.toFixed(1)} MiB with ${associations} open, ${afterRelease.at(-1)!.toFixed(1)} MiB after release`);
      }
      const rssMiB = summarize(open);
      return [
        sidecar.name,
        {
          baselineRssMiB,
          rssMiB,
          kibPerAssociation: ((rssMiB.median - baselineRssMiB) * 1024) / associations,
          rssAfterReleaseMiB: summarize(afterRelease),
          peakRssMiB: (await memoryOf(pid)).peakRssMiB,
          secondsToOpen: summarize(openSeconds),
        },
      ];
    } finally {
      await sidecar.stop();
    }
  } finally {
    await upstream.close();
  }
}

/** A fresh sidecar (and one under the extra node flags) per measurement, each with its own acceptor. */
export async function measureIdleMemory(options: IdleMemoryOptions): Promise<IdleMemoryResult> {
  const sidecars: Record<string, IdleMemorySidecar> = {};
  for (const nodeArgs of options.sidecarNodeArgs ? [undefined, options.sidecarNodeArgs] : [undefined]) {
    const [name, result] = await measureOne(nodeArgs, options);
    sidecars[name] = result;
  }
  return { associations: options.associations, repeats: options.repeats, sidecars };
}
