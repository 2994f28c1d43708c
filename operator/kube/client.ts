// A thin client over the API server's REST interface. client-node's KubeConfig supplies
// the server, the TLS material and the credentials (token files are re-read as they
// rotate); the requests themselves are plain HTTPS with JSON bodies, because the objects
// the operator renders are wire-format JSON and client-node's typed serializers would
// rename or drop fields (its NetworkPolicy model calls `from` `_from`).
//
// Every request is counted by verb, resource and HTTP status (onRequest), which is how
// the scale bench measures "API requests per minute when nothing changes".
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { resourceLabel, resourcePath, type ResourceType } from './resources.ts';

/** Object metadata, as much as the operator reads. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any object in the wire format. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectList<T = KubeObject> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** metav1.Status, the body of an error response. */
export interface Status {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** A request the API server answered with an error status (or a network failure: status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: Status | undefined;

  constructor(what: string, status: number, body: Status | undefined, fallback?: string) {
    super(`${what}: ${body?.message ?? fallback ?? `HTTP ${status}`}`);
    this.name = 'ApiError';
    this.status = status;
    this.reason = body?.reason ?? (status === 0 ? 'NetworkError' : `HTTP${status}`);
    this.body = body;
  }
}

export const isNotFound = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiError && error.status === 409;
export const isGone = (error: unknown): boolean => error instanceof ApiError && error.status === 410;

/** Verbs as RBAC and the request metrics name them (apply: a server-side apply PATCH). */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete';
export const WRITE_VERBS: ReadonlySet<Verb> = new Set(['create', 'update', 'patch', 'apply', 'delete']);

export type RequestObserver = (verb: Verb, resource: string, code: string, seconds: number) => void;

export interface Request {
  verb: Verb;
  resource: ResourceType;
  subresource?: string;
  namespace?: string;
  name?: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** Default 30 s; watches pass their own. */
  timeoutMs?: number;
}

const METHODS: Record<Verb, string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', apply: 'PATCH', delete: 'DELETE' };

/** The field manager of every server-side apply (one owner of every field the operator sets). */
export const FIELD_MANAGER = 'dicom-guard';

/** Lists and watches that return only metadata (PartialObjectMetadata): no Secret payloads on the wire. */
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseStatus(text: string): Status | undefined {
  try {
    const parsed = JSON.parse(text) as Status;
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the API server is and how to authenticate to it. A KubeConfig is one; the
 * sidecar, which must not load @kubernetes/client-node, brings its own
 * (sidecar/events/service-account.ts).
 */
export interface ClusterCredentials {
  readonly server: string;
  /** Sets the TLS material and the authorization header; called for every request (tokens rotate). */
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

function credentialsOf(config: KubeConfig | ClusterCredentials): ClusterCredentials {
  if (!('getCurrentCluster' in config)) return config;
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return { server: cluster.server, applyToHTTPSOptions: (options) => config.applyToHTTPSOptions(options) };
}

export class KubeClient {
  readonly server: URL;
  readonly #config: ClusterCredentials;
  readonly #agent: HttpAgent;
  readonly #observe: RequestObserver;
  readonly #userAgent: string;

  private constructor(config: ClusterCredentials, server: URL, agent: HttpAgent, observe: RequestObserver, userAgent: string) {
    this.#config = config;
    this.server = server;
    this.#agent = agent;
    this.#observe = observe;
    this.#userAgent = userAgent;
  }

  static async create(source: KubeConfig | ClusterCredentials, options: { observe?: RequestObserver; userAgent?: string } = {}): Promise<KubeClient> {
    const config = credentialsOf(source);
    const server = new URL(config.server);
    // The TLS material once, into an agent of our own that keeps connections alive (the
    // one KubeConfig makes opens a connection per request).
    const tls: RequestOptions = {};
    await config.applyToHTTPSOptions(tls);
    const agent =
      server.protocol === 'http:'
        ? new HttpAgent({ keepAlive: true })
        : new HttpsAgent({
            keepAlive: true,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            pfx: tls.pfx,
            passphrase: tls.passphrase,
            servername: tls.servername,
            ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
          });
    return new KubeClient(config, server, agent, options.observe ?? (() => {}), options.userAgent ?? 'dicom-guard-operator');
  }

  /** Sends a request and returns the response once its head arrived (any status). */
  async #send(req: Request): Promise<IncomingMessage> {
    // A server URL with a path prefix (a proxy in front of the API server) keeps it.
    const url = new URL(this.server.href);
    url.pathname = `${this.server.pathname.replace(/\/$/, '')}${resourcePath(req.resource, req)}`;
    url.search = '';
    for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    // Credentials per request: a token file is re-read as the kubelet rotates it.
    const auth: RequestOptions = {};
    await this.#config.applyToHTTPSOptions(auth);
    const headers: Record<string, string> = { accept: req.accept ?? 'application/json', 'user-agent': this.#userAgent };
    for (const [name, value] of Object.entries(auth.headers ?? {})) if (typeof value === 'string') headers[name.toLowerCase()] = value;
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    if (body) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const request = send(url, { method: METHODS[req.verb], headers, agent: this.#agent, auth: auth.auth, signal: req.signal }, resolve);
      request.on('error', reject);
      request.end(body);
    });
  }

  #what(req: Request): string {
    const target = req.name ? `${req.namespace ? `${req.namespace}/` : ''}${req.name}` : req.namespace ? `in ${req.namespace}` : '(all namespaces)';
    return `${req.verb} ${resourceLabel(req.resource, req.subresource)} ${target}`;
  }

  /** A request with a JSON answer; an error status becomes an ApiError naming the request. */
  async request<T>(req: Request): Promise<T> {
    const signal = AbortSignal.any([AbortSignal.timeout(req.timeoutMs ?? 30_000), ...(req.signal ? [req.signal] : [])]);
    const label = resourceLabel(req.resource, req.subresource);
    const started = performance.now();
    let response: IncomingMessage;
    let text: string;
    try {
      response = await this.#send({ ...req, signal });
      text = await readBody(response);
    } catch (error) {
      this.#observe(req.verb, label, 'error', (performance.now() - started) / 1000);
      if (req.signal?.aborted) throw req.signal.reason instanceof Error ? req.signal.reason : new Error('aborted');
      throw new ApiError(this.#what(req), 0, undefined, error instanceof Error ? error.message : String(error));
    }
    const status = response.statusCode ?? 0;
    this.#observe(req.verb, label, String(status), (performance.now() - started) / 1000);
    if (status < 200 || status >= 300) throw new ApiError(this.#what(req), status, parseStatus(text), text.slice(0, 500));
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A watch: the response stream of newline-delimited events, once the API server
   * answered 200. The caller reads it to the end (or aborts the signal).
   */
  async watch(req: Omit<Request, 'verb'>): Promise<IncomingMessage> {
    const label = resourceLabel(req.resource, req.subresource);
    const started = performance.now();
    let response: IncomingMessage;
    try {
      response = await this.#send({ ...req, verb: 'watch' });
    } catch (error) {
      this.#observe('watch', label, 'error', (performance.now() - started) / 1000);
      throw new ApiError(this.#what({ ...req, verb: 'watch' }), 0, undefined, error instanceof Error ? error.message : String(error));
    }
    const status = response.statusCode ?? 0;
    this.#observe('watch', label, String(status), (performance.now() - started) / 1000);
    if (status !== 200) {
      const text = await readBody(response).catch(() => '');
      throw new ApiError(this.#what({ ...req, verb: 'watch' }), status, parseStatus(text), text.slice(0, 500));
    }
    return response;
  }

  get<T = KubeObject>(resource: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ verb: 'get', resource, namespace, name, signal });
  }

  /**
   * Server-side apply (PATCH application/apply-patch+yaml; JSON is YAML) under the one
   * field manager, taking over fields another manager changed (force): the operator is
   * the only writer of what it owns.
   */
  apply<T = KubeObject>(resource: ResourceType, object: KubeObject, options: { subresource?: string; signal?: AbortSignal } = {}): Promise<T> {
    const name = object.metadata?.name;
    if (!name) throw new Error(`apply ${resource.plural}: the object has no name`);
    return this.request<T>({
      verb: 'apply',
      resource,
      namespace: object.metadata?.namespace,
      name,
      subresource: options.subresource,
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: object,
      contentType: 'application/apply-patch+yaml',
      signal: options.signal,
    });
  }

  create<T = KubeObject>(resource: ResourceType, namespace: string | undefined, object: KubeObject, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ verb: 'create', resource, namespace, body: object, query: { fieldManager: FIELD_MANAGER }, signal });
  }

  /** PUT: optimistic concurrency on metadata.resourceVersion (409 when someone wrote first). */
  update<T = KubeObject>(resource: ResourceType, object: KubeObject, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ verb: 'update', resource, namespace: object.metadata?.namespace, name: object.metadata?.name, body: object, query: { fieldManager: FIELD_MANAGER }, signal });
  }

  /** Deletes the object with this uid (not a newer one of the same name); absent is fine. */
  async delete(resource: ResourceType, namespace: string | undefined, name: string, uid: string | undefined, signal?: AbortSignal): Promise<void> {
    try {
      await this.request({
        verb: 'delete',
        resource,
        namespace,
        name,
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(uid ? { preconditions: { uid } } : {}) },
        signal,
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  close(): void {
    this.#agent.destroy();
  }
}
