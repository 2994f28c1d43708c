// Leader election end to end: several operator processes on one Lease. Only the leader
// writes (the followers' write counters stay at zero while their caches stay warm); a
// leader stopped with SIGTERM releases the Lease and a follower takes over at once; a
// leader killed outright is replaced once its lease runs out. The control plane starts
// WITHOUT cert-manager: a policy that wants TLS says so in CertificateReady, and the
// Certificate appears when cert-manager's CRDs are installed later, without a restart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRD_FILE } from '../../operator/api/crd.ts';
import { API_VERSION, KIND, type Condition } from '../../operator/api/v1alpha1.ts';
import { DEFAULT_TIMING } from '../../operator/leader/lease.ts';
import { objectNames, SIDECAR_CONFIG_KEY } from '../../operator/render/mounts.ts';
import { certManagerCrds, startControlPlane, type ControlPlane } from '../cluster/control-plane.ts';
import { applyObjects, getJson, kubectl, LEASE_NAME, operatorKubeconfig, OPERATOR_NAMESPACE, startOperatorProcess, type OperatorProcess } from '../harness/operator.ts';
import { waitFor } from '../harness/processes.ts';
import { ROOT } from '../harness/tools.ts';

const NS = 'imaging';
const POLICY = 'tls-pacs';
const names = objectNames(POLICY);

let dir = '';
let kubeconfig = '';
let cp: ControlPlane | undefined;
const operators: Record<string, OperatorProcess> = {};
let startError: unknown;
const started = Date.now();
const timings: string[] = [];

let ready = false;

function plane(): ControlPlane {
  if (!cp || !ready) throw startError instanceof Error ? startError : new Error(`the control plane or the operators did not start: ${String(startError)}`);
  return cp;
}

interface Lease {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number };
}
const lease = () => getJson<Lease>(plane(), ['lease', LEASE_NAME, '-n', OPERATOR_NAMESPACE]);
const holder = async () => (await lease())?.spec.holderIdentity ?? '';

interface Policy {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}
async function policyWhen(what: string, check: (c: (type: string) => Condition | undefined) => boolean, timeoutMs = 30_000): Promise<Policy> {
  return waitFor(
    what,
    async () => {
      const p = await getJson<Policy>(plane(), ['dicomaccesspolicy', POLICY, '-n', NS]);
      const c = (type: string) => p?.status?.conditions?.find((x) => x.type === type);
      return p && p.status?.observedGeneration === p.metadata.generation && check(c) ? p : undefined;
    },
    timeoutMs,
    200,
  );
}

const sidecarYaml = async () => (await getJson<{ data: Record<string, string> }>(plane(), ['configmap', names.configMap, '-n', NS]))?.data[SIDECAR_CONFIG_KEY] ?? '';

async function start(name: string): Promise<OperatorProcess> {
  const t = Date.now();
  const operator = await startOperatorProcess({ kubeconfig, identity: `operator-${name}`, dir, args: ['--resync-period=2s'] });
  timings.push(`operator-${name} ready ${((Date.now() - t) / 1000).toFixed(1)} s`);
  operators[name] = operator;
  return operator;
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dg-leader-'));
  try {
    cp = await startControlPlane({ dir: join(dir, 'cp'), crds: [join(ROOT, CRD_FILE)], log: (line) => console.log(`  [control plane] ${line}`) });
    timings.push(`control plane ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await applyObjects(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    kubeconfig = await operatorKubeconfig(cp, dir);
    const a = await start('a');
    await waitFor('operator-a leads', () => a.isLeader(), 20_000, 200);
    await start('b');
    ready = true;
  } catch (error) {
    startError = error;
    console.error(error);
  }
});

test.after(async () => {
  for (const operator of Object.values(operators)) await operator.stop();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  console.log(`  [timing] ${[...timings, `total ${((Date.now() - started) / 1000).toFixed(1)} s`].join('; ')}`);
});

test('one leader: the Lease names it and only it writes; the follower keeps its caches warm and writes nothing', async () => {
  const { a, b } = operators as Required<typeof operators>;
  assert.is(await holder(), 'operator-a');
  assert.equal([await a!.isLeader(), await b!.isLeader()], [true, false]);
  await applyObjects(plane(), {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: POLICY, namespace: NS },
    spec: {
      selector: { matchLabels: { app: 'orthanc' } },
      calledAETitles: ['PACS'],
      peers: [{ name: 'ct', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24' }] }],
      tls: { mode: 'Required', issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' }, dnsNames: ['pacs.imaging.svc'] },
    },
  });
  // cert-manager is not installed: the policy says so rather than the operator failing.
  await policyWhen('CertificateReady names cert-manager', (c) => c('CertificateReady')?.reason === 'CertManagerNotInstalled');
  const policy = await getJson<Policy>(plane(), ['dicomaccesspolicy', POLICY, '-n', NS]);
  const certificateReady = policy!.status!.conditions!.find((c) => c.type === 'CertificateReady')!;
  assert.equal([certificateReady.status, certificateReady.observedGeneration], ['False', 1]);
  assert.match(certificateReady.message, /cert-manager is not installed: the API server does not serve certificates\.cert-manager\.io\/v1/);
  assert.is(policy!.status!.conditions!.find((c) => c.type === 'Ready')?.reason, 'CertificateNotReady');
  assert.ok(await sidecarYaml(), 'the rest is in place: the ConfigMap');
  assert.ok(await getJson(plane(), ['networkpolicy', names.networkPolicy, '-n', NS]));
  const events = await getJson<{ items: { reason: string; reportingController: string }[] }>(plane(), ['events.events.k8s.io', '-n', NS]);
  assert.ok(events?.items.some((e) => e.reason === 'CertManagerNotInstalled'), 'an Event says why');

  assert.ok((await a!.apiWrites((r) => r !== 'leases')) > 0, 'the leader wrote');
  assert.is(await b!.apiWrites(), 0, 'the follower wrote nothing, not even to the Lease');
  const cached = (await b!.metrics()).find((s) => s.name === 'dicomguard_operator_cached_objects' && s.labels.resource === 'dicomaccesspolicies');
  assert.is(cached?.value, 1, "the follower's cache holds the policy");
  const operatorA = a!.logs().find((l) => l.msg === 'operator stopped');
  assert.is(operatorA, undefined);
});

test('cert-manager installed later: the Certificate appears, without restarting the operator', async () => {
  const t = Date.now();
  await kubectl(plane(), ['apply', '--server-side', '-f', certManagerCrds]);
  await kubectl(plane(), ['wait', '--for=condition=Established', '--timeout=60s', 'crd/certificates.cert-manager.io']);
  await waitFor('the Certificate', () => getJson(plane(), ['certificate', names.certificate, '-n', NS]), 30_000, 250);
  timings.push(`Certificate ${((Date.now() - t) / 1000).toFixed(1)} s after the CRDs`);
  await policyWhen('CertificateReady waits for cert-manager', (c) => c('CertificateReady')?.reason === 'Pending');
  assert.is(await operators.b!.apiWrites(), 0, 'still only the leader writes');
  // The Certificate as the API server stores it (CRD defaults and all) is what the leader
  // wants: resyncs find nothing to write.
  await new Promise((r) => setTimeout(r, 2000));
  const writes = () => operators.a!.apiWrites((r) => r !== 'leases');
  const before = await writes();
  const version = (await getJson<{ metadata: { resourceVersion: string } }>(plane(), ['certificate', names.certificate, '-n', NS]))?.metadata.resourceVersion;
  await new Promise((r) => setTimeout(r, 6000));
  assert.is(await writes(), before, 'no writes over three resyncs');
  assert.is((await getJson<{ metadata: { resourceVersion: string } }>(plane(), ['certificate', names.certificate, '-n', NS]))?.metadata.resourceVersion, version);
});

test('SIGTERM to the leader: it releases the Lease and the follower takes over at once, then applies changes', async () => {
  const { a, b } = operators as Required<typeof operators>;
  const transitions = (await lease())?.spec.leaseTransitions ?? 0;
  const t = Date.now();
  assert.is(await a!.stop('SIGTERM'), 0, 'a clean exit');
  assert.ok(a!.logs().some((l) => l.msg === 'released the lease'));
  await waitFor('operator-b holds the Lease', async () => (await holder()) === 'operator-b', 20_000, 100);
  const handover = (Date.now() - t) / 1000;
  timings.push(`SIGTERM handover ${handover.toFixed(1)} s`);
  assert.ok(handover < DEFAULT_TIMING.leaseDurationSeconds, `handed over in ${handover} s, within the lease duration`);
  await waitFor('operator-b leads', () => b!.isLeader(), 10_000, 100);
  assert.is((await lease())?.spec.leaseTransitions, transitions + 1);
  await kubectl(plane(), ['patch', 'dap', POLICY, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { calledAETitles: ['PACS', 'BY-B'] } })]);
  await waitFor('the change in the ConfigMap', async () => (await sidecarYaml()).includes('BY-B'), 20_000, 200);
  assert.ok((await b!.apiWrites((r) => r !== 'leases')) > 0, 'the new leader writes');
  delete operators.a;
});

test('SIGKILL to the leader: its lease runs out and a follower takes over (not before)', async () => {
  const c = await start('c');
  await new Promise((r) => setTimeout(r, 3000));
  assert.is(await c.isLeader(), false);
  assert.is(await c.apiWrites(), 0);
  const t = Date.now();
  await operators.b!.stop('SIGKILL');
  delete operators.b;
  await waitFor('operator-c holds the Lease', async () => (await holder()) === 'operator-c', 40_000, 200);
  const takeover = (Date.now() - t) / 1000;
  timings.push(`SIGKILL takeover ${takeover.toFixed(1)} s`);
  const { leaseDurationSeconds, retryPeriodSeconds } = DEFAULT_TIMING;
  // The killed leader renewed at most a retry period before it died; the follower waits
  // out the lease from when it saw that renewal, and tries every 2-4.4 s.
  assert.ok(takeover >= leaseDurationSeconds - retryPeriodSeconds - 1, `not before the lease ran out (${takeover} s)`);
  assert.ok(takeover <= leaseDurationSeconds + retryPeriodSeconds * 2.2 + 2, `within the lease duration and a try (${takeover} s)`);
  await kubectl(plane(), ['patch', 'dap', POLICY, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { calledAETitles: ['PACS', 'BY-C'] } })]);
  await waitFor('the change in the ConfigMap', async () => (await sidecarYaml()).includes('BY-C'), 20_000, 200);
});

test.run();
