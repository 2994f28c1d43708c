// `npm run bench:operator`: the operator at scale on a real local control plane (etcd,
// kube-apiserver, kube-controller-manager; test/cluster), run as the chart runs it: a
// separate process started as the image starts it (node bin/dicom-guard.js operator, over
// the compiled dist/), under its ServiceAccount and RBAC.
//
//   node bench/operator.ts [--policies 1000] [--namespaces 50] [--pods-per-policy 5]
//                          [--concurrency 32] [--workers N] [--resync-period 1m]
//                          [--steady-seconds 180] [--lease-seconds 60] [--timeout-seconds 600]
//                          [--start after,before] [--no-issuer] [--profile] [--source]
//                          [--operator-node-args="--max-old-space-size=192 ..."] [--memory-limit MiB|none]
//                          [--quick] [--out FILE]
//
// The world (bench/operator-world.ts): policies over namespaces, 5 pods each as the
// webhook leaves them, some policies with `from` peers, TLS, identity Secrets. Phases:
//   after  (a fresh control plane) create the world, then start the operator: the time
//          until every policy converged (cold start over an existing world), RSS, CPU;
//          then nothing changes for --steady-seconds with leader election off (resyncs
//          every --resync-period, 1m so that the window holds several): API requests per
//          minute by verb, writes must be 0; then restart the operator with leader
//          election on over the converged world (must write nothing) and watch
//          --lease-seconds more to show the Lease's own traffic;
//   before (another fresh control plane) start the operator, then create the world while
//          it runs: the time from the last create until every policy converged.
// There is no cert-manager controller: the bench marks each Certificate Ready as it
// appears (--no-issuer: TLS policies count when Ready but for CertificateReady).
// --profile runs the operator under --cpu-prof and prints a summary per run.
// RSS depends on how V8 sizes its heap, which Node derives from the memory it sees: the
// whole host outside a cgroup, the limit inside one. The operator runs as the chart
// deploys it, in a memory cgroup limited to the chart's operator.resources.limits.memory
// (--memory-limit MiB sets another, "none" runs it unconstrained); where no cgroup can be
// made here it runs unconstrained, and says why. --operator-node-args runs it under other
// flags. The limit and the V8 heap limit in force are reported.
// --quick: 200 policies in 10 namespaces, short quiet windows (to try the bench out).
// Results: a table, and JSON in .local/bench/operator.json. Nothing fails on a time.
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { CRD_FILE } from '../operator/api/crd.ts';
import { KubeClient } from '../operator/kube/client.ts';
import { loadKubeConfig } from '../operator/kube/config.ts';
import { parseDuration } from '../operator/options.ts';
import { createLogger } from '../sidecar/log.ts';
import { certManagerCrds, startControlPlane, type ControlPlane } from '../test/cluster/control-plane.ts';
import { operatorKubeconfig, startOperatorProcess, type OperatorProcess, type Sample } from '../test/harness/operator.ts';
import { ROOT } from '../test/harness/tools.ts';
import { ensureCompiled, LAUNCHER } from './compiled.ts';
import { loadAverage } from './machine.ts';
import { createMemoryCgroup } from './memory-cgroup.ts';
import { cpuSecondsOf } from './process-usage.ts';
import {
  changedObjects,
  Convergence,
  counterDelta,
  objectVersions,
  perMinute,
  requestDelta,
  StandInIssuer,
  summarizeRequests,
  UsageSampler,
} from './operator-observe.ts';
import { checkOperatorTargets, formatOperatorReport, type ConvergenceResult, type OperatorBenchResults, type ProcessFigures, type QuietPhase, type StartPhase } from './operator-report.ts';
import { createWorld, DEFAULT_WORLD, planWorld, type World } from './operator-world.ts';
import { compareRendering } from './cdk8s-render.ts';
import { summarizeProfile } from './profile-summary.ts';

const PHASES = ['after', 'before'] as const;
type StartWhen = (typeof PHASES)[number];

const { values } = parseArgs({
  options: {
    policies: { type: 'string' },
    namespaces: { type: 'string' },
    'pods-per-policy': { type: 'string' },
    concurrency: { type: 'string' },
    workers: { type: 'string' },
    'resync-period': { type: 'string' },
    'steady-seconds': { type: 'string' },
    'lease-seconds': { type: 'string' },
    'timeout-seconds': { type: 'string' },
    start: { type: 'string' },
    'no-issuer': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    'operator-node-args': { type: 'string' },
    'memory-limit': { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  strict: true,
});

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0) || !Number.isInteger(value)) throw new Error(`--${name} must be a positive whole number, not "${text}"`);
  return value;
}

const quick = values.quick;
const world: World = planWorld({
  ...DEFAULT_WORLD,
  policies: positive('policies', values.policies, quick ? 200 : DEFAULT_WORLD.policies),
  namespaces: positive('namespaces', values.namespaces, quick ? 10 : DEFAULT_WORLD.namespaces),
  podsPerPolicy: positive('pods-per-policy', values['pods-per-policy'], DEFAULT_WORLD.podsPerPolicy),
});
const starts = (values.start ?? PHASES.join(',')).split(',').map((s) => s.trim());
for (const s of starts) if (!(PHASES as readonly string[]).includes(s)) throw new Error(`--start: "${s}" is not one of ${PHASES.join(', ')}`);
const settings = {
  concurrency: positive('concurrency', values.concurrency, 32),
  workers: values.workers === undefined ? undefined : positive('workers', values.workers, 4),
  resyncPeriod: values['resync-period'] ?? '1m',
  steadySeconds: positive('steady-seconds', values['steady-seconds'], quick ? 30 : 180),
  leaseSeconds: positive('lease-seconds', values['lease-seconds'], quick ? 15 : 60),
  timeoutMs: positive('timeout-seconds', values['timeout-seconds'], 600) * 1000,
  issuer: !values['no-issuer'],
  profile: values.profile,
  cli: values.source ? join(ROOT, 'cmd', 'dicom-guard.ts') : LAUNCHER,
  operatorNodeArgs: (values['operator-node-args'] ?? '').split(/\s+/).filter(Boolean),
};
const outPath = resolve(values.out ?? join(ROOT, '.local', 'bench', 'operator.json'));
const profileDir = join(ROOT, '.local', 'bench', 'profiles');
const resyncSeconds = parseDuration('--resync-period', settings.resyncPeriod);

const log = (line: string) => console.log(line);
// The bench's own informers retry quietly (a CRD's storage initializing right after it is Established).
const logger = createLogger('bench', 'error');
const startedAt = new Date();
const started = performance.now();
const seconds = (since: number) => (performance.now() - since) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!values.source) log(`operator: node ${relative(ROOT, LAUNCHER)} operator, as the image runs it, over dist/ (${await ensureCompiled()})`);
if (settings.profile) await mkdir(profileDir, { recursive: true });

/** The chart's memory limit for the operator, in MiB. */
function chartOperatorMemoryLimitMiB(): number {
  const values = parseYaml(readFileSync(join(ROOT, 'charts', 'dicom-guard', 'values.yaml'), 'utf8')) as { operator?: { resources?: { limits?: { memory?: string } } } };
  const text = values.operator?.resources?.limits?.memory ?? '';
  const match = /^(\d+)Mi$/.exec(text);
  if (!match) throw new Error(`charts/dicom-guard/values.yaml: operator.resources.limits.memory "${text}" is not in Mi; pass --memory-limit`);
  return Number(match[1]);
}
const memoryLimitMiB = values['memory-limit'] === 'none' ? undefined : positive('memory-limit', values['memory-limit'], chartOperatorMemoryLimitMiB());
const cgroup = memoryLimitMiB === undefined ? 'not asked for (--memory-limit none)' : createMemoryCgroup('dicom-guard-bench-operator', memoryLimitMiB * 1048576);
process.on('exit', () => typeof cgroup !== 'string' && cgroup.remove());
const wrap = typeof cgroup === 'string' ? undefined : cgroup.wrap;
const memoryLimit = typeof cgroup === 'string' ? `none: ${cgroup}` : `${memoryLimitMiB} MiB (memory cgroup ${cgroup.path})`;

/** The V8 heap limit the operator runs with (its Node.js under its flags and memory limit, on this machine). */
const heapProbe = [...settings.operatorNodeArgs, '-p', 'require("node:v8").getHeapStatistics().heap_size_limit'];
const probe = wrap ? wrap(process.execPath, heapProbe) : { command: process.execPath, args: heapProbe };
const heapLimitMiB = Math.round(Number(execFileSync(probe.command, probe.args, { encoding: 'utf8' }).trim()) / 1048576);
const count = (pick: (p: World['policies'][number]) => boolean) => world.policies.filter(pick).length;
const results: Omit<OperatorBenchResults, 'targets'> = {
  startedAt: startedAt.toISOString(),
  durationSeconds: 0,
  machine: {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: release(),
    kubernetes: 'unknown',
    loadAverage: loadAverage(),
  },
  settings: {
    ...world.settings,
    tlsPolicies: count((p) => p.tls),
    identityPolicies: count((p) => p.identity),
    fromPolicies: count((p) => Object.keys(p.expectedPeers).length > 1),
    namespacePeerPolicies: count((p) => 'radiology-modalities' in p.expectedPeers),
    operator: `node ${[...settings.operatorNodeArgs, relative(ROOT, settings.cli)].join(' ')}${values.source ? ' (sources)' : ''}`,
    operatorMemoryLimit: memoryLimit,
    operatorHeapLimitMiB: heapLimitMiB,
    workers: settings.workers ?? 'default (4)',
    resyncPeriod: settings.resyncPeriod,
    concurrency: settings.concurrency,
    issuer: settings.issuer,
    steadySeconds: settings.steadySeconds,
    leaseSeconds: settings.leaseSeconds,
  },
};
log(
  `world: ${world.policies.length} policies in ${world.namespaces.length} namespaces, ${world.pods.length} pods, ${world.secrets.length} identity Secrets; ` +
    `${results.settings.tlsPolicies} TLS, ${results.settings.fromPolicies} with from peers`,
);

// ---------------------------------------------------------------------------------------

interface Plane {
  cp: ControlPlane;
  dir: string;
  admin: KubeClient;
  kubeconfig: string;
  convergence: Convergence;
  issuer?: StandInIssuer;
}

const profiles: Record<string, string> = {};

/** The operator under its ServiceAccount, with its usage sampled. */
async function startOperator(plane: Plane, name: string, leaderElect: boolean): Promise<{ op: OperatorProcess; sampler: UsageSampler; startedAt: number; readyzSeconds: number }> {
  const profileName = `operator-${name}.cpuprofile`;
  const t = performance.now();
  const op = await startOperatorProcess({
    kubeconfig: plane.kubeconfig,
    identity: `bench-${name}`,
    dir: plane.dir,
    cli: settings.cli,
    wrap,
    nodeArgs: [...settings.operatorNodeArgs, ...(settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`] : [])],
    args: [`--leader-elect=${leaderElect}`, '--log-level=info', `--resync-period=${settings.resyncPeriod}`, ...(settings.workers ? [`--workers=${settings.workers}`] : [])],
  });
  const readyzSeconds = seconds(t);
  if (settings.profile) profiles[name] = join(profileDir, profileName);
  return { op, sampler: new UsageSampler(op.process.child.pid!), startedAt: t, readyzSeconds };
}

async function stopOperator(op: OperatorProcess, sampler: UsageSampler, name: string): Promise<void> {
  sampler.stop();
  const code = await op.stop();
  if (code !== 0) log(`  the operator (${name}) exited ${code}; the end of its output:\n${op.process.output().slice(-3000)}`);
  const file = profiles[name];
  if (file) {
    try {
      const summary = summarizeProfile(JSON.parse(await readFile(file, 'utf8')), 20);
      await writeFile(file.replace(/\.cpuprofile$/, '.txt'), `${summary}\n`);
      log(`\nCPU profile of the operator (${name}), ${relative(ROOT, file)}:\n${summary}\n`);
    } catch (error) {
      log(`  no CPU profile of the operator (${name}): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

async function processFigures(sampler: UsageSampler, op: OperatorProcess): Promise<ProcessFigures> {
  const last = await sampler.sample();
  const first = sampler.samples[0];
  const metrics = await op.metrics();
  const mib = (name: string) => (metrics.find((s) => s.name === `dicomguard_operator_nodejs_${name}`)?.value ?? Number.NaN) / 1048576;
  return {
    heapUsedMiB: mib('heap_size_used_bytes'),
    heapTotalMiB: mib('heap_size_total_bytes'),
    maxRssMiB: sampler.maxRssMiB(),
    peakRssMiB: await sampler.peakRssMiB(),
    endRssMiB: last?.rssMiB ?? Number.NaN,
    cpuSeconds: last && first ? last.cpuSeconds - first.cpuSeconds : Number.NaN,
  };
}

/** Waits until every policy converged (or the timeout), printing progress every 5 s. */
async function converge(plane: Plane, since: number, sampler: UsageSampler): Promise<ConvergenceResult> {
  const total = world.policies.length;
  const progress = setInterval(() => {
    const { tls, plain } = plane.convergence.counts();
    const rss = sampler.samples.at(-1)?.rssMiB;
    log(`  ${seconds(since).toFixed(0).padStart(4)} s: ${plane.convergence.count}/${total} converged (plain ${plain}, TLS ${tls}), operator RSS ${rss?.toFixed(0)} MiB`);
  }, 5000);
  let all: boolean;
  try {
    all = await plane.convergence.waitFor(total, settings.timeoutMs);
  } finally {
    clearInterval(progress);
  }
  const times = plane.convergence.times(since);
  return {
    policies: total,
    converged: plane.convergence.count,
    allSeconds: all ? times.lastSeconds : Number.NaN,
    plainLastSeconds: times.plainLastSeconds,
    tlsLastSeconds: times.tlsLastSeconds,
    medianSeconds: times.medianSeconds,
    p90Seconds: times.p90Seconds,
    reasonsSeen: plane.convergence.reasonsSeen(),
    ...(all ? {} : { stragglers: plane.convergence.stragglers() }),
  };
}

const byLabel = (samples: readonly Sample[], name: string, label: string) => {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name && s.value > 0) out[s.labels[label]!] = (out[s.labels[label]!] ?? 0) + s.value;
  return out;
};

/** CPU seconds used so far by the control plane's processes and by this bench process. */
async function machineCpu(plane: Plane): Promise<Record<string, number>> {
  const { etcd, kubeApiserver, kubeControllerManager } = plane.cp.pids;
  const usage = process.cpuUsage();
  return {
    'kube-apiserver': await cpuSecondsOf(kubeApiserver),
    etcd: await cpuSecondsOf(etcd),
    'kube-controller-manager': await cpuSecondsOf(kubeControllerManager),
    bench: (usage.user + usage.system) / 1e6,
  };
}

const cpuDelta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([name, seconds]) => [name, Math.round((seconds - (before[name] ?? 0)) * 10) / 10]));

async function startPhase(plane: Plane, kind: 'cold' | 'live'): Promise<StartPhase> {
  const name = kind;
  let creation;
  let running;
  let creationStarted = 0;
  let cpuAtStart: Record<string, number>;
  if (kind === 'cold') {
    log('\ncreating the world (no operator running)');
    creation = await createWorld(plane.admin, world, { concurrency: settings.concurrency, log });
    log(`  in all ${creation.totalSeconds.toFixed(1)} s (${creation.requests} requests, ${creation.requestsPerSecond.toFixed(0)}/s); starting the operator`);
    cpuAtStart = await machineCpu(plane);
    running = await startOperator(plane, name, false);
  } else {
    log('\nstarting the operator on an empty control plane, then creating the world');
    running = await startOperator(plane, name, false);
    creationStarted = performance.now();
    cpuAtStart = await machineCpu(plane);
    creation = await createWorld(plane.admin, world, { concurrency: settings.concurrency, log });
    log(`  in all ${creation.totalSeconds.toFixed(1)} s (${creation.requests} requests, ${creation.requestsPerSecond.toFixed(0)}/s); ${plane.convergence.count} converged so far`);
  }
  const { op, sampler } = running;
  const createdAt = performance.now();
  try {
    const since = kind === 'cold' ? running.startedAt : creationStarted;
    const convergence = await converge(plane, since, sampler);
    const otherCpu = cpuDelta(cpuAtStart, await machineCpu(plane));
    const tail = kind === 'live' && convergence.converged === convergence.policies ? convergence.allSeconds - seconds(since) + seconds(createdAt) : undefined;
    log(
      convergence.converged === convergence.policies
        ? `  all ${convergence.policies} converged ${convergence.allSeconds.toFixed(1)} s after the ${kind === 'cold' ? 'operator started' : 'first create'}${tail !== undefined ? ` (${tail.toFixed(1)} s after the last)` : ''}`
        : `  only ${convergence.converged}/${convergence.policies} converged in ${settings.timeoutMs / 1000} s: ${JSON.stringify(convergence.stragglers)}`,
    );
    const metrics = await op.metrics();
    const phase: StartPhase = {
      kind,
      creation,
      readyzSeconds: running.readyzSeconds,
      convergence,
      ...(tail !== undefined ? { tailSeconds: tail } : {}),
      process: await processFigures(sampler, op),
      otherCpuSeconds: otherCpu,
      requests: summarizeRequests(requestDelta([], metrics)),
      reconciles: byLabel(metrics, 'dicomguard_operator_reconciles_total', 'result'),
      reconcileErrors: byLabel(metrics, 'dicomguard_operator_reconcile_errors_total', 'reason'),
      objectWrites: byLabel(metrics, 'dicomguard_operator_object_writes_total', 'kind'),
      certificatesIssued: plane.issuer?.issued ?? 0,
    };
    if (kind === 'cold') {
      results.cold = phase;
      await afterColdStart(plane, op, sampler);
    } else {
      results.live = phase;
    }
    return phase;
  } finally {
    await stopOperator(op, sampler, name);
  }
}

/** A quiet window: requests by verb from /metrics, objects changed, RSS. */
async function quiet(plane: Plane, op: OperatorProcess, sampler: UsageSampler, leaderElection: boolean, windowSeconds: number): Promise<QuietPhase> {
  const versions = await objectVersions(plane.admin);
  const before = await op.metrics();
  const t = performance.now();
  const fromT = sampler.samples.at(-1)?.t ?? 0;
  await sleep(windowSeconds * 1000);
  const after = await op.metrics();
  const elapsed = seconds(t);
  const changed = changedObjects(versions, await objectVersions(plane.admin));
  const requests = requestDelta(before, after);
  const summary = summarizeRequests(requests);
  const inWindow = sampler.samples.filter((s) => s.t >= fromT);
  const window = inWindow.map((s) => s.rssMiB);
  const cpuSeconds = (inWindow.at(-1)?.cpuSeconds ?? 0) - (inWindow[0]?.cpuSeconds ?? 0);
  const watchRestarts: Record<string, number> = {};
  for (const s of after.filter((x) => x.name === 'dicomguard_operator_watch_restarts_total')) {
    const delta = counterDelta(before, after, s.name, (l) => l.resource === s.labels.resource && l.reason === s.labels.reason);
    if (delta > 0) watchRestarts[`${s.labels.resource} ${s.labels.reason}`] = delta;
  }
  return {
    leaderElection,
    seconds: Math.round(elapsed),
    resyncSeconds,
    reconciles: counterDelta(before, after, 'dicomguard_operator_reconciles_total', (l) => l.result === 'success'),
    requests,
    summary,
    perMinute: perMinute(summary, elapsed),
    watchRestarts,
    changedObjects: changed,
    cpuSecondsPerMinute: Math.round((cpuSeconds / elapsed) * 60 * 100) / 100,
    minRssMiB: Math.min(...window),
    maxRssMiB: Math.max(...window),
  };
}

async function afterColdStart(plane: Plane, op: OperatorProcess, sampler: UsageSampler): Promise<void> {
  log(`\nnothing changes: ${settings.steadySeconds} s with leader election off (resync every ${settings.resyncPeriod})`);
  await sleep(5000); // the last status writes reach the caches
  results.steady = await quiet(plane, op, sampler, false, settings.steadySeconds);
  log(`  per minute: ${JSON.stringify(results.steady.perMinute.byVerb)}; writes ${results.steady.summary.writes}; objects changed ${JSON.stringify(results.steady.changedObjects)}`);
}

async function restartPhase(plane: Plane): Promise<void> {
  log('\nrestarting the operator with leader election on, over the converged world');
  const versions = await objectVersions(plane.admin);
  const { op, sampler, startedAt: t, readyzSeconds } = await startOperator(plane, 'restart', true);
  try {
    let leaderSeconds = Number.NaN;
    let firstPassSeconds = Number.NaN;
    const deadline = Date.now() + settings.timeoutMs;
    while (Date.now() < deadline) {
      const metrics = await op.metrics();
      if (Number.isNaN(leaderSeconds) && metrics.find((s) => s.name === 'dicomguard_operator_leader')?.value === 1) leaderSeconds = seconds(t);
      const reconciled = metrics.filter((s) => s.name === 'dicomguard_operator_reconciles_total').reduce((n, s) => n + s.value, 0);
      if (reconciled >= world.policies.length) {
        firstPassSeconds = seconds(t);
        break;
      }
      await sleep(200);
    }
    await sleep(3000); // anything the first pass wrote has been counted
    const metrics = await op.metrics();
    const requests = requestDelta([], metrics);
    results.restart = {
      readyzSeconds,
      leaderSeconds,
      firstPassSeconds,
      requests,
      summary: summarizeRequests(requests),
      changedObjects: changedObjects(versions, await objectVersions(plane.admin)),
      process: await processFigures(sampler, op),
    };
    log(`  /readyz ${readyzSeconds.toFixed(1)} s, leader ${leaderSeconds.toFixed(1)} s, every policy reconciled ${firstPassSeconds.toFixed(1)} s; writes ${results.restart.summary.writes}`);
    log(`\nnothing changes: ${settings.leaseSeconds} s with leader election on`);
    results.leaseSteady = await quiet(plane, op, sampler, true, settings.leaseSeconds);
    log(`  per minute: ${JSON.stringify(results.leaseSteady.perMinute.byVerb)}; writes but the Lease's ${results.leaseSteady.summary.writes}`);
  } finally {
    await stopOperator(op, sampler, 'restart');
  }
}

/** A fresh control plane with the CRDs, the operator's ServiceAccount, and the bench's observers; always torn down. */
async function withPlane(name: string, body: (plane: Plane) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `dg-bench-operator-${name}-`));
  // Also when the bench is interrupted (the harness exits on SIGINT after killing its children).
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanup);
  let cp: ControlPlane | undefined;
  let admin: KubeClient | undefined;
  let plane: Plane | undefined;
  try {
    const t = performance.now();
    cp = await startControlPlane({ dir: join(dir, 'cp'), crds: [certManagerCrds, join(ROOT, CRD_FILE)] });
    log(`\n[${name}] control plane up in ${seconds(t).toFixed(1)} s`);
    const version = await cp.kubectl(['version', '-o', 'json']);
    results.machine.kubernetes = (JSON.parse(version.stdout || '{}') as { serverVersion?: { gitVersion?: string } }).serverVersion?.gitVersion ?? 'unknown';
    admin = await KubeClient.create(loadKubeConfig(cp.kubeconfig).config, { userAgent: 'dicom-guard-bench' });
    const kubeconfig = await operatorKubeconfig(cp, dir);
    const convergence = new Convergence(admin, world, { issuer: settings.issuer }, logger);
    await convergence.start();
    plane = { cp, dir, admin, kubeconfig, convergence };
    if (settings.issuer) {
      plane.issuer = new StandInIssuer(admin, logger);
      plane.issuer.start();
    }
    await body(plane);
  } finally {
    await plane?.issuer?.stop();
    await plane?.convergence.stop();
    admin?.close();
    await cp?.stop();
    await rm(dir, { recursive: true, force: true });
    process.off('exit', cleanup);
  }
}

for (const when of starts as StartWhen[]) {
  if (when === 'after') {
    await withPlane('after', async (plane) => {
      await startPhase(plane, 'cold');
      await restartPhase(plane);
    });
  } else {
    await withPlane('before', async (plane) => {
      await startPhase(plane, 'live');
    });
  }
}

// Issue 13: what building the desired objects with cdk8s at reconcile time would cost.
log('\nrendering the desired objects of every policy: plain objects (the operator) and a cdk8s App per reconcile');
results.rendering = compareRendering(world);
log(`  ${results.rendering.plainMicroseconds.toFixed(0)} us per policy plain, ${results.rendering.cdk8sMicroseconds.toFixed(0)} us with cdk8s; the same objects: ${results.rendering.sameObjects}`);

results.durationSeconds = seconds(started);
results.machine.loadAverageAtEnd = loadAverage();
if (Object.keys(profiles).length) results.profiles = Object.fromEntries(Object.entries(profiles).map(([k, v]) => [k, relative(ROOT, v)]));
const final: OperatorBenchResults = { ...results, targets: checkOperatorTargets(results) };
await mkdir(dirname(outPath), { recursive: true });
await writeFile(outPath, `${JSON.stringify(final, null, 2)}\n`);
console.log(`\n${formatOperatorReport(final)}`);
console.log(`results: ${outPath}`);
