// The webhook's HTTPS server. It serves on every operator replica (not only the leader):
// the API server calls whichever one the Service picks. The serving certificate comes
// from cert-manager through a mounted Secret and is reloaded when it rotates, without a
// restart (the files are watched; a broken pair keeps the last good one).
import { createServer, type Server } from 'node:https';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { watchFiles, type FileWatch } from '../../sidecar/config/watch.ts';
import { listen } from '../../sidecar/proxy/listen.ts';
import { admit, type Admission, type AdmissionReview, type PoliciesOf } from './admission.ts';
import type { InjectionSettings } from './inject.ts';

export const WEBHOOK_PATH = '/mutate-pods';
/** The API server sends at most a few MiB; anything larger is not a pod. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface WebhookServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  policiesOf: PoliciesOf;
  settings: () => InjectionSettings;
  logger: Logger;
  registry: Registry;
  /** Called with every decision about a pod (events, logs). */
  onAdmission?: (admission: Admission) => void;
}

export interface WebhookServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { logger } = options;
  const decisions = new Counter({
    name: 'dicomguard_webhook_admissions_total',
    help: 'Pod admissions decided by the injecting webhook, by reason (selected, not-selected, already-injected, opted-out, policy-conflict, host-network) and whether the sidecar was injected',
    labelNames: ['reason', 'injected'],
    registers: [options.registry],
  });
  const latency = new Histogram({
    name: 'dicomguard_webhook_admission_seconds',
    help: 'Time to answer an AdmissionReview',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [options.registry],
  });
  const certificateReloads = new Counter({ name: 'dicomguard_webhook_certificate_reloads_total', help: 'Webhook serving certificate reloads, by result', labelNames: ['result'], registers: [options.registry] });

  const readPair = async () => ({ cert: await readFile(options.certFile, 'utf8'), key: await readFile(options.keyFile, 'utf8') });
  let current = await readPair();
  const server = createServer({ ...current, minVersion: 'TLSv1.2' }, (req, res) => {
    const started = process.hrtime.bigint();
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== WEBHOOK_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`POST ${WEBHOOK_PATH}\n`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let admission: Admission;
      try {
        admission = admit(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview, options.policiesOf, options.settings());
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'webhook: not an AdmissionReview');
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
        return;
      }
      if (admission.report) {
        decisions.inc({ reason: admission.report.reason, injected: String(admission.report.inject) });
        if (admission.report.reason !== 'not-selected') {
          logger.info({ namespace: admission.namespace, reason: admission.report.reason, policy: admission.report.policy, injected: admission.report.inject }, admission.report.message);
        }
        options.onAdmission?.(admission);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(admission.review));
      latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;

  const reload = async () => {
    try {
      const next = await readPair();
      if (next.cert === current.cert && next.key === current.key) return;
      createSecureContext(next); // throws for a mismatched or broken pair
      server.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
      current = next;
      certificateReloads.inc({ result: 'success' });
      logger.info({ certFile: options.certFile }, 'webhook serving certificate reloaded');
    } catch (error) {
      certificateReloads.inc({ result: 'failure' });
      logger.error({ certFile: options.certFile, err: (error as Error).message }, 'webhook serving certificate reload failed; keeping the last good one');
    }
  };
  const watch: FileWatch = watchFiles([options.certFile, options.keyFile], () => void reload());

  await listen(server, options.host, options.port);
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : options.port,
    async close() {
      watch.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
