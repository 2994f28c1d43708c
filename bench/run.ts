// `npm run bench`: every benchmark in one run, each path compared with baselines measured
// in the same run (direct to the acceptor, and nginx's stream proxy), printed as a table
// and written as JSON to .local/bench/results.json. Benchmarks are not tests: nothing
// here fails on a time; the targets are reported as met or not.
//
//   node bench/run.ts [--repeats N] [--objects N] [--seconds S] [--associations N]
//                     [--only store,tls,rate,memory] [--quick] [--profile] [--out FILE]
//                     [--sidecar-node-args="--flag ..."]
//
// store: C-STORE of large images; tls: the same with nginx and the sidecar terminating
// TLS (certificates made with openssl for the run); rate: associations per second, and
// with a JWT identity verified on each; memory: RSS with many idle associations.
//
// --sidecar-node-args adds a second sidecar to every benchmark, run from dist/ directly
// under those node flags instead of the launcher's ("none": no flags at all): a runtime
// setting measured against the deployed one in the same run.
// --profile starts the sidecars with --cpu-prof and leaves the .cpuprofile files in
// .local/bench/profiles (open them in Chrome DevTools or speedscope).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeImage } from '../test/harness/dicom-file.ts';
import { ROOT } from '../test/harness/tools.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { measureStoreThroughput, type StoreThroughputResult } from './store-throughput.ts';
import { measureAssociationRate } from './association-rate.ts';
import { measureIdleMemory } from './idle-memory.ts';
import { checkTargets, formatReport, type BenchResults } from './report.ts';
import { ensureCompiled } from './compiled.ts';
import { createPki } from '../test/harness/pki.ts';

const BENCHMARKS = ['store', 'tls', 'rate', 'memory'] as const;
/** storescp's and storescu's default (DCMTK), and the largest they allow. */
const MAX_PDUS = [16384, 131072];

const { values } = parseArgs({
  options: {
    repeats: { type: 'string' },
    objects: { type: 'string' },
    seconds: { type: 'string' },
    associations: { type: 'string' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    out: { type: 'string' },
    'sidecar-node-args': { type: 'string' },
  },
  strict: true,
});

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number, not "${text}"`);
  return value;
}

const quick = values.quick;
const settings = {
  repeats: Math.round(positive('repeats', values.repeats, quick ? 2 : 5)),
  objects: Math.round(positive('objects', values.objects, quick ? 2 : 4)),
  /** 8192 rows x 4096 columns x 16 bits: 64 MiB of pixel data per object. */
  rows: 8192,
  columns: 4096,
  maxPdus: MAX_PDUS,
  rateSeconds: positive('seconds', values.seconds, quick ? 1 : 3),
  rateWarmupSeconds: quick ? 0.5 : 1,
  idleAssociations: Math.round(positive('associations', values.associations, 1000)),
  only: values.only ? values.only.split(',').map((s) => s.trim()) : [...BENCHMARKS],
  profile: values.profile,
  sidecarNodeArgs: values['sidecar-node-args'] === undefined ? undefined : values['sidecar-node-args'].split(/\s+/).filter((arg) => arg !== '' && arg !== 'none'),
  sidecar: 'node bin/dicom-guard.js sidecar (as the image runs it: the launcher adds --initial-old-space-size=64 --max-semi-space-size=4) over the compiled dist/',
};
for (const name of settings.only) {
  if (!(BENCHMARKS as readonly string[]).includes(name)) throw new Error(`--only: unknown benchmark "${name}" (one of ${BENCHMARKS.join(', ')})`);
}
const outPath = resolve(values.out ?? join(ROOT, '.local', 'bench', 'results.json'));

// Before --profile sets NODE_OPTIONS: tsc is not what is being profiled.
console.log(`sidecar: node bin/dicom-guard.js over the compiled dist/, as the image runs it (${await ensureCompiled()})`);

if (settings.profile) {
  const profiles = join(ROOT, '.local', 'bench', 'profiles');
  await mkdir(profiles, { recursive: true });
  // Inherited by the sidecar processes the harness spawns; nginx and DCMTK ignore it.
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profiles}`.trim();
  console.log(`CPU profiles of the sidecars go to ${profiles}`);
}

const log = (line: string) => console.log(line);
const startedAt = new Date();
const started = process.hrtime.bigint();
const machine = await describeMachine();
console.log(`${machine.cores} cores, Node ${machine.versions.node}, nginx ${machine.versions.nginx}, DCMTK ${machine.versions.dcmtk}`);
console.log(`note: ${machine.note}`);
if ((machine.loadAverage[0] ?? 0) > machine.cores) {
  console.log(`warning: load average ${machine.loadAverage.join(' ')} on ${machine.cores} cores: other work is running, wall times will be noisy (CPU per GiB and per association less so)`);
}
const { sidecarNodeArgs } = settings;

const storeThroughput: StoreThroughputResult[] = [];
const tlsStoreThroughput: StoreThroughputResult[] = [];
const storeKinds = settings.only.filter((name) => name === 'store' || name === 'tls');
if (storeKinds.length > 0) {
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-images-'));
  try {
    console.log(`\nwriting ${settings.objects} images of ${settings.rows} x ${settings.columns} x 16 bits to ${dir}`);
    const files = [];
    for (let i = 0; i < settings.objects; i++) files.push(await writeImage(join(dir, `image-${i}.dcm`), { rows: settings.rows, columns: settings.columns }));
    if (storeKinds.includes('store')) {
      for (const maxPdu of settings.maxPdus) {
        console.log(`\nC-STORE throughput, max PDU ${maxPdu}`);
        storeThroughput.push(await measureStoreThroughput({ files, maxPdu, repeats: settings.repeats, sidecarNodeArgs, log }));
      }
    }
    if (storeKinds.includes('tls')) {
      const pki = await createPki('dicom-guard bench CA');
      try {
        const server = await pki.issue('localhost', { usage: 'server' });
        for (const maxPdu of settings.maxPdus) {
          console.log(`\nTLS C-STORE throughput, max PDU ${maxPdu}`);
          tlsStoreThroughput.push(await measureStoreThroughput({ files, maxPdu, repeats: settings.repeats, sidecarNodeArgs, tls: { server, caFile: pki.ca.cert }, log }));
        }
      } finally {
        await rm(pki.dir, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let associationRate;
if (settings.only.includes('rate')) {
  console.log('\nassociation rate');
  associationRate = await measureAssociationRate({ seconds: settings.rateSeconds, warmupSeconds: settings.rateWarmupSeconds, repeats: settings.repeats, sidecarNodeArgs, jwt: true, log });
}

let idleMemory;
if (settings.only.includes('memory')) {
  console.log(`\nsidecar memory with ${settings.idleAssociations} idle associations`);
  idleMemory = await measureIdleMemory({ associations: settings.idleAssociations, repeats: Math.min(settings.repeats, 3), sidecarNodeArgs, log });
}

const partial = {
  startedAt: startedAt.toISOString(),
  durationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  machine,
  loadAverageAtEnd: loadAverage(),
  settings,
  storeThroughput,
  ...(tlsStoreThroughput.length ? { tlsStoreThroughput } : {}),
  ...(associationRate ? { associationRate } : {}),
  ...(idleMemory ? { idleMemory } : {}),
};
const results: BenchResults = { ...partial, targets: checkTargets(partial) };
await mkdir(dirname(outPath), { recursive: true });
await writeFile(outPath, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\n${formatReport(results)}`);
console.log(`results: ${outPath}`);
