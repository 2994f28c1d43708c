// The sidecar process: the DICOM listener, the current policy (swapped whole on a
// reload; open associations keep the one they started with), the admin server, and
// an orderly shutdown.
import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { ConfigError, parseSidecarConfig } from '../config/load.ts';
import type { SidecarConfig } from '../config/schema.ts';
import { watchFiles, type FileWatch } from '../config/watch.ts';
import { compilePolicy, type Policy } from '../decision/policy.ts';
import { parseSourceAddress } from '../decision/address.ts';
import { createSidecarMetrics, type SidecarMetrics } from '../admin/metrics.ts';
import { startAdminServer } from '../admin/server.ts';
import { createLogger } from '../log.ts';
import { Association, type IdentityVerification } from './association.ts';
import { ActiveAssociations } from './active-associations.ts';
import { FailedAttempts } from './failed-attempts.ts';
import { listen } from './listen.ts';

export interface SidecarOptions {
  /** The SidecarConfig file; watched and reloaded when it changes. */
  configPath: string;
  logger?: Logger;
  /** Seconds between polls of the watched files (fs.watch is the fast path). */
  pollSeconds?: number;
}

/** The config file's text; a ConfigError when it cannot be read. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
}

export class Sidecar {
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
  private policy: Policy;
  private readonly options: SidecarOptions;
  private readonly server: Server;
  private admin: HttpServer | undefined;
  private watch: FileWatch | undefined;
  private readonly active = new ActiveAssociations();
  private readonly failedAttempts: FailedAttempts;
  private readonly associations = new Set<Association>();
  private readonly shutdown = new AbortController();
  private readonly idPrefix = randomBytes(3).toString('hex');
  private nextId = 1;
  private listening = false;
  private stopping: Promise<void> | undefined;
  private lastConfigText: string;

  private constructor(options: SidecarOptions, config: SidecarConfig, configText: string, logger: Logger) {
    this.options = options;
    this.logger = logger;
    this.policy = compilePolicy(config);
    this.lastConfigText = configText;
    this.metrics = createSidecarMetrics();
    this.failedAttempts = new FailedAttempts(config.limits.failedAttempts);
    // pauseOnConnect: not one byte is read before the source address was checked.
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (error) => this.logger.error({ err: error }, 'DICOM listener error'));
  }

  /** Load the config (a ConfigError names the field), listen, serve the admin endpoints, watch for changes. */
  static async start(options: SidecarOptions): Promise<Sidecar> {
    const text = await readConfigText(options.configPath);
    const config = parseSidecarConfig(text, options.configPath);
    const logger = options.logger ?? createLogger('sidecar', config.log.level);
    const sidecar = new Sidecar(options, config, text, logger);
    await sidecar.listen();
    return sidecar;
  }

  get config(): SidecarConfig {
    return this.policy.config;
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
    const { listen: where, admin } = this.policy.config;
    await listen(this.server, where.host, where.port);
    this.listening = true;
    this.admin = await startAdminServer({ host: admin.host, port: admin.port, registry: this.metrics.registry, ready: () => this.listening && !this.stopping });
    this.watch = watchFiles([this.options.configPath], () => void this.reload(), { pollMs: (this.options.pollSeconds ?? 2) * 1000 });
    this.logger.info(
      { listen: `${where.host}:${this.port}`, upstream: `${this.config.upstream.host}:${this.config.upstream.port}`, admin: `${admin.host}:${this.adminPort}`, peers: this.config.peers.map((p) => p.name) },
      `dicom-guard sidecar listening on port ${this.port} for ${this.config.calledAETitles.join(', ')}`,
    );
  }

  /**
   * Re-read the config file. A valid config applies to new associations (open ones
   * finish on theirs); an invalid one is refused with its reasons and the last good
   * config stays. Returns whether a new config was applied.
   */
  async reload(): Promise<boolean> {
    let text: string | undefined;
    let config: SidecarConfig;
    try {
      text = await readConfigText(this.options.configPath);
      if (text === this.lastConfigText) return false;
      config = parseSidecarConfig(text, this.options.configPath);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (text !== undefined) this.lastConfigText = text; // report a broken file once, not on every poll
      this.metrics.configReloads.inc({ result: 'failure' });
      this.logger.error({ path: this.options.configPath, problems: error.problems }, `config reload refused, keeping the last good config: ${error.problems.join('; ')}`);
      return false;
    }
    const previous = this.policy.config;
    const needsRestart = (['listen', 'admin'] as const).filter((key) => JSON.stringify(previous[key]) !== JSON.stringify(config[key]));
    if (needsRestart.length) {
      this.logger.warn({ fields: needsRestart }, `${needsRestart.join(' and ')} changed; they take effect after a restart, everything else applies now`);
    }
    this.lastConfigText = text;
    this.policy = compilePolicy(config);
    this.failedAttempts.setLimits(config.limits.failedAttempts);
    this.logger.level = config.log.level;
    this.metrics.configReloads.inc({ result: 'success' });
    this.logger.info({ path: this.options.configPath, peers: config.peers.map((p) => p.name) }, 'config reloaded; new associations use it');
    return true;
  }

  private onConnection(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const association = new Association(socket, {
      connectionId: `${this.idPrefix}-${this.nextId++}`,
      policy: this.policy,
      logger: this.logger,
      metrics: this.metrics,
      active: this.active,
      failedAttempts: this.failedAttempts,
      verifyIdentity: this.verifyIdentity,
      shutdown: this.shutdown.signal,
    });
    this.associations.add(association);
    void association.closed.then(() => this.associations.delete(association));
    void association.run(parseSourceAddress(socket.remoteAddress));
  }

  private readonly verifyIdentity: IdentityVerification = async () => ({ status: 'failed', identityType: 0, why: 'user identity verification is not configured' });

  /**
   * SIGTERM: stop accepting, let open associations finish for up to
   * limits.shutdownGraceSeconds, then A-ABORT the rest.
   */
  stop(graceSeconds = this.policy.config.limits.shutdownGraceSeconds): Promise<void> {
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
      this.logger.info('dicom-guard sidecar stopped');
      this.logger.flush();
    })();
    return this.stopping;
  }
}
