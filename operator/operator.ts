// One operator process: the Kubernetes client, the caches, the policy controller, leader
// election and the HTTP endpoints, started and stopped in order.
//
// Every replica runs the caches (kept warm for a fast failover) and the HTTP endpoints
// (the webhook, which runs on all replicas, mounts its handler next to them); only the
// leader runs the controller's workers, which are the only writers.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Logger } from '../sidecar/log.ts';
import { createCaches, type Caches } from './controllers/caches.ts';
import { PolicyController } from './controllers/policy.ts';
import { closeServer, metricsHandler, probeHandler, Routes, serve } from './http.ts';
import { KubeClient } from './kube/client.ts';
import { loadKubeConfig, SERVICE_ACCOUNT_NAMESPACE_FILE } from './kube/config.ts';
import { EventRecorder } from './kube/events.ts';
import { LeaderElector } from './leader/elector.ts';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.ts';
import type { OperatorOptions } from './options.ts';
import { WebhookNamespacesController } from './controllers/webhook-namespaces.ts';
import { startWebhookServer, type WebhookServer } from './webhook/server.ts';
import type { Admission } from './webhook/admission.ts';
import { join } from 'node:path';

export const REPORTING_CONTROLLER = 'dicomguard.io/operator';

export interface RunningOperator {
  readonly identity: string;
  readonly metrics: OperatorMetrics;
  readonly caches: Caches;
  /** The routes of the health server (the webhook may mount here too). */
  readonly routes: Routes;
  readonly isLeader: () => boolean;
  /** Stops reconciling (releasing the Lease), then the watches and the HTTP endpoints. */
  stop(): Promise<void>;
}

function leaseNamespace(options: OperatorOptions): string {
  if (options.leaseNamespace) return options.leaseNamespace;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

export async function startOperator(options: OperatorOptions, logger: Logger): Promise<RunningOperator> {
  const metrics = createOperatorMetrics();
  const { config, source } = loadKubeConfig(options.kubeconfig);
  const client = await KubeClient.create(config, {
    observe: (verb, resource, code, seconds) => {
      metrics.apiRequests.inc({ verb, resource, code });
      metrics.apiRequestSeconds.observe({ verb }, seconds);
    },
  });
  logger.info({ server: client.server.origin, credentials: source, namespace: options.namespace ?? '(all)', identity: options.identity }, 'starting the operator');

  const caches = createCaches({
    client,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    logger: logger.child({ scope: 'informer' }),
    onRestart: (resource, reason) => metrics.watchRestarts.inc({ resource, reason }),
  });
  const events = new EventRecorder({ client, reporter: { controller: REPORTING_CONTROLLER, instance: options.identity }, logger });
  const controller = new PolicyController({
    client,
    caches,
    events,
    metrics,
    logger,
    settings: options.render,
    workers: options.workers,
    resyncMs: options.resyncSeconds * 1000,
  });

  // Cache sizes are read when scraped.
  const sizes = new Map(caches.all.map((i) => [i.name, i]));
  const scrape = metricsHandler(metrics.registry);

  const routes = new Routes();
  routes.mount('/healthz', probeHandler(() => undefined));
  routes.mount(
    '/readyz',
    probeHandler(() => {
      const waiting = caches.all.filter((i) => !i.hasSynced).map((i) => i.name);
      return waiting.length ? `caches not synced: ${waiting.join(', ')}` : undefined;
    }),
  );
  const metricsRoute = async (req: Parameters<typeof scrape>[0], res: Parameters<typeof scrape>[1]) => {
    for (const [name, informer] of sizes) metrics.cachedObjects.set({ resource: name }, informer.size);
    await scrape(req, res);
  };
  const servers: Server[] = [];
  if (options.metricsPort === options.healthPort) {
    routes.mount('/metrics', metricsRoute);
    servers.push(await serve({ host: options.bindAddress, port: options.healthPort, routes }));
  } else {
    servers.push(await serve({ host: options.bindAddress, port: options.healthPort, routes }));
    servers.push(await serve({ host: options.bindAddress, port: options.metricsPort, routes: new Routes().mount('/metrics', metricsRoute) }));
  }
  logger.info({ health: `${options.bindAddress}:${options.healthPort}`, metrics: `${options.bindAddress}:${options.metricsPort}` }, 'serving /healthz, /readyz and /metrics');

  for (const informer of caches.all) informer.start();

  // The injecting webhook answers on every replica, leader or not: a PACS pod must be
  // able to start while leadership changes hands.
  let webhook: WebhookServer | undefined;
  if (options.webhook) {
    webhook = await startWebhookServer({
      host: options.bindAddress,
      port: options.webhook.port,
      certFile: join(options.webhook.certDir, 'tls.crt'),
      keyFile: join(options.webhook.certDir, 'tls.key'),
      policiesOf: (namespace) => caches.policies.listIn(namespace).filter((p) => !p.metadata.deletionTimestamp),
      settings: () => options.injection,
      logger: logger.child({ scope: 'webhook' }),
      registry: metrics.registry,
      onAdmission: (admission) => recordAdmission(events, caches, admission),
    });
    logger.info({ webhook: `${options.bindAddress}:${webhook.port}`, certDir: options.webhook.certDir }, 'serving the injecting webhook');
  }
  const webhookNamespaces = options.webhookConfiguration
    ? new WebhookNamespacesController({ client, caches, logger: logger.child({ scope: 'webhook-namespaces' }), configuration: options.webhookConfiguration.name, webhook: options.webhookConfiguration.webhook })
    : undefined;

  let elector: LeaderElector | undefined;
  let local: AbortController | undefined;
  if (options.leaderElect) {
    const namespace = leaseNamespace(options);
    elector = new LeaderElector({
      client,
      namespace,
      name: options.leaseName,
      identity: options.identity,
      timing: options.timing,
      logger: logger.child({ scope: 'leader-election' }),
      onStartedLeading: (leading) => {
        metrics.leader.set(1);
        void controller.run(leading);
        webhookNamespaces?.run(leading);
      },
      onStoppedLeading: async () => {
        metrics.leader.set(0);
        await controller.stopped();
      },
    });
    logger.info({ lease: `${namespace}/${options.leaseName}`, ...options.timing }, 'leader election on');
    elector.start();
  } else {
    local = new AbortController();
    metrics.leader.set(1);
    void controller.run(local.signal);
    webhookNamespaces?.run(local.signal);
  }

  let stopping: Promise<void> | undefined;
  return {
    identity: options.identity,
    metrics,
    caches,
    routes,
    isLeader: () => (elector ? elector.isLeader : true),
    stop() {
      stopping ??= (async () => {
        if (elector) await elector.stop();
        if (local) {
          local.abort(new Error('stopping'));
          metrics.leader.set(0);
          await controller.stopped();
        }
        await webhookNamespaces?.settled();
        await webhook?.close();
        await Promise.all(caches.all.map((i) => i.stop()));
        await Promise.all(servers.map(closeServer));
        client.close();
        logger.info('operator stopped');
      })();
      return stopping;
    },
  };
}

/**
 * The webhook's decisions that someone should hear of become Events on the policy:
 * a pod that opted out or runs on the host network is not protected; two policies
 * select the same pod.
 */
function recordAdmission(events: EventRecorder, caches: Caches, admission: Admission): void {
  const report = admission.report;
  if (!report?.policy || !admission.namespace) return;
  const policy = caches.policies.getIn(admission.namespace, report.policy);
  if (!policy) return;
  const reasons: Partial<Record<typeof report.reason, string>> = { 'opted-out': 'PodOptedOut', 'host-network': 'PodOnHostNetwork', 'policy-conflict': 'Conflict' };
  const reason = reasons[report.reason];
  if (!reason) return;
  events.record({
    regarding: { apiVersion: policy.apiVersion, kind: policy.kind, namespace: admission.namespace, name: report.policy, uid: policy.metadata.uid },
    type: 'Warning',
    reason,
    action: 'Inject',
    note: report.message,
  });
}
