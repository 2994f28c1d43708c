// The world of the operator scale bench: namespaces, DicomAccessPolicies, the PACS pods
// they select (as the injecting webhook leaves them) and the identity Secrets some of them
// reference, as a pure function of a few numbers; and its creation against a real API
// server with many requests in flight (there is no kubelet: the bench reports each pod
// Running at its address through the status subresource, as the kubelet would).
//
// Policy g of P lives in namespace g % N as `pacs-j` (j = floor(g / N)) and selects its
// own pods `pacs-j-0` .. `pacs-j-4` (label app=pacs-j). Every policy admits a modality
// subnet by ipBlocks. Some also admit, by `from`:
//   - every `fromEvery`-th: the pods of the next policy in the namespace (podSelector);
//   - every `namespacePeerEvery`-th (offset 1): the first pod of every policy in the
//     namespaces labelled team=radiology (namespaceSelector and podSelector), so a pod
//     there is a peer of many policies across namespaces;
// every `tlsEvery`-th (offset 2) has tls.mode Required (a cert-manager Certificate); every
// `identityEvery`-th (offset 3) identity.mode Required with an htpasswd Secret of its own.
// The expected peer addresses of each policy are computed here too, so that the bench can
// check the rendered ConfigMaps, not only the status.
import type { V1Pod } from '@kubernetes/client-node';
import type { Wire } from '../operator/kube/wire.ts';
import { asStored } from '../operator/api/defaults.ts';
import { API_VERSION, KIND, type DicomAccessPolicySpecInput } from '../operator/api/v1alpha1.ts';
import { ApiError, type KubeClient, type KubeObject } from '../operator/kube/client.ts';
import { RESOURCES, type ResourceType } from '../operator/kube/resources.ts';
import { sidecarVolumes } from '../operator/render/mounts.ts';
import { DEFAULT_INJECTION_SETTINGS, INJECTED_BY_ANNOTATION, SIDECAR_LABEL, sidecarContainer } from '../operator/webhook/inject.ts';

/** Labels every object of the bench carries. */
export const BENCH_LABEL = 'dicomguard.io/bench';
export const BENCH_VALUE = 'scale';
/** The field manager of the bench's own writes (not the operator's "dicom-guard"). */
export const BENCH_FIELD_MANAGER = 'dicom-guard-bench';

export interface WorldSettings {
  namespaces: number;
  policies: number;
  podsPerPolicy: number;
  fromEvery: number;
  namespacePeerEvery: number;
  tlsEvery: number;
  identityEvery: number;
  /** One namespace in this many is labelled team=radiology. */
  radiologyEvery: number;
}

export const DEFAULT_WORLD: WorldSettings = {
  namespaces: 50,
  policies: 1000,
  podsPerPolicy: 5,
  fromEvery: 2,
  namespacePeerEvery: 10,
  tlsEvery: 5,
  identityEvery: 4,
  radiologyEvery: 5,
};

export interface PlannedPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly tls: boolean;
  readonly identity: boolean;
  readonly manifest: KubeObject;
  /** Peer name -> the ipBlocks the sidecar config must hold (CIDRs, sorted as the renderer sorts them). */
  readonly expectedPeers: Readonly<Record<string, readonly string[]>>;
}

export interface PlannedPod {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly manifest: KubeObject;
}

export interface World {
  readonly settings: WorldSettings;
  readonly namespaces: readonly KubeObject[];
  readonly secrets: readonly KubeObject[];
  readonly policies: readonly PlannedPolicy[];
  readonly pods: readonly PlannedPod[];
}

const MODALITY_SUBNET = '10.20.0.0/16';
const benchLabels = { [BENCH_LABEL]: BENCH_VALUE };

export const namespaceName = (k: number) => `dg-bench-${k}`;

/** Pod q's address: 10.100.0.0/14 has room for 262,144 pods. */
function podIp(q: number): string {
  return `10.${100 + Math.floor(q / 65536)}.${Math.floor(q / 256) % 256}.${q % 256}`;
}

/** The renderer's order: numeric (these are all IPv4 /32). */
function sortedCidrs(ips: readonly string[]): string[] {
  const key = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  return [...new Set(ips)].sort((a, b) => key(a) - key(b)).map((ip) => `${ip}/32`);
}

export function planWorld(settings: WorldSettings = DEFAULT_WORLD): World {
  const { namespaces: N, policies: P, podsPerPolicy } = settings;
  if (!(N >= 1 && P >= N && podsPerPolicy >= 1)) throw new Error(`a world needs at least one namespace, a policy per namespace and a pod per policy (got ${N}, ${P}, ${podsPerPolicy})`);
  const radiology = (k: number) => k % settings.radiologyEvery === 0;
  const namespaces = Array.from({ length: N }, (_, k) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespaceName(k), labels: { ...benchLabels, team: radiology(k) ? 'radiology' : 'other' } },
  }));
  const perNamespace = (k: number) => Math.floor(P / N) + (k < P % N ? 1 : 0);

  // Pods first: the expected peers of a policy are addresses of other policies' pods.
  const pods: PlannedPod[] = [];
  const podsOf = new Map<string, PlannedPod[]>();
  const modalityIps: string[] = [];
  const specs: { namespace: string; name: string; g: number; spec: DicomAccessPolicySpecInput }[] = [];
  for (let g = 0; g < P; g++) {
    const k = g % N;
    const j = Math.floor(g / N);
    const namespace = namespaceName(k);
    const name = `pacs-${j}`;
    const tls = g % settings.tlsEvery === 2 % settings.tlsEvery;
    const identity = g % settings.identityEvery === 3 % settings.identityEvery;
    const peers: NonNullable<DicomAccessPolicySpecInput['peers']> = [{ name: 'modalities', aeTitles: ['CT01', 'MR01', 'US01'], ipBlocks: [{ cidr: MODALITY_SUBNET }] }];
    if (g % settings.fromEvery === 0 && perNamespace(k) > 1) {
      peers.push({ name: 'neighbours', aeTitles: ['*'], from: [{ podSelector: { matchLabels: { app: `pacs-${(j + 1) % perNamespace(k)}` } } }], services: ['verification', 'query', 'retrieve'] });
    }
    if (g % settings.namespacePeerEvery === 1 % settings.namespacePeerEvery) {
      peers.push({ name: 'radiology-modalities', aeTitles: ['*'], from: [{ namespaceSelector: { matchLabels: { team: 'radiology' } }, podSelector: { matchLabels: { role: 'modality' } } }], services: ['storage'] });
    }
    const spec: DicomAccessPolicySpecInput = {
      selector: { matchLabels: { app: name } },
      calledAETitles: ['PACS'],
      peers,
      ...(identity ? { identity: { mode: 'Required', htpasswdSecretRef: { name: `${name}-users`, key: 'htpasswd' } } } : {}),
      ...(tls ? { tls: { mode: 'Required', issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' }, dnsNames: [`${name}.${namespace}.svc`] } } : {}),
    };
    specs.push({ namespace, name, g, spec });
    // The policy as the API server will hold it (defaults filled in): what the webhook injects from.
    const stored = asStored({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec }, { uid: '', creationTimestamp: '' });
    const own: PlannedPod[] = [];
    for (let m = 0; m < podsPerPolicy; m++) {
      const q = g * podsPerPolicy + m;
      const podName = `${name}-${m}`;
      const { volumes } = sidecarVolumes(name);
      const pod: Wire<V1Pod> = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          namespace,
          labels: { ...benchLabels, app: name, ...(m === 0 ? { role: 'modality' } : {}), [SIDECAR_LABEL]: 'injected' },
          annotations: { [INJECTED_BY_ANNOTATION]: name },
        },
        // As the webhook leaves a PACS pod: the native sidecar first, its three volumes.
        spec: {
          initContainers: [sidecarContainer(stored, DEFAULT_INJECTION_SETTINGS)],
          containers: [{ name: 'pacs', image: 'registry.example.org/orthanc:1.12', ports: [{ name: 'dicom-upstream', containerPort: 4242 }] }],
          volumes,
        },
      };
      own.push({ namespace, name: podName, ip: podIp(q), manifest: pod as KubeObject });
      if (m === 0 && radiology(k)) modalityIps.push(podIp(q));
    }
    podsOf.set(`${namespace}/${name}`, own);
    pods.push(...own);
  }

  const secrets: KubeObject[] = [];
  const policies: PlannedPolicy[] = specs.map(({ namespace, name, spec }) => {
    const expectedPeers: Record<string, string[]> = {};
    for (const peer of spec.peers ?? []) {
      const blocks = peer.ipBlocks?.map((b) => b.cidr) ?? [];
      if (peer.name === 'neighbours') {
        const app = peer.from![0]!.podSelector!.matchLabels!.app!;
        blocks.push(...sortedCidrs(podsOf.get(`${namespace}/${app}`)!.map((p) => p.ip)));
      }
      if (peer.name === 'radiology-modalities') blocks.push(...sortedCidrs(modalityIps));
      expectedPeers[peer.name] = blocks;
    }
    const identity = spec.identity?.htpasswdSecretRef !== undefined;
    if (identity) {
      secrets.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: spec.identity!.htpasswdSecretRef!.name, namespace, labels: benchLabels },
        type: 'Opaque',
        // The shape of an htpasswd line; the hash is a placeholder: the operator copies the
        // value into the identity Secret, and no sidecar verifies with it here.
        stringData: { htpasswd: `radiologist-${name}:$2y$05$${'x'.repeat(53)}\n` },
      });
    }
    return {
      namespace,
      name,
      tls: spec.tls?.mode === 'Required',
      identity,
      manifest: { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace, labels: benchLabels }, spec },
      expectedPeers,
    };
  });
  return { settings, namespaces, secrets, policies, pods };
}

// ---------------------------------------------------------------------------------------
// Creating it

/** Runs `work` on every item with at most `concurrency` in flight; the first failure stops it. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Too many requests, an API server busy or restarting, a dropped connection: worth another try. */
const retriable = (error: unknown) => error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);

async function withRetries<T>(what: string, attempt: () => Promise<T>, tries = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= tries || !retriable(error)) throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** i));
    }
  }
}

/** POST, tolerating an object that already exists (a retried create that had gone through). */
export function createObject(client: KubeClient, resource: ResourceType, object: KubeObject): Promise<void> {
  const namespace = object.metadata?.namespace;
  return withRetries(`create ${resource.plural} ${namespace ?? ''}/${object.metadata?.name}`, async () => {
    try {
      await client.request({ verb: 'create', resource, namespace, body: object, query: { fieldManager: BENCH_FIELD_MANAGER }, timeoutMs: 60_000 });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  });
}

/** A merge patch of the status subresource, as the kubelet (pods) or cert-manager (Certificates) writes it. */
export function patchStatus(client: KubeClient, resource: ResourceType, namespace: string, name: string, status: object): Promise<void> {
  return withRetries(`patch ${resource.plural}/status ${namespace}/${name}`, async () => {
    await client.request({
      verb: 'patch',
      resource,
      subresource: 'status',
      namespace,
      name,
      body: { status },
      contentType: 'application/merge-patch+json',
      query: { fieldManager: BENCH_FIELD_MANAGER },
      timeoutMs: 60_000,
    });
  });
}

/** What the kubelet would report for a pod that started: Running at its address. */
export const podRunning = (ip: string) => ({ phase: 'Running', podIP: ip, podIPs: [{ ip }] });

export interface CreationTimes {
  /** Seconds from the first request to the last answer of each step, and in all. */
  namespacesSeconds: number;
  secretsSeconds: number;
  policiesSeconds: number;
  /** Creating the pods and reporting each Running (two requests a pod). */
  podsSeconds: number;
  totalSeconds: number;
  requests: number;
  requestsPerSecond: number;
}

/**
 * Creates the world: namespaces (and waits for their default ServiceAccount, without
 * which pods are refused), the referenced Secrets, the policies, then the pods, each
 * reported Running right after it is created.
 */
export async function createWorld(client: KubeClient, world: World, options: { concurrency: number; log: (line: string) => void }): Promise<CreationTimes> {
  const { concurrency, log } = options;
  const started = performance.now();
  let requests = 0;
  const counted = <T>(work: (item: T) => Promise<void>, perItem = 1) => async (item: T) => {
    await work(item);
    requests += perItem;
  };
  const step = async (what: string, run: () => Promise<void>) => {
    const t = performance.now();
    await run();
    const seconds = (performance.now() - t) / 1000;
    log(`  ${what}: ${seconds.toFixed(1)} s`);
    return seconds;
  };

  const namespacesSeconds = await step(`${world.namespaces.length} namespaces (and their default ServiceAccounts)`, async () => {
    await forEachConcurrently(world.namespaces, concurrency, counted((ns) => createObject(client, RESOURCES.namespaces, ns)));
    await forEachConcurrently(world.namespaces, concurrency, async (ns) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await client.request({ verb: 'get', resource: SERVICE_ACCOUNTS, namespace: ns.metadata!.name, name: 'default' });
          return;
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 404) || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });
  });
  const secretsSeconds = await step(`${world.secrets.length} identity Secrets`, () =>
    forEachConcurrently(world.secrets, concurrency, counted((s) => createObject(client, RESOURCES.secrets, s))),
  );
  const policiesSeconds = await step(`${world.policies.length} DicomAccessPolicies`, () =>
    forEachConcurrently(world.policies, concurrency, counted((p) => createObject(client, RESOURCES.policies, p.manifest))),
  );
  const podsSeconds = await step(`${world.pods.length} pods, each then reported Running with its address`, () =>
    forEachConcurrently(
      world.pods,
      concurrency,
      counted(async (pod) => {
        await createObject(client, RESOURCES.pods, pod.manifest);
        await patchStatus(client, RESOURCES.pods, pod.namespace, pod.name, podRunning(pod.ip));
      }, 2),
    ),
  );
  const totalSeconds = (performance.now() - started) / 1000;
  return { namespacesSeconds, secretsSeconds, policiesSeconds, podsSeconds, totalSeconds, requests, requestsPerSecond: requests / totalSeconds };
}

const SERVICE_ACCOUNTS: ResourceType = { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true };
