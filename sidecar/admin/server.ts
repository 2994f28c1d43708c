// The admin HTTP server: /metrics (Prometheus), /healthz (the process runs), /readyz
// (a config is loaded and the DICOM port listens).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { listen } from '../proxy/listen.ts';

export interface AdminServerOptions {
  host: string;
  port: number;
  registry: Registry;
  ready: () => boolean;
}

export async function startAdminServer(options: AdminServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = options.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(body),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  await listen(server, options.host, options.port);
  return server;
}
