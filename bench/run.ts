// `npm run bench`: every benchmark in one run, each path compared with baselines measured
// in the same run (direct to the acceptor, and nginx's stream proxy), printed as a table
// and written as JSON to .local/bench/results.json. Benchmarks are not tests: nothing
// here fails on a time; the targets are reported as met or not.
//
//   node bench/run.ts [--repeats N] [--objects N] [--seconds S] [--associations N]
//                     [--only store,small,tls,rate,memory,soak] [--quick] [--profile] [--out FILE]
//                     [--small-objects N]
//                     [--sidecar-node-args="--flag ..."]
//                     [--soak-associations N] [--soak-sample-every N] [--soak-large-mib M] [--soak-large-every N]
//
// store: C-STORE of large images; small: C-STORE of many small images in one association,
// where every message is a command the relay reads and checks (issue 14's per-message
// cost) and the per-message round trip dominates; tls: the same with nginx and the sidecar terminating
// TLS (certificates made with openssl for the run); rate: associations per second, and
// with a JWT identity verified on each; memory: RSS with many idle associations; soak:
// the sidecar's RSS and heap sampled over many associations (mostly small, every Nth a
// large C-STORE), to tell a leak from a plateau.
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
import { measureAssociationMemory } from './association-memory.ts';
import { measureMessageCheck, type MessageCheckResult } from './message-check.ts';
import { smallObject } from './dimse.ts';
import { checkTargets, formatReport, type BenchResults } from './report.ts';
import { ensureCompiled } from './compiled.ts';
import { createPki } from '../test/harness/pki.ts';
import { startRsyslog } from '../test/harness/rsyslog.ts';
import { freePort } from '../test/harness/ports.ts';

const BENCHMARKS = ['store', 'small', 'tls', 'rate', 'memory', 'soak'] as const;
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
    'small-objects': { type: 'string' },
    'soak-associations': { type: 'string' },
    'soak-sample-every': { type: 'string' },
    'soak-large-mib': { type: 'string' },
    'soak-large-every': { type: 'string' },
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
  smallObjects: Math.round(positive('small-objects', values['small-objects'], quick ? 300 : 2000)),
  /** 64 x 64 x 16 bits: 8 KiB of pixel data, a data set in one PDU at DCMTK's default maximum. */
  smallRows: 64,
  smallColumns: 64,
  rateSeconds: positive('seconds', values.seconds, quick ? 1 : 3),
  rateWarmupSeconds: quick ? 0.5 : 1,
  idleAssociations: Math.round(positive('associations', values.associations, 1000)),
  soakAssociations: Math.round(positive('soak-associations', values['soak-associations'], 10_000)),
  soakSampleEvery: Math.round(positive('soak-sample-every', values['soak-sample-every'], 1000)),
  /** The user's of issue 14: 50 MB C-STOREs among ~1000 associations. */
  soakLargeMiB: positive('soak-large-mib', values['soak-large-mib'], quick ? 8 : 50),
  soakLargeEvery: Math.round(positive('soak-large-every', values['soak-large-every'], 100)),
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

const smallStoreThroughput: StoreThroughputResult[] = [];
let messageCheck: MessageCheckResult | undefined;
if (settings.only.includes('small')) {
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-small-'));
  try {
    console.log(`\nwriting ${settings.smallObjects} images of ${settings.smallRows} x ${settings.smallColumns} x 16 bits to ${dir}`);
    const files = [];
    for (let i = 0; i < settings.smallObjects; i++) files.push(await writeImage(join(dir, `small-${i}.dcm`), { rows: settings.smallRows, columns: settings.smallColumns }));
    const maxPdu = MAX_PDUS[0]!;
    console.log(`\nC-STORE of ${settings.smallObjects} small instances in one association, max PDU ${maxPdu}`);
    smallStoreThroughput.push(await measureStoreThroughput({ files, maxPdu, repeats: settings.repeats, sidecarNodeArgs, noDelay: true, log }));
    console.log('\nthe per-message check in process: framing alone, and framing with the message guard');
    messageCheck = measureMessageCheck(await smallObject(join(dir, 'check.dcm'), settings.smallRows, settings.smallColumns), { messages: 20_000, rounds: settings.repeats * 2 });
    log(`  ${messageCheck.framingNs.median.toFixed(0)} ns framing, ${messageCheck.checkedNs.median.toFixed(0)} ns with the check, per message`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let associationRate;
if (settings.only.includes('rate')) {
  console.log('\nassociation rate');
  // An audit repository for the audited sidecars: Debian's rsyslog over TLS, as in test/integration/atna.test.ts.
  const pki = await createPki('bench audit CA');
  const server = await pki.issue('audit.bench.example.org', { usage: 'server' });
  const repository = await startRsyslog({ cert: server.cert, key: server.key, ca: pki.ca.cert });
  try {
    const atna = { host: '127.0.0.1', port: repository.tlsPort, deadPort: await freePort(), caFile: pki.ca.cert, serverName: 'audit.bench.example.org' };
    associationRate = await measureAssociationRate({ seconds: settings.rateSeconds, warmupSeconds: settings.rateWarmupSeconds, repeats: settings.repeats, sidecarNodeArgs, jwt: true, atna, log });
    log(`  the repository received ${(await repository.messages()).length} audit messages`);
  } finally {
    await repository.close();
    await rm(pki.dir, { recursive: true, force: true });
  }
}

let idleMemory;
if (settings.only.includes('memory')) {
  console.log(`\nsidecar memory with ${settings.idleAssociations} idle associations`);
  idleMemory = await measureIdleMemory({ associations: settings.idleAssociations, repeats: Math.min(settings.repeats, 3), sidecarNodeArgs, log });
}

let associationMemory;
if (settings.only.includes('soak')) {
  console.log(`\nsidecar memory over ${settings.soakAssociations} associations, sampled every ${settings.soakSampleEvery}`);
  associationMemory = await measureAssociationMemory({
    associations: settings.soakAssociations,
    sampleEvery: settings.soakSampleEvery,
    largeEvery: settings.soakLargeEvery,
    largeMiB: settings.soakLargeMiB,
    sidecarNodeArgs,
    log,
  });
}

const partial = {
  startedAt: startedAt.toISOString(),
  durationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  machine,
  loadAverageAtEnd: loadAverage(),
  settings,
  storeThroughput,
  ...(tlsStoreThroughput.length ? { tlsStoreThroughput } : {}),
  ...(smallStoreThroughput.length ? { smallStoreThroughput } : {}),
  ...(messageCheck ? { messageCheck } : {}),
  ...(associationRate ? { associationRate } : {}),
  ...(idleMemory ? { idleMemory } : {}),
  ...(associationMemory ? { associationMemory } : {}),
};
const results: BenchResults = { ...partial, targets: checkTargets(partial) };
await mkdir(dirname(outPath), { recursive: true });
await writeFile(outPath, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\n${formatReport(results)}`);
console.log(`results: ${outPath}`);
