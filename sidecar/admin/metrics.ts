// Prometheus metrics of the sidecar. One registry per Sidecar instance (tests run
// several in one process); names follow Prometheus conventions (base units, _total).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface SidecarMetrics {
  registry: Registry;
  /** Every association that got a decision: accepted, rejected (with the RJ reason), aborted (malformed). */
  associations: Counter<'peer' | 'decision' | 'reason'>;
  /** Connections closed before an A-ASSOCIATE-RQ was decided (address not allowed, ARTIM, oversize, TLS failure). */
  connectionsClosed: Counter<'reason'>;
  activeAssociations: Gauge<'peer'>;
  bytes: Counter<'peer' | 'direction'>;
  /** TCP accept to A-ASSOCIATE-AC relayed to the caller. */
  setupSeconds: Histogram<'peer'>;
  configReloads: Counter<'result'>;
  sourcesBlocked: Counter;
  /** DIMSE messages refused mid-association (the association is then aborted), by peer, sender, rule and command. */
  messagesRefused: Counter<'peer' | 'from' | 'rule' | 'command'>;
  /** DICOM audit messages to the syslog audit repository, by result (sent, dropped). */
  auditMessages: Counter<'result'>;
}

export interface MetricSources {
  /** How many source addresses limits.failedAttempts blocks right now. */
  blockedSources(): number;
}

export function createSidecarMetrics(sources: MetricSources): SidecarMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dicomguard_sidecar_' });
  const metrics: SidecarMetrics = {
    registry,
    associations: new Counter({
      name: 'dicomguard_associations_total',
      help: 'Associations decided, by peer ("" when none matched), decision (accepted, rejected, aborted) and reason',
      labelNames: ['peer', 'decision', 'reason'],
      registers: [registry],
    }),
    connectionsClosed: new Counter({
      name: 'dicomguard_connections_closed_total',
      help: 'Connections closed before an association was decided, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    activeAssociations: new Gauge({
      name: 'dicomguard_active_associations',
      help: 'Associations currently relayed to the upstream, by peer',
      labelNames: ['peer'],
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'dicomguard_relayed_bytes_total',
      help: 'Bytes relayed, by peer and direction (to_upstream, to_client)',
      labelNames: ['peer', 'direction'],
      registers: [registry],
    }),
    setupSeconds: new Histogram({
      name: 'dicomguard_association_setup_seconds',
      help: 'Time from TCP accept until the A-ASSOCIATE-AC reached the caller',
      labelNames: ['peer'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'dicomguard_config_reloads_total',
      help: 'Configuration reloads, by result (success, failure)',
      labelNames: ['result'],
      registers: [registry],
    }),
    sourcesBlocked: new Counter({
      name: 'dicomguard_source_blocks_total',
      help: 'Times a source address was blocked after too many refused connections (associations, refused DIMSE messages, non-DICOM probes)',
      registers: [registry],
    }),
    messagesRefused: new Counter({
      name: 'dicomguard_messages_refused_total',
      help: 'DIMSE messages refused in an accepted association (it is then aborted), by peer, sender (client, upstream), rule and command',
      labelNames: ['peer', 'from', 'rule', 'command'],
      registers: [registry],
    }),
    auditMessages: new Counter({
      name: 'dicomguard_audit_messages_total',
      help: 'DICOM audit messages (PS3.15 A.5) for the syslog audit repository, by result: sent, or dropped (queue full, or lost with a broken connection)',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'dicomguard_blocked_sources',
    help: 'Source addresses blocked right now by limits.failedAttempts (answered with A-ASSOCIATE-RJ 2,3,1)',
    registers: [registry],
    collect() {
      this.set(sources.blockedSources());
    },
  });
  return metrics;
}
