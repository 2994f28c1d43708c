// The operator scale bench's results as JSON and as the table printed at the end. The
// issue's targets are checked and reported, never enforced: a benchmark informs.
import type { Target } from './report.ts';
import { fixed, table } from './report.ts';
import type { RequestCount, RequestSummary } from './operator-observe.ts';
import type { CreationTimes, WorldSettings } from './operator-world.ts';
import type { RenderComparison } from './cdk8s-render.ts';

export interface ConvergenceResult {
  policies: number;
  converged: number;
  /** Seconds from the phase's start (see `from`) until the last policy converged; NaN if not all did. */
  allSeconds: number;
  plainLastSeconds: number;
  tlsLastSeconds: number;
  medianSeconds: number;
  p90Seconds: number;
  /** Ready reasons the policies showed on the way, and how many policies showed each. */
  reasonsSeen: Record<string, number>;
  /** Why policies were not converged when time ran out. */
  stragglers?: Record<string, number>;
}

export interface ProcessFigures {
  /** The largest VmRSS sampled (every 0.5 s), and VmHWM (the kernel's peak) at the end. */
  maxRssMiB: number;
  peakRssMiB: number;
  endRssMiB: number;
  /** V8's heap at the end (from the operator's /metrics): used, and committed. */
  heapUsedMiB: number;
  heapTotalMiB: number;
  cpuSeconds: number;
}

export interface StartPhase {
  /** `cold`: started over the created world (nothing owned yet); `live`: started first, then the world created. */
  kind: 'cold' | 'live';
  creation: CreationTimes;
  readyzSeconds: number;
  /** From the operator's start (cold) or the first create (live). */
  convergence: ConvergenceResult;
  /** live: from the last create (the world complete) until all converged. */
  tailSeconds?: number;
  process: ProcessFigures;
  /** CPU seconds of the control plane's processes and the bench itself from the phase's start until all converged. */
  otherCpuSeconds: Record<string, number>;
  requests: RequestSummary;
  reconciles: Record<string, number>;
  reconcileErrors: Record<string, number>;
  objectWrites: Record<string, number>;
  certificatesIssued: number;
}

export interface QuietPhase {
  leaderElection: boolean;
  seconds: number;
  resyncSeconds: number;
  /** Successful reconciles in the window: the resyncs ran. */
  reconciles: number;
  requests: RequestCount[];
  summary: RequestSummary;
  perMinute: RequestSummary;
  watchRestarts: Record<string, number>;
  /** Objects (policies and everything the operator owns) whose resourceVersion moved in the window. */
  changedObjects: Record<string, number>;
  /** The operator's CPU time (user + system) per minute of the window: what the resyncs cost. */
  cpuSecondsPerMinute: number;
  minRssMiB: number;
  maxRssMiB: number;
}

export interface RestartPhase {
  readyzSeconds: number;
  leaderSeconds: number;
  /** Until every policy had been reconciled once (the first pass over a converged world). */
  firstPassSeconds: number;
  requests: RequestCount[];
  summary: RequestSummary;
  changedObjects: Record<string, number>;
  process: ProcessFigures;
}

export interface OperatorBenchResults {
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, unknown>;
  settings: WorldSettings & Record<string, unknown>;
  cold?: StartPhase;
  steady?: QuietPhase;
  restart?: RestartPhase;
  leaseSteady?: QuietPhase;
  live?: StartPhase;
  /** The desired objects rendered plain and with a cdk8s App per reconcile (cdk8s-render.ts). */
  rendering?: RenderComparison;
  profiles?: Record<string, string>;
  targets: Target[];
}

export function checkOperatorTargets(r: Omit<OperatorBenchResults, 'targets'>): Target[] {
  const targets: Target[] = [];
  const seconds = (what: string, value: number) => targets.push({ what, value, target: '< 60 s', met: value < 60 });
  if (r.cold) seconds(`cold start over the world: operator started -> all ${r.cold.convergence.policies} policies converged, s`, r.cold.convergence.allSeconds);
  if (r.live?.tailSeconds !== undefined) seconds('operator running while the world is created: last object created -> all converged, s', r.live.tailSeconds);
  for (const [name, phase] of [['cold start', r.cold], ['restart (leader election on)', r.restart], ['live creation', r.live]] as const) {
    if (phase) targets.push({ what: `operator peak RSS (VmHWM), ${name}, MiB`, value: phase.process.peakRssMiB, target: '< 256', met: phase.process.peakRssMiB < 256 });
  }
  if (r.steady) targets.push({ what: `writes per minute when nothing changes (leader election off, ${r.steady.seconds} s)`, value: r.steady.perMinute.writes, target: '0', met: r.steady.summary.writes === 0 });
  if (r.restart) targets.push({ what: 'writes by a restarted operator over a converged world', value: r.restart.summary.writes, target: '0', met: r.restart.summary.writes === 0 });
  if (r.leaseSteady) {
    targets.push({ what: `writes per minute but the Lease's, leader election on (${r.leaseSteady.seconds} s)`, value: r.leaseSteady.perMinute.writes, target: '0', met: r.leaseSteady.summary.writes === 0 });
  }
  return targets;
}

const verbs = (s: RequestSummary) =>
  Object.entries(s.byVerb)
    .sort((a, b) => b[1] - a[1])
    .map(([verb, n]) => `${verb} ${fixed(n, n % 1 ? 2 : 0)}`)
    .join(', ');

function startTable(p: StartPhase): string[] {
  const c = p.convergence;
  const from = p.kind === 'cold' ? 'operator start' : 'first create';
  return [
    table(
      ['', 'value'],
      [
        [`create the world (${p.kind === 'cold' ? 'no operator running' : 'operator running'})`, `${fixed(p.creation.totalSeconds, 1)} s, ${fixed(p.creation.requests)} requests, ${fixed(p.creation.requestsPerSecond)}/s`],
        ['  namespaces / Secrets / policies / pods+status', [p.creation.namespacesSeconds, p.creation.secretsSeconds, p.creation.policiesSeconds, p.creation.podsSeconds].map((s) => fixed(s, 1)).join(' / ') + ' s'],
        ['operator start -> /readyz (caches synced)', `${fixed(p.readyzSeconds, 1)} s`],
        [`${from} -> all ${c.policies} converged`, c.converged === c.policies ? `${fixed(c.allSeconds, 1)} s` : `NOT ALL: ${c.converged}/${c.policies}`],
        ...(p.tailSeconds !== undefined ? [['last create -> all converged', `${fixed(p.tailSeconds, 1)} s`]] : []),
        [`  median / p90 / plain last / TLS last`, [c.medianSeconds, c.p90Seconds, c.plainLastSeconds, c.tlsLastSeconds].map((s) => fixed(s, 1)).join(' / ') + ' s'],
        ['operator RSS max sampled / VmHWM / at end', `${fixed(p.process.maxRssMiB)} / ${fixed(p.process.peakRssMiB)} / ${fixed(p.process.endRssMiB)} MiB`],
        ['V8 heap used / committed at end', `${fixed(p.process.heapUsedMiB)} / ${fixed(p.process.heapTotalMiB)} MiB`],
        ['operator CPU', `${fixed(p.process.cpuSeconds, 1)} s`],
        [
          `  others' CPU, ${from} -> all converged`,
          Object.entries(p.otherCpuSeconds)
            .map(([name, s]) => `${name} ${fixed(s, 1)}`)
            .join(', ') + ' s',
        ],
        ['API requests', `${verbs(p.requests)}`],
        ['reconciles', Object.entries(p.reconciles).map(([k, v]) => `${k} ${v}`).join(', ')],
        ...(Object.keys(p.reconcileErrors).length ? [['reconcile errors', Object.entries(p.reconcileErrors).map(([k, v]) => `${k} ${v}`).join(', ')]] : []),
        ['objects written', Object.entries(p.objectWrites).map(([k, v]) => `${k} ${v}`).join(', ')],
        ['Ready reasons seen on the way (policies)', Object.entries(c.reasonsSeen).map(([k, v]) => `${k} ${v}`).join(', ')],
        ...(c.stragglers ? [['not converged', Object.entries(c.stragglers).map(([k, v]) => `${k}: ${v}`).join('; ')]] : []),
      ],
    ),
  ];
}

function quietTable(q: QuietPhase): string {
  return table(
    ['per minute', 'value'],
    [
      ['writes (the Lease apart)', fixed(q.perMinute.writes, 2)],
      ['Lease writes / reads', `${fixed(q.perMinute.leaseWrites, 2)} / ${fixed(q.perMinute.leaseReads, 2)}`],
      ['reads (get, list; the Lease apart)', fixed(q.perMinute.reads, 2)],
      ['watch requests (restarts)', fixed(q.perMinute.watches, 2)],
      ['all, by verb', verbs(q.perMinute)],
      ['in the window', `${q.seconds} s, resync every ${q.resyncSeconds} s: ${q.reconciles} reconciles; watch restarts ${JSON.stringify(q.watchRestarts)}`],
      ['objects changed', JSON.stringify(q.changedObjects)],
      ['operator CPU', `${fixed(q.cpuSecondsPerMinute, 2)} s`],
      ['operator RSS min-max', `${fixed(q.minRssMiB)}-${fixed(q.maxRssMiB)} MiB`],
    ],
  );
}

export function formatOperatorReport(r: OperatorBenchResults): string {
  const s = r.settings;
  const m = r.machine;
  const out: string[] = [];
  out.push(`dicom-guard operator at scale, ${r.startedAt}: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, kube-apiserver ${m.kubernetes}`);
  out.push(`load average at start ${(m.loadAverage as number[]).join(' ')}, at end ${(m.loadAverageAtEnd as number[]).join(' ')}; the control plane, the operator and the bench share the cores`);
  out.push(
    `world: ${s.policies} DicomAccessPolicies in ${s.namespaces} namespaces, ${s.policies * s.podsPerPolicy} pods (${s.podsPerPolicy} each, reported Running with an address), ` +
      `${s.tlsPolicies} with TLS, ${s.identityPolicies} with an identity Secret, ${s.fromPolicies} with \`from\` peers (${s.namespacePeerPolicies} across namespaces)`,
  );
  out.push(`operator: ${s.operator} (memory limit ${s.operatorMemoryLimit}; V8 heap limit ${s.operatorHeapLimitMiB} MiB), --workers ${s.workers}, --resync-period ${s.resyncPeriod}; ${s.issuer ? 'cert-manager played by the bench (each Certificate marked Ready as it appears)' : 'no issuer: TLS policies count when Ready but for CertificateReady'}`);
  out.push('converged = Ready True at its generation, matchedPods = protectedPods = all its pods, and its ConfigMap holds exactly the expected peer addresses');
  if (r.cold) out.push('', 'Cold start: the world created first, then the operator started (nothing owned yet)', ...startTable(r.cold));
  if (r.steady) out.push('', `Nothing changes: leader election off, ${r.steady.seconds} s after all converged`, quietTable(r.steady));
  if (r.restart) {
    out.push('', 'Restart over the converged world (leader election on)');
    out.push(
      table(
        ['', 'value'],
        [
          ['operator start -> /readyz / leader / every policy reconciled once', [r.restart.readyzSeconds, r.restart.leaderSeconds, r.restart.firstPassSeconds].map((x) => fixed(x, 1)).join(' / ') + ' s'],
          ['API requests', verbs(r.restart.summary)],
          ['writes (the Lease apart)', fixed(r.restart.summary.writes)],
          ['objects changed', JSON.stringify(r.restart.changedObjects)],
          ['operator RSS max sampled / VmHWM', `${fixed(r.restart.process.maxRssMiB)} / ${fixed(r.restart.process.peakRssMiB)} MiB`],
          ['V8 heap used / committed at end', `${fixed(r.restart.process.heapUsedMiB)} / ${fixed(r.restart.process.heapTotalMiB)} MiB`],
        ],
      ),
    );
  }
  if (r.leaseSteady) out.push('', `Nothing changes: leader election on, ${r.leaseSteady.seconds} s`, quietTable(r.leaseSteady));
  if (r.live) out.push('', 'Live: the operator started on an empty control plane, then the world created', ...startTable(r.live));
  if (r.rendering) {
    const { policies, plainMicroseconds, cdk8sMicroseconds, sameObjects } = r.rendering;
    out.push('', `Desired objects of ${policies} policies, in process: ${fixed(plainMicroseconds)} us per policy as the operator builds them, ${fixed(cdk8sMicroseconds)} us with a cdk8s App per reconcile (${fixed(cdk8sMicroseconds / plainMicroseconds, 2)}x; the same objects: ${sameObjects})`);
  }
  if (r.profiles) out.push('', `CPU profiles: ${Object.entries(r.profiles).map(([phase, file]) => `${phase} ${file}`).join('; ')}`);
  out.push('', 'Targets (informative, not enforced)');
  out.push(table(['', 'value', 'target', ''], r.targets.map((t) => [t.what, fixed(t.value, Number.isInteger(t.value) ? 0 : 1), t.target, t.met ? 'met' : 'NOT MET'])));
  out.push('', `${fixed(r.durationSeconds)} s in all`);
  return out.join('\n');
}
