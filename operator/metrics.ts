// Prometheus metrics of the operator, in a registry of its own. The API request counter
// is what the scale bench reads for "API requests per minute when nothing changes", and
// what the end-to-end tests read to prove that a resync writes nothing and that a
// follower never writes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller' | 'reason'>;
  reconcileSeconds: Histogram<'controller'>;
  queueDepth: Gauge<'queue'>;
  watchRestarts: Counter<'resource' | 'reason'>;
  cachedObjects: Gauge<'resource'>;
  leader: Gauge;
  apiRequests: Counter<'verb' | 'resource' | 'code'>;
  apiRequestSeconds: Histogram<'verb'>;
  objectWrites: Counter<'kind' | 'operation'>;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dicomguard_operator_' });
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: 'dicomguard_operator_reconciles_total',
      help: 'Reconciles by controller and result (success: converged; error: retried with backoff; gone: the object no longer exists)',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'dicomguard_operator_reconcile_errors_total',
      help: 'Failed reconciles by controller and reason (the API error reason, or the render reason)',
      labelNames: ['controller', 'reason'],
      registers,
    }),
    reconcileSeconds: new Histogram({
      name: 'dicomguard_operator_reconcile_duration_seconds',
      help: 'Time one reconcile took, by controller',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({ name: 'dicomguard_operator_workqueue_depth', help: 'Keys waiting in the work queue', labelNames: ['queue'], registers }),
    watchRestarts: new Counter({
      name: 'dicomguard_operator_watch_restarts_total',
      help: 'Watches started again, by resource and reason (closed: the server ended it; expired: 410 Gone, relisted; error)',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    cachedObjects: new Gauge({ name: 'dicomguard_operator_cached_objects', help: 'Objects in the informer caches, by resource', labelNames: ['resource'], registers }),
    leader: new Gauge({ name: 'dicomguard_operator_leader', help: '1 while this replica is the leader (runs the controllers), else 0', registers }),
    apiRequests: new Counter({
      name: 'dicomguard_operator_api_requests_total',
      help: 'Requests to the Kubernetes API by verb (apply: server-side apply), resource and HTTP status ("error": no answer)',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    }),
    apiRequestSeconds: new Histogram({
      name: 'dicomguard_operator_api_request_duration_seconds',
      help: 'Time to the response head of Kubernetes API requests, by verb (watch: until the stream opened)',
      labelNames: ['verb'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    objectWrites: new Counter({
      name: 'dicomguard_operator_object_writes_total',
      help: 'Owned objects and statuses written, by kind and operation (apply, delete, status)',
      labelNames: ['kind', 'operation'],
      registers,
    }),
  };
}
