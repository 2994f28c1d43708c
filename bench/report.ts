// The benchmark results as one JSON document and as the table printed at the end of a
// run. Targets from the issue are checked here, on medians, and reported, never
// enforced: a benchmark informs, it does not gate.
import type { Machine } from './machine.ts';
import type { StoreThroughputResult } from './store-throughput.ts';
import type { AssociationRateResult } from './association-rate.ts';
import type { IdleMemoryResult } from './idle-memory.ts';
import type { AssociationMemoryResult } from './association-memory.ts';
import type { MessageCheckResult } from './message-check.ts';
import type { LinearFit, Summary } from './statistics.ts';
import { DIRECT, NGINX, SIDECAR } from './paths.ts';

export interface Target {
  what: string;
  value: number;
  target: string;
  met: boolean;
}

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  machine: Machine;
  loadAverageAtEnd: number[];
  settings: Record<string, unknown>;
  storeThroughput: StoreThroughputResult[];
  /** The same C-STORE runs with nginx and the sidecar terminating TLS (direct: plain TCP). */
  tlsStoreThroughput?: StoreThroughputResult[];
  /** Many small instances in one association: the per-message cost (the relay reads and checks every command). */
  smallStoreThroughput?: StoreThroughputResult[];
  messageCheck?: MessageCheckResult;
  associationRate?: AssociationRateResult;
  idleMemory?: IdleMemoryResult;
  associationMemory?: AssociationMemoryResult;
  targets: Target[];
}

const isSidecar = (name: string) => name.startsWith(SIDECAR);
/** The sidecar verifying a JWT on every association (association-rate.ts). */
export const SIDECAR_JWT = `${SIDECAR} jwt`;

export function checkTargets(results: Omit<BenchResults, 'targets'>): Target[] {
  const targets: Target[] = [];
  for (const store of results.storeThroughput) {
    const nginx = store.paths[NGINX]!;
    for (const [name, path] of Object.entries(store.paths).filter(([n]) => isSidecar(n))) {
      targets.push({ what: `C-STORE max PDU ${store.maxPdu}: ${name} / direct`, value: path.ratioToDirect, target: '>= 0.95', met: path.ratioToDirect >= 0.95 });
      const vsNginx = path.mibPerSecond.median / nginx.mibPerSecond.median;
      targets.push({ what: `C-STORE max PDU ${store.maxPdu}: ${name} / nginx`, value: vsNginx, target: '>= 1', met: vsNginx >= 1 });
    }
  }
  for (const store of results.tlsStoreThroughput ?? []) {
    const nginx = store.paths[NGINX]!;
    for (const [name, path] of Object.entries(store.paths).filter(([n]) => isSidecar(n))) {
      const vsNginx = path.mibPerSecond.median / nginx.mibPerSecond.median;
      targets.push({ what: `TLS C-STORE max PDU ${store.maxPdu}: ${name} / nginx`, value: vsNginx, target: '>= 1', met: vsNginx >= 1 });
    }
  }
  for (const store of results.smallStoreThroughput ?? []) {
    const nginx = store.paths[NGINX]!;
    for (const [name, path] of Object.entries(store.paths).filter(([n]) => isSidecar(n))) {
      const vsNginx = path.objectsPerSecond.median / nginx.objectsPerSecond.median;
      targets.push({ what: `C-STORE of ${store.objects} small instances: ${name} / nginx`, value: vsNginx, target: '>= 1', met: vsNginx >= 1 });
    }
  }
  if (results.associationRate) {
    const { paths } = results.associationRate;
    const nginx = paths[NGINX]!;
    for (const [name, path] of Object.entries(paths).filter(([n]) => isSidecar(n))) {
      if (name === SIDECAR_JWT) {
        const vsPlain = path.perSecond.median / paths[SIDECAR]!.perSecond.median;
        targets.push({ what: `associations/s: ${name} / ${SIDECAR} (no identity)`, value: vsPlain, target: '>= 0.8', met: vsPlain >= 0.8 });
        continue;
      }
      const vsNginx = path.perSecond.median / nginx.perSecond.median;
      targets.push({ what: `associations/s: ${name} / nginx`, value: vsNginx, target: '>= 1', met: vsNginx >= 1 });
    }
  }
  if (results.idleMemory) {
    for (const [name, sidecar] of Object.entries(results.idleMemory.sidecars)) {
      const rss = sidecar.rssMiB.median;
      targets.push({ what: `${name} RSS with ${results.idleMemory.associations} idle associations, MiB`, value: rss, target: '< 150', met: rss < 150 });
    }
  }
  return targets;
}

/** A text table: the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const fixed = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));
const range = (s: Summary, digits = 0) => `${fixed(s.min, digits)}-${fixed(s.max, digits)}`;
const spread = (s: Summary) => `${fixed(s.spreadPercent)}%`;
/** Every run in the order it ran: a trend (a sidecar slowing down run after run) shows here. */
const runs = (s: Summary) => s.samples.map((v) => fixed(v)).join(' ');

function storeTable(store: StoreThroughputResult, kind: string): string[] {
  return [
    `${kind}C-STORE throughput, max PDU ${store.maxPdu}: storescu -> storescp --ignore, ${store.objects} objects of ` +
      `${fixed(store.bytesPerAssociation / store.objects / 1024 / 1024)} MiB in one association, ${store.repeats} runs per path (MiB/s of DICOM files)`,
    table(
      ['path', 'MiB/s', 'min-max', 'spread', 'vs direct', 'proxy CPU s/GiB', 'proxy peak RSS MiB', 'runs in order'],
      Object.entries(store.paths).map(([name, p]) => [
        name,
        fixed(p.mibPerSecond.median),
        range(p.mibPerSecond),
        spread(p.mibPerSecond),
        fixed(p.ratioToDirect, 3),
        p.proxyCpuSecondsPerGiB ? fixed(p.proxyCpuSecondsPerGiB.median, 2) : '',
        fixed(p.proxyPeakRssMiB),
        runs(p.mibPerSecond),
      ]),
    ),
  ];
}

export function formatReport(results: BenchResults): string {
  const { machine } = results;
  const out: string[] = [];
  out.push(
    `dicom-guard benchmarks, ${results.startedAt}: Node ${machine.versions.node}, nginx ${machine.versions.nginx}, DCMTK ${machine.versions.dcmtk}, ` +
      `${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB`,
  );
  out.push(`note: ${machine.note}`);
  if (typeof results.settings.sidecar === 'string') out.push(`sidecar: ${results.settings.sidecar}`);
  out.push('node relay: bench/node-relay.mjs, a 10-line Node.js relay (no framing, decision, metrics or log): the least any Node.js proxy costs here');
  out.push(`load average at start ${machine.loadAverage.join(' ')}, at end ${results.loadAverageAtEnd.join(' ')}${(machine.loadAverage[0] ?? 0) > machine.cores ? ' (other work was competing: wall-time figures are noisy)' : ''}`);
  for (const store of results.storeThroughput) out.push('', ...storeTable(store, ''));
  for (const store of results.tlsStoreThroughput ?? []) {
    out.push('', ...storeTable(store, 'TLS '));
    out.push('(TLS ends at nginx and at the sidecar, which relay plain TCP to storescp; direct is plain TCP end to end, the reference without TLS)');
    out.push(`negotiated: ${Object.entries(store.negotiated ?? {}).map(([name, what]) => `${name} ${what}`).join('; ')}`);
  }
  for (const store of results.smallStoreThroughput ?? []) {
    out.push('');
    out.push(
      `C-STORE of small instances, max PDU ${store.maxPdu}: storescu -> storescp --ignore, ${store.objects} objects of ` +
        `${fixed(store.bytesPerAssociation / store.objects / 1024)} KiB in one association, ${store.repeats} runs per path. ` +
        'Every message is a command set the sidecar assembles and checks before relaying it; Nagle off in storescu and storescp (TCP_NODELAY=1) (C-STORE/s)',
    );
    const nginx = store.paths[NGINX]!.objectsPerSecond.median;
    out.push(
      table(
        ['path', 'C-STORE/s', 'min-max', 'spread', 'vs direct', 'vs nginx', 'proxy CPU us/C-STORE', 'runs in order'],
        Object.entries(store.paths).map(([name, p]) => [
          name,
          fixed(p.objectsPerSecond.median),
          range(p.objectsPerSecond),
          spread(p.objectsPerSecond),
          fixed(p.objectsPerSecond.median / store.paths[DIRECT]!.objectsPerSecond.median, 3),
          fixed(p.objectsPerSecond.median / nginx, 3),
          p.proxyCpuMicrosecondsPerObject ? fixed(p.proxyCpuMicrosecondsPerObject.median) : '',
          runs(p.objectsPerSecond),
        ]),
      ),
    );
  }
  const check = results.messageCheck;
  if (check) {
    out.push('');
    out.push(
      `The per-message check in process: ${check.messages} C-STORE messages of ${fixed(check.bytesPerMessage / 1024, 1)} KiB through the relay's framer in 64 KiB chunks, ${check.rounds} rounds (ns per message)`,
    );
    out.push(
      table(
        ['', 'median', 'min-max', 'spread'],
        [
          ['framing alone', fixed(check.framingNs.median), range(check.framingNs), spread(check.framingNs)],
          ['framing and the message guard', fixed(check.checkedNs.median), range(check.checkedNs), spread(check.checkedNs)],
        ],
      ),
    );
    out.push(`the check adds ${fixed(check.checkNs)} ns per message`);
  }
  const rate = results.associationRate;
  if (rate) {
    out.push('');
    out.push(`Association rate: one at a time (associate, release, close) to storescp, ${rate.repeats} rounds of ${rate.secondsPerRound} s per path`);
    const nginx = rate.paths[NGINX]!.perSecond.median;
    out.push(
      table(
        ['path', 'assoc/s', 'min-max', 'spread', 'vs direct', 'vs nginx', 'median us', 'proxy CPU us/assoc', 'rounds in order'],
        Object.entries(rate.paths).map(([name, p]) => [
          name,
          fixed(p.perSecond.median),
          range(p.perSecond),
          spread(p.perSecond),
          fixed(p.ratioToDirect, 3),
          fixed(p.perSecond.median / nginx, 3),
          fixed(p.medianMicroseconds),
          p.proxyCpuMicroseconds ? fixed(p.proxyCpuMicroseconds.median) : '',
          runs(p.perSecond),
        ]),
      ),
    );
    const jwt = rate.paths[SIDECAR_JWT]?.perSecond.median;
    const audited = (label: string) => rate.paths[`${SIDECAR_JWT} ${label}`]?.perSecond.median;
    if (jwt && audited('atna') && audited('atna-down')) {
      out.push(`audit messages (a Login and a Logout per association): ${fixed(audited('atna')! / jwt, 3)} of the JWT sidecar's rate with the repository up, ${fixed(audited('atna-down')! / jwt, 3)} with it down`);
    }
  }
  const memory = results.idleMemory;
  if (memory) {
    out.push('');
    out.push(`Sidecar memory: ${memory.associations} established idle associations relayed to a Node acceptor, ${memory.repeats} rounds (VmRSS, MiB)`);
    out.push(
      table(
        ['sidecar', 'started', `${memory.associations} open`, 'min-max', 'KiB/assoc', 'after release', 'peak (VmHWM)', `s to open ${memory.associations}`, 'open, rounds in order'],
        Object.entries(memory.sidecars).map(([name, m]) => [
          name,
          fixed(m.baselineRssMiB, 1),
          fixed(m.rssMiB.median, 1),
          range(m.rssMiB, 1),
          fixed(m.kibPerAssociation, 1),
          fixed(m.rssAfterReleaseMiB.median, 1),
          fixed(m.peakRssMiB, 1),
          fixed(m.secondsToOpen.median, 2),
          m.rssMiB.samples.map((v) => fixed(v, 1)).join(' '),
        ]),
      ),
    );
  }
  const soak = results.associationMemory;
  if (soak) {
    out.push('');
    out.push(
      `Sidecar memory over ${soak.associations} associations, ${soak.concurrency} clients at a time to storescp --fork --ignore: associate, one C-ECHO or one ` +
        `${fixed(soak.smallStoreBytes / 1024)} KiB C-STORE in turn, release; every ${soak.largeEvery}th a ${fixed(soak.largeMiB)} MiB C-STORE by storescu. ` +
        `Sampled after every ${soak.sampleEvery} (MiB; heap used includes garbage not yet collected)`,
    );
    for (const [name, m] of Object.entries(soak.sidecars)) {
      out.push(
        table(
          [`${name}: associations`, 's', 'RSS', 'heap used', 'heap total', 'external'],
          m.samples.map((s) => [String(s.associations), fixed(s.seconds), fixed(s.rssMiB, 1), fixed(s.heapUsedMiB, 1), fixed(s.heapTotalMiB, 1), fixed(s.externalMiB, 1)]),
        ),
      );
      const { slopes } = m;
      const slope = (fit: LinearFit) => `${fit.slope >= 0 ? '+' : ''}${fixed(fit.slope)} ± ${fixed(fit.standardError)}`;
      out.push(
        `${name} slope over ${slopes.fromAssociations}-${slopes.toAssociations} (${slopes.samples} samples), KiB per 1000 associations: ` +
          `RSS ${slope(slopes.rss)}, heap used ${slope(slopes.heapUsed)}, external ${slope(slopes.external)}; peak RSS (VmHWM) ${fixed(m.peakRssMiB, 1)} MiB`,
      );
      out.push(
        `  (± one standard error. A leak of 1 KiB per association would read +1000; a plateau, within about two standard errors of 0. ` +
          `${m.completed.echo} C-ECHO, ${m.completed.store} small C-STORE, ${m.completed.large} large C-STORE associations completed, ${m.failed} failed)`,
      );
      if (m.firstFailure) out.push(`  first failure: ${m.firstFailure}`);
      if (m.stoppedEarly) out.push(`  stopped early: ${m.stoppedEarly}`);
    }
  }
  out.push('');
  out.push('Targets (checked on medians; informative, not enforced)');
  out.push(table(['', 'value', 'target', ''], results.targets.map((t) => [t.what, fixed(t.value, 3), t.target, t.met ? 'met' : 'NOT MET'])));
  out.push('');
  out.push(`${fixed(results.durationSeconds)} s in all`);
  return out.join('\n');
}
