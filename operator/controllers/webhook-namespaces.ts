// Keeps the injecting webhook's namespaceSelector to the namespaces that hold a
// DicomAccessPolicy, so the API server sends the webhook only pods that a policy could
// select; pods of every other namespace never wait on it (and are not refused when it
// is down with failurePolicy Fail). Leader only; writes only when the list changed.
import type { Logger } from '../../sidecar/log.ts';
import type { LabelSelector } from '../api/v1alpha1.ts';
import { isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';
import { RESOURCES } from '../kube/resources.ts';
import type { Caches } from './caches.ts';

/** The label every namespace carries with its own name (Kubernetes 1.22+). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Stands for "no namespace": a namespace name cannot contain a dot, and `In` needs a value. */
export const NO_NAMESPACE = 'dicom-guard.none';

type Expression = NonNullable<LabelSelector['matchExpressions']>[number];

/**
 * The webhook's namespaceSelector for these policy namespaces: the `In` expression on the
 * namespace name is replaced; every other expression (the chart's exclusions) is kept.
 */
export function webhookNamespaceSelector(policyNamespaces: Iterable<string>, current: LabelSelector | undefined): LabelSelector {
  const names = [...new Set(policyNamespaces)].sort();
  const others = (current?.matchExpressions ?? []).filter((e) => !(e.key === NAMESPACE_NAME_LABEL && e.operator === 'In'));
  const selected: Expression = { key: NAMESPACE_NAME_LABEL, operator: 'In', values: names.length ? names : [NO_NAMESPACE] };
  return { ...(current?.matchLabels ? { matchLabels: current.matchLabels } : {}), matchExpressions: [selected, ...others] };
}

const sameSelector = (a: LabelSelector | undefined, b: LabelSelector) => JSON.stringify(a ?? {}) === JSON.stringify(b);

interface WebhookEntry {
  name: string;
  namespaceSelector?: LabelSelector;
}

export interface WebhookNamespacesOptions {
  client: KubeClient;
  caches: Pick<Caches, 'policies'>;
  logger: Logger;
  configuration: string;
  webhook: string;
  /** Looked at again this often even without policy changes (someone edited the configuration). */
  resyncMs?: number;
}

export class WebhookNamespacesController {
  readonly #o: WebhookNamespacesOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #pending = false;

  constructor(options: WebhookNamespacesOptions) {
    this.#o = options;
  }

  /** Follow the policy cache until `leading` aborts. */
  run(leading: AbortSignal): void {
    const { caches, resyncMs = 30_000 } = this.#o;
    const kick = () => this.#schedule(leading);
    caches.policies.on({ add: kick, delete: kick });
    const interval = setInterval(kick, resyncMs);
    leading.addEventListener('abort', () => clearInterval(interval), { once: true });
    void caches.policies.waitForSync().then(kick);
  }

  /** Resolves when a sync under way has finished. */
  settled(): Promise<void> {
    return this.#running;
  }

  #schedule(leading: AbortSignal): void {
    if (leading.aborted || this.#pending) return;
    this.#pending = true;
    clearTimeout(this.#timer);
    // Coalesce a burst of policy events (a GitOps sync) into one look.
    this.#timer = setTimeout(() => {
      this.#pending = false;
      this.#running = this.#running.then(async () => void (await this.sync(leading))).catch((error: unknown) => {
        this.#o.logger.error({ err: error instanceof Error ? error.message : String(error), configuration: this.#o.configuration }, 'could not update the webhook namespaceSelector; retrying');
        setTimeout(() => this.#schedule(leading), 5000).unref();
      });
    }, 200);
  }

  /** One look: read the configuration, apply the selector if it differs. Returns whether it wrote. */
  async sync(leading: AbortSignal): Promise<boolean> {
    const { client, caches, configuration, webhook, logger } = this.#o;
    if (leading.aborted) return false;
    let live: KubeObject & { webhooks?: WebhookEntry[] };
    try {
      live = await client.get(RESOURCES.mutatingWebhookConfigurations, undefined, configuration, leading);
    } catch (error) {
      if (isNotFound(error)) {
        logger.warn({ configuration }, `MutatingWebhookConfiguration ${configuration} not found: sidecars are not injected until it exists`);
        return false;
      }
      throw error;
    }
    const entry = live.webhooks?.find((w) => w.name === webhook);
    if (!entry) {
      logger.warn({ configuration, webhook }, `webhook ${webhook} is not in MutatingWebhookConfiguration ${configuration}`);
      return false;
    }
    const namespaces = caches.policies.list().map((p) => p.metadata.namespace);
    const desired = webhookNamespaceSelector(namespaces, entry.namespaceSelector);
    if (sameSelector(entry.namespaceSelector, desired)) return false;
    if (leading.aborted) return false;
    await client.apply(
      RESOURCES.mutatingWebhookConfigurations,
      { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: configuration }, webhooks: [{ name: webhook, namespaceSelector: desired }] } as KubeObject,
      { signal: leading },
    );
    logger.info({ configuration, namespaces: desired.matchExpressions?.[0]?.values }, 'webhook namespaceSelector updated');
    return true;
  }
}
