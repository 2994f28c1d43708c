// The sidecar process: the DICOM listener, the current generation (policy, TLS context,
// identity verifier; swapped whole on a reload, open associations keep the one they
// started with), the admin server, and an orderly shutdown.
import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { ConfigError } from '../config/error.ts';
import type { SidecarConfig } from '../config/schema.ts';
import { watchFiles, type FileWatch } from '../config/watch.ts';
import { parseSourceAddress } from '../decision/address.ts';
import { createSidecarMetrics, type SidecarMetrics } from '../admin/metrics.ts';
import { startAdminServer } from '../admin/server.ts';
import { startLockoutReporter, type LockoutReporter } from '../events/recorder.ts';
import { AuditTrail } from '../audit/trail.ts';
import { createAuditLogger, createLogger } from '../log.ts';
import { Association } from './association.ts';
import { loadGeneration, type Generation } from './generation.ts';
import { ActiveAssociations } from './active-associations.ts';
import { FailedAttempts } from './failed-attempts.ts';
import { listen } from './listen.ts';

export interface SidecarOptions {
  /** The SidecarConfig file; watched and reloaded when it changes. */
  configPath: string;
  logger?: Logger;
  /** Seconds between polls of the watched files (fs.watch is the fast path). */
  pollSeconds?: number;
  /** Where the pod (events/pod.ts) and the Kubernetes credentials come from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export class Sidecar {
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
  private readonly auditLogger: Logger;
  private generation: Generation;
  private readonly options: SidecarOptions;
  private readonly server: Server;
  private admin: HttpServer | undefined;
  private watch: FileWatch | undefined;
  private watchedFiles = '';
  private readonly active = new ActiveAssociations();
  private readonly failedAttempts: FailedAttempts;
  /** Lockouts as Events on the pod; none outside Kubernetes. */
  private lockouts: LockoutReporter | undefined;
  /** DICOM audit messages to the audit repository (audit.syslog). */
  private readonly atna: AuditTrail;
  private readonly associations = new Set<Association>();
  private readonly shutdown = new AbortController();
  private readonly idPrefix = randomBytes(3).toString('hex');
  private nextId = 1;
  private listening = false;
  private stopping: Promise<void> | undefined;
  /** The fingerprint of the last file set that was refused, so a broken file is reported once. */
  private refusedFingerprint: string | undefined;

  private constructor(options: SidecarOptions, generation: Generation, logger: Logger) {
    this.options = options;
    this.logger = logger;
    this.auditLogger = createAuditLogger(logger);
    this.generation = generation;
    this.failedAttempts = new FailedAttempts(this.config.limits.failedAttempts);
    this.metrics = createSidecarMetrics({ blockedSources: () => this.failedAttempts.blockedCount });
    this.atna = new AuditTrail(logger.child({ scope: 'audit-repository' }), this.metrics.auditMessages);
    // pauseOnConnect: not one byte is read (not even a TLS handshake) before the source address was checked.
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (error) => this.logger.error({ err: error }, 'DICOM listener error'));
  }

  /** Load the config and its files (a ConfigError names the field), listen, serve the admin endpoints, watch for changes. */
  static async start(options: SidecarOptions): Promise<Sidecar> {
    const bootLogger = options.logger ?? createLogger('sidecar');
    const generation = await loadGeneration(options.configPath, bootLogger);
    const logger = options.logger ?? createLogger('sidecar', generation.policy.config.log.level);
    const sidecar = new Sidecar(options, generation, logger);
    sidecar.lockouts = await startLockoutReporter({ logger, ...(options.env ? { env: options.env } : {}) });
    sidecar.atna.configure(generation.auditSyslog, generation.policy.config.calledAETitles);
    await sidecar.listen();
    sidecar.atna.applicationStarted();
    return sidecar;
  }

  get config(): SidecarConfig {
    return this.generation.policy.config;
  }

  /** The port the DICOM listener is bound to (useful with port 0 in tests). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get adminPort(): number {
    const address = this.admin?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get activeAssociations(): number {
    return this.active.total;
  }

  private async listen(): Promise<void> {
    const { listen: where, admin } = this.config;
    await listen(this.server, where.host, where.port);
    this.listening = true;
    this.admin = await startAdminServer({ host: admin.host, port: admin.port, registry: this.metrics.registry, ready: () => this.listening && !this.stopping });
    this.watchGenerationFiles();
    const tls = this.generation.tls;
    this.logger.info(
      {
        listen: `${where.host}:${this.port}`,
        upstream: `${this.config.upstream.host}:${this.config.upstream.port}`,
        admin: `${admin.host}:${this.adminPort}`,
        peers: this.config.peers.map((p) => p.name),
        tls: tls ? { mode: tls.mode, clientCertificates: tls.clientCertificates, certificate: tls.certificate } : 'Disabled',
        identity: this.config.identity.mode,
        ...(this.generation.upstream.tls || this.generation.upstream.identity
          ? {
              edge: {
                ...(this.generation.upstream.tls ? { tls: { serverName: this.generation.upstream.tls.serverName, clientCertificate: this.generation.upstream.tls.clientCertificate?.subject ?? 'none' } } : {}),
                ...(this.generation.upstream.identity ? { identityType: this.generation.upstream.identity.identityType } : {}),
              },
            }
          : {}),
      },
      `dicom-guard sidecar listening on port ${this.port} for ${this.config.calledAETitles.join(', ')}`,
    );
  }

  /** Watch the config file and every file it names; the set changes with the config. */
  private watchGenerationFiles(): void {
    const files = this.generation.files;
    if (files.join('\0') === this.watchedFiles) return;
    this.watch?.close();
    this.watchedFiles = files.join('\0');
    this.watch = watchFiles(files, () => void this.reload(), { pollMs: (this.options.pollSeconds ?? 2) * 1000 });
  }

  /**
   * Rebuild the generation from the files. A valid one applies to new associations (open
   * ones finish on theirs); an invalid one is refused with its reasons and the last good
   * generation stays. Returns whether a new generation was applied.
   */
  async reload(): Promise<boolean> {
    let next: Generation;
    try {
      next = await loadGeneration(this.options.configPath, this.logger);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const fingerprint = error.problems.join('\n');
      if (fingerprint === this.refusedFingerprint) return false; // already reported
      this.refusedFingerprint = fingerprint;
      this.metrics.configReloads.inc({ result: 'failure' });
      this.logger.error({ path: this.options.configPath, problems: error.problems }, `config reload refused, keeping the last good config: ${error.problems.join('; ')}`);
      return false;
    }
    this.refusedFingerprint = undefined;
    if (next.fingerprint === this.generation.fingerprint) {
      next.verifier?.close();
      return false;
    }
    const previous = this.generation;
    const needsRestart = (['listen', 'admin'] as const).filter((key) => JSON.stringify(previous.policy.config[key]) !== JSON.stringify(next.policy.config[key]));
    if (needsRestart.length) {
      this.logger.warn({ fields: needsRestart }, `${needsRestart.join(' and ')} changed; they take effect after a restart, everything else applies now`);
    }
    this.generation = next;
    this.watchGenerationFiles();
    this.failedAttempts.setLimits(next.policy.config.limits.failedAttempts);
    this.atna.configure(next.auditSyslog, next.policy.config.calledAETitles);
    this.logger.level = next.policy.config.log.level;
    this.metrics.configReloads.inc({ result: 'success' });
    // Verifications already under way hold the previous verifier; give them time to finish.
    if (previous.verifier && previous.verifier !== next.verifier) setTimeout(() => previous.verifier?.close(), 120_000).unref();
    this.logger.info(
      { path: this.options.configPath, peers: next.policy.config.peers.map((p) => p.name), certificate: next.tls?.certificate },
      'config reloaded; new associations use it',
    );
    return true;
  }

  private onConnection(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const association = new Association(socket, {
      connectionId: `${this.idPrefix}-${this.nextId++}`,
      generation: this.generation,
      logger: this.logger,
      auditLogger: this.auditLogger,
      metrics: this.metrics,
      active: this.active,
      failedAttempts: this.failedAttempts,
      ...(this.lockouts ? { lockouts: this.lockouts } : {}),
      atna: this.atna,
      shutdown: this.shutdown.signal,
    });
    this.associations.add(association);
    void association.closed.then(() => this.associations.delete(association));
    void association.run(parseSourceAddress(socket.remoteAddress));
  }

  /**
   * SIGTERM: stop accepting, let open associations finish for up to
   * limits.shutdownGraceSeconds, then A-ABORT the rest.
   */
  stop(graceSeconds = this.config.limits.shutdownGraceSeconds): Promise<void> {
    this.stopping ??= (async () => {
      this.watch?.close();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      const open = this.associations.size;
      if (open > 0) this.logger.info({ open, graceSeconds }, `shutting down: waiting up to ${graceSeconds} s for ${open} open association(s)`);
      const allClosed = Promise.all([...this.associations].map((a) => a.closed));
      const graceOver = new Promise<'grace-over'>((resolve) => setTimeout(() => resolve('grace-over'), graceSeconds * 1000).unref());
      if ((await Promise.race([allClosed, graceOver])) === 'grace-over') {
        this.logger.warn({ open: this.associations.size }, 'shutdown grace period over: aborting the open associations');
        this.shutdown.abort();
        await Promise.race([Promise.all([...this.associations].map((a) => a.closed)), new Promise((r) => setTimeout(r, 5000).unref())]);
      }
      this.shutdown.abort();
      await closed;
      if (this.admin) {
        this.admin.closeAllConnections();
        this.admin.close();
        await once(this.admin, 'close').catch(() => undefined);
      }
      this.listening = false;
      this.lockouts?.close();
      await this.atna.close();
      this.generation.verifier?.close();
      this.logger.info('dicom-guard sidecar stopped');
      this.logger.flush();
    })();
    return this.stopping;
  }
}
