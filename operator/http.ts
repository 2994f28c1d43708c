// The operator's HTTP endpoints: /metrics on the metrics port, /healthz and /readyz on
// the health port (the kubelet's probes). Handlers are mounted on a Routes table and a
// server serves a table, so the webhook (which runs on every replica, leader or not)
// mounts its handler on a table of its own behind a TLS server, or on these.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { Registry } from 'prom-client';
import { listen } from '../sidecar/proxy/listen.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export class Routes {
  readonly #routes = new Map<string, { handler: Handler; methods: readonly string[] }>();

  /** Serves `path` (exact match, query ignored) with `handler`; GET and HEAD unless told. */
  mount(path: string, handler: Handler, methods: readonly string[] = ['GET', 'HEAD']): this {
    if (this.#routes.has(path)) throw new Error(`${path} is mounted twice`);
    this.#routes.set(path, { handler, methods });
    return this;
  }

  get paths(): string[] {
    return [...this.#routes.keys()];
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = this.#routes.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${this.paths.join(', ')}\n`);
      return;
    }
    if (!route.methods.includes(req.method ?? 'GET')) {
      res.writeHead(405, { allow: route.methods.join(', ') }).end();
      return;
    }
    Promise.resolve()
      .then(() => route.handler(req, res))
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${error instanceof Error ? error.message : String(error)}\n`);
      });
  }
}

/** /metrics from a prom-client registry. */
export function metricsHandler(registry: Registry): Handler {
  return async (_req, res) => {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  };
}

/** A probe: 200 with "ok" when check() says nothing, else 503 with the reason. */
export function probeHandler(check: () => string | undefined): Handler {
  return (_req, res) => {
    const problem = check();
    if (problem) res.writeHead(503, { 'content-type': 'text/plain' }).end(`${problem}\n`);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  };
}

export interface ServeOptions {
  host: string;
  port: number;
  routes: Routes;
  /** Serve HTTPS with this key and certificate (the webhook); plain HTTP without. */
  tls?: HttpsOptions;
}

export async function serve(options: ServeOptions): Promise<Server> {
  const handle = (req: IncomingMessage, res: ServerResponse) => options.routes.handle(req, res);
  const server = options.tls ? createHttpsServer(options.tls, handle) : createHttpServer(handle);
  // Probes and scrapes are short; keep-alive connections must not hold up a shutdown.
  server.keepAliveTimeout = 5000;
  await listen(server, options.host, options.port);
  return server;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
