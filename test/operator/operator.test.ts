// The operator end to end: a real control plane (etcd, kube-apiserver, kube-controller-
// manager), the DicomAccessPolicy CRD and cert-manager's CRDs installed with kubectl, the
// operator as a separate process under a ServiceAccount bound to operator/rbac.ts, and
// assertions on API objects as a user would see them with kubectl. There is no kubelet:
// pods are created and their status (addresses, phase) is written by the test, and there
// is no cert-manager controller: the test sets the Certificate's Ready condition.
// At the end a real sidecar process runs the config the operator rendered, in front of a
// real Orthanc, and DCMTK's verdicts match the policy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { V1Pod } from '@kubernetes/client-node';
import { CRD_FILE } from '../../operator/api/crd.ts';
import type { Wire } from '../../operator/kube/wire.ts';
import { FIXTURE_NAMESPACE, invalidPolicies, validPolicies } from '../../operator/api/fixtures.ts';
import { API_VERSION, KIND, type Condition, type DicomAccessPolicy } from '../../operator/api/v1alpha1.ts';
import { CONFIG_SHA256_ANNOTATION, desiredObjects } from '../../operator/render/desired.ts';
import { objectNames, sidecarVolumes, SIDECAR_CONFIG_KEY } from '../../operator/render/mounts.ts';
import { resolvePeerPods } from '../../operator/render/peers.ts';
import type { SidecarConfigInput } from '../../sidecar/config/schema.ts';
import { certManagerCrds, startControlPlane, type ControlPlane } from '../cluster/control-plane.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { applyObjects, getJson, kubectl, operatorKubeconfig, OPERATOR_NAMESPACE, SERVICE_ACCOUNT, startOperatorProcess, type OperatorProcess } from '../harness/operator.ts';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { freePort } from '../harness/ports.ts';
import { run, waitFor } from '../harness/processes.ts';
import { startSidecar, type SidecarProcess } from '../harness/sidecar.ts';
import { CLI, NODE, ROOT } from '../harness/tools.ts';

const NS = FIXTURE_NAMESPACE;
const RESYNC_SECONDS = 2;
const fixture = validPolicies.find((f) => f.name === 'api-md-example')!.policy;
const names = objectNames(fixture.metadata.name);

let dir = '';
let cp: ControlPlane | undefined;
let operator: OperatorProcess | undefined;
let startError: unknown;
/** Log lines of the operator during the API server restart, when RBAC answers "forbidden" until its caches refill. */
let restartWindow: [number, number] = [0, 0];
const started = Date.now();
const timings: string[] = [];

function plane(): ControlPlane {
  if (!cp || !operator) throw startError instanceof Error ? startError : new Error(`the control plane or the operator did not start: ${String(startError)}`);
  return cp;
}

interface PolicyObject extends DicomAccessPolicy {
  metadata: DicomAccessPolicy['metadata'] & { resourceVersion: string };
}

const getPolicy = (name = fixture.metadata.name) => getJson<PolicyObject>(plane(), ['dicomaccesspolicy', name, '-n', NS]);
const condition = (policy: PolicyObject | undefined, type: string): Condition | undefined => policy?.status?.conditions?.find((c) => c.type === type);

/** Waits until the policy's status answers `check` for its current generation. */
async function policyWhen(what: string, check: (p: PolicyObject) => boolean, name = fixture.metadata.name, timeoutMs = 30_000): Promise<PolicyObject> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      const p = await getPolicy(name);
      return p && p.status?.observedGeneration === p.metadata.generation && check(p) ? p : undefined;
    },
    timeoutMs,
    200,
  );
}

const sidecarYaml = async (name = names.configMap) => (await getJson<{ data: Record<string, string> }>(plane(), ['configmap', name, '-n', NS]))?.data[SIDECAR_CONFIG_KEY];

/** A pod as the webhook will leave it: the sidecar volumes and a native sidecar mounting them. */
function pod(name: string, namespace: string, labels: Record<string, string>, injectedFor?: string): Wire<V1Pod> {
  const injected = injectedFor ? sidecarVolumes(injectedFor) : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      containers: [{ name: 'app', image: 'registry.example.org/app:1' }],
      ...(injected
        ? { initContainers: [{ name: 'dicom-guard', image: 'registry.example.org/dicom-guard:1', restartPolicy: 'Always', volumeMounts: injected.volumeMounts }], volumes: injected.volumes }
        : {}),
    },
  };
}

/** What the kubelet would report: the pod runs at `ip`. */
async function podRuns(name: string, namespace: string, ip: string): Promise<void> {
  await kubectl(plane(), ['patch', 'pod', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } })]);
}

async function events(reason: string, regarding: string): Promise<{ reason: string; note: string; type: string; reportingController: string }[]> {
  const list = await getJson<{ items: { reason: string; note: string; type: string; reportingController: string; regarding: { name: string } }[] }>(plane(), ['events.events.k8s.io', '-n', NS]);
  return (list?.items ?? []).filter((e) => e.reason === reason && e.regarding.name === regarding);
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dg-operator-'));
  try {
    cp = await startControlPlane({ dir: join(dir, 'cp'), crds: [certManagerCrds, join(ROOT, CRD_FILE)], log: (line) => console.log(`  [control plane] ${line}`) });
    timings.push(`control plane ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await applyObjects(
      cp,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'radiology', labels: { team: 'radiology' } } },
    );
    const kubeconfig = await operatorKubeconfig(cp, dir);
    operator = await startOperatorProcess({ kubeconfig, identity: 'operator-0', dir, args: [`--resync-period=${RESYNC_SECONDS}s`] });
  } catch (error) {
    startError = error;
    console.error(error);
  }
});

test.after(async () => {
  const code = await operator?.stop();
  if (operator && code !== 0) console.error(`the operator exited ${code}:\n${operator.process.output().slice(-4000)}`);
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  console.log(`  [timing] ${[...timings, `total ${((Date.now() - started) / 1000).toFixed(1)} s`].join('; ')}`);
});

test('the operator runs as a ServiceAccount with the rules of operator/rbac.ts, and nothing more', async () => {
  const as = `--as=system:serviceaccount:${OPERATOR_NAMESPACE}:${SERVICE_ACCOUNT}`;
  const can = async (...args: string[]) => (await plane().kubectl(['auth', 'can-i', as, ...args])).stdout.trim();
  assert.is(await can('patch', 'dicomaccesspolicies.dicomguard.io', '--subresource=status', '-n', NS), 'yes');
  assert.is(await can('patch', 'dicomaccesspolicies.dicomguard.io', '-n', NS), 'no', 'the spec is the user\'s');
  assert.is(await can('create', 'pods', '-n', NS), 'no');
  assert.is(await can('create', 'certificates.cert-manager.io', '-n', NS), 'yes');
  assert.is(await can('update', 'leases.coordination.k8s.io/dicom-guard-operator', '-n', OPERATOR_NAMESPACE), 'yes');
  assert.is(await can('update', 'leases.coordination.k8s.io/someone-else', '-n', OPERATOR_NAMESPACE), 'no');
  assert.is(await can('get', 'leases.coordination.k8s.io/dicom-guard-operator', '-n', NS), 'no', 'leases in its own namespace only');
  // Its caches synced under these rules (the harness waited for /readyz) and it leads.
  await waitFor('the operator leads', () => operator!.isLeader(), 20_000, 200);
  const lease = await getJson<{ spec: { holderIdentity: string; leaseDurationSeconds: number } }>(plane(), ['lease', 'dicom-guard-operator', '-n', OPERATOR_NAMESPACE]);
  assert.equal([lease?.spec.holderIdentity, lease?.spec.leaseDurationSeconds], ['operator-0', 15]);
});

test('every invalid fixture is refused by the API server, with create and with server-side apply, naming the field', async () => {
  const refusals: string[] = [];
  const check = async (f: (typeof invalidPolicies)[number]) => {
    const input = JSON.stringify(f.policy);
    const created = await plane().kubectl(['create', '-f', '-'], { input });
    assert.is.not(created.code, 0, `${f.name}: kubectl create accepted it`);
    assert.ok(created.stderr.includes(f.field), `${f.name}: create names ${f.field}: ${created.stderr}`);
    assert.match(created.stderr, f.message, `${f.name} (create)`);
    const applied = await plane().kubectl(['apply', '--server-side', '-f', '-'], { input });
    assert.is.not(applied.code, 0, `${f.name}: server-side apply accepted it`);
    assert.match(applied.stderr, f.message, `${f.name} (apply)`);
    // Server-side apply refuses some before validation, naming the path in its own syntax
    // (.spec.peers[name="ct"].ipBlock); the field's first part is there all the same.
    const typedPatch = /failed to create typed patch object/.test(applied.stderr);
    const field = typedPatch ? `.${f.field.split(/[.[]/).slice(0, 2).join('.')}` : f.field;
    assert.ok(applied.stderr.includes(field), `${f.name}: apply names ${field}: ${applied.stderr}`);
    refusals.push(f.name);
  };
  for (let i = 0; i < invalidPolicies.length; i += 8) await Promise.all(invalidPolicies.slice(i, i + 8).map(check));
  assert.is(refusals.length, invalidPolicies.length);
  assert.is((await kubectl(plane(), ['get', 'dicomaccesspolicies', '-n', NS, '-o', 'name'])).trim(), '', 'nothing was stored');
});

test('a policy whose Secrets are missing: not Ready, naming each Secret and key, an Event; NetworkPolicy and Certificate already there', async () => {
  await applyObjects(plane(), fixture);
  const settled = await policyWhen('ConfigRendered False', (p) => condition(p, 'ConfigRendered')?.status === 'False');
  const ready = condition(settled, 'Ready')!;
  assert.equal([ready.status, ready.reason, ready.observedGeneration], ['False', 'ConfigNotRendered', 1]);
  assert.match(ready.message, /Secret imaging\/pacs-users \(spec\.identity\.htpasswdSecretRef\) does not exist/);
  assert.match(condition(settled, 'ConfigRendered')!.message, /Secret imaging\/keycloak-jwks \(spec\.identity\.jwt\.jwksSecretRef\) does not exist/);
  assert.is(condition(settled, 'ConfigRendered')!.reason, 'SecretNotFound');
  const warning = await waitFor('a SecretNotFound Event', async () => (await events('SecretNotFound', fixture.metadata.name))[0], 15_000, 200);
  assert.equal([warning.type, warning.reportingController], ['Warning', 'dicomguard.io/operator']);
  assert.match(warning.note, /Secret imaging\/modality-ca \(spec\.tls\.clientCASecretRef\) does not exist/);
  assert.ok(await getJson(plane(), ['networkpolicy', names.networkPolicy, '-n', NS]), 'the NetworkPolicy protects already');
  assert.ok(await getJson(plane(), ['certificate', names.certificate, '-n', NS]));
  assert.is(await getJson(plane(), ['configmap', names.configMap, '-n', NS]), undefined, 'no config without its material');
  assert.is(await getJson(plane(), ['secret', names.identitySecret, '-n', NS]), undefined);
});

test('the Secrets appear: the ConfigMap and identity Secret follow; every object is what the renderer makes of the stored policy', async () => {
  await kubectl(plane(), ['create', 'secret', 'generic', 'pacs-users', '-n', NS, '--from-literal=htpasswd=alice:$2y$10$abcdefghijklmnopqrstuu5Z0kqXxS1vXyqIWe3Ck8s4pPXnb7H6Wa']);
  await kubectl(plane(), ['create', 'secret', 'generic', 'keycloak-jwks', '-n', NS, '--from-literal=jwks.json={"keys":[]}']);
  await kubectl(plane(), ['create', 'secret', 'generic', 'modality-ca', '-n', NS, '--from-literal=ca.crt=-----BEGIN CERTIFICATE-----']);
  const policy = await policyWhen('ConfigRendered True', (p) => condition(p, 'ConfigRendered')?.status === 'True');
  const secrets: Record<string, Record<string, string>> = {};
  for (const name of ['pacs-users', 'keycloak-jwks', 'modality-ca']) secrets[name] = (await getJson<{ data: Record<string, string> }>(plane(), ['secret', name, '-n', NS]))!.data;
  const expected = desiredObjects({ policy, peerPods: resolvePeerPods(policy, [], []), secrets });

  const networkPolicy = await getJson<{ spec: unknown; metadata: { labels: object; ownerReferences: object[] } }>(plane(), ['networkpolicy', names.networkPolicy, '-n', NS]);
  assert.equal(networkPolicy?.spec, expected.networkPolicy!.spec, 'the NetworkPolicy, `from` and all (raw JSON, no serializer in between)');
  assert.equal(networkPolicy?.metadata.ownerReferences, expected.networkPolicy!.metadata.ownerReferences);
  const ingressFrom = (networkPolicy?.spec as { ingress: { from?: unknown[] }[] }).ingress[0]!.from;
  assert.ok(ingressFrom && ingressFrom.length === 2, 'the DICOM port is open to the peers only');
  const certificate = await getJson<{ spec: unknown }>(plane(), ['certificate', names.certificate, '-n', NS]);
  assert.equal(certificate?.spec, expected.certificate!.spec);
  const configMap = await waitFor('the ConfigMap', () => getJson<{ data: Record<string, string>; metadata: { annotations: Record<string, string> } }>(plane(), ['configmap', names.configMap, '-n', NS]), 15_000, 200);
  assert.equal(configMap.data, expected.configMap!.data);
  assert.is(configMap.metadata.annotations[CONFIG_SHA256_ANNOTATION], expected.configSha256);
  const identity = await waitFor('the identity Secret', () => getJson<{ data: Record<string, string>; type: string }>(plane(), ['secret', names.identitySecret, '-n', NS]), 15_000, 200);
  assert.equal([identity.type, identity.data], ['Opaque', expected.identitySecret!.data]);
});

test('cert-manager reports the Certificate Ready: the policy is Ready, every condition at its generation', async () => {
  const certificate = await getJson<{ metadata: { generation: number } }>(plane(), ['certificate', names.certificate, '-n', NS]);
  const ready = { type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', observedGeneration: certificate!.metadata.generation, lastTransitionTime: '2026-01-01T00:00:00Z' };
  await kubectl(plane(), ['patch', 'certificate', names.certificate, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [ready] } })]);
  const policy = await policyWhen('Ready', (p) => condition(p, 'Ready')?.status === 'True');
  assert.equal(
    policy.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration]).sort(),
    [
      ['CertificateReady', 'True', 'Issued', 1],
      ['ConfigRendered', 'True', 'Rendered', 1],
      ['NetworkPolicyReady', 'True', 'Applied', 1],
      ['Ready', 'True', 'Reconciled', 1],
    ].sort(),
  );
  assert.equal([policy.status?.matchedPods, policy.status?.protectedPods], [0, 0]);
  const printed = await kubectl(plane(), ['get', 'dap', fixture.metadata.name, '-n', NS]);
  assert.match(printed, /api-md-example\s+True\s+0\s+0/, 'kubectl get shows Ready, Matched, Protected');
});

test("cert-manager writes the TLS Secret (the sidecar's private key): the operator makes the policy its owner", async () => {
  // As cert-manager does: the Certificate's secretTemplate labels, its own annotation, no owner.
  const certificate = await getJson<{ spec: { secretName: string; secretTemplate: { labels: Record<string, string> } } }>(plane(), ['certificate', names.certificate, '-n', NS]);
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  await applyObjects(plane(), {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: certificate!.spec.secretName, namespace: NS, labels: certificate!.spec.secretTemplate.labels, annotations: { 'cert-manager.io/certificate-name': names.certificate } },
    data: { 'tls.crt': b64('certificate'), 'tls.key': b64('private key'), 'ca.crt': b64('ca') },
  });
  const policy = await getPolicy();
  const owners = await waitFor(
    'the policy among the TLS Secret owners',
    async () => {
      const secret = await getJson<{ metadata: { ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] } }>(plane(), ['secret', names.tlsSecret, '-n', NS]);
      return secret?.metadata.ownerReferences?.some((r) => r.uid === policy!.metadata.uid) ? secret.metadata.ownerReferences : undefined;
    },
    15_000,
    200,
  );
  assert.equal(
    owners.map((r) => [r.kind, r.name, r.controller]),
    [[KIND, fixture.metadata.name, false]],
    'an owner, not the controller',
  );
});

test('an update of the policy flows into the ConfigMap; the status follows the new generation', async () => {
  await kubectl(plane(), ['patch', 'dap', fixture.metadata.name, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { calledAETitles: ['PACS', 'ARCHIVE'] } })]);
  await waitFor('ARCHIVE in the rendered config', async () => (parse((await sidecarYaml())!) as SidecarConfigInput).calledAETitles.includes('ARCHIVE'), 15_000, 200);
  const policy = await policyWhen('Ready at generation 2', (p) => p.metadata.generation === 2 && condition(p, 'Ready')?.status === 'True');
  assert.is(condition(policy, 'ConfigRendered')?.observedGeneration, 2);
});

test('pods: matchedPods and protectedPods follow them; `from` peers resolve to their addresses in the config', async () => {
  await applyObjects(plane(), pod('orthanc-0', NS, { app: 'orthanc' }));
  let policy = await policyWhen('one matched, unprotected', (p) => p.status?.matchedPods === 1);
  assert.equal([policy.status?.protectedPods, condition(policy, 'Ready')?.reason], [0, 'PodsNotProtected']);
  assert.match(condition(policy, 'Ready')!.message, /0 of 1 matched pods/);

  await applyObjects(plane(), pod('orthanc-1', NS, { app: 'orthanc' }, fixture.metadata.name));
  policy = await policyWhen('two matched, one protected', (p) => p.status?.matchedPods === 2 && p.status.protectedPods === 1);
  assert.match(condition(policy, 'Ready')!.message, /1 of 2 matched pods/);

  // Viewers: pods labelled app=viewer in namespaces labelled team=radiology (api.md).
  await applyObjects(plane(), pod('viewer-0', 'radiology', { app: 'viewer' }), pod('viewer-imaging', NS, { app: 'viewer' }));
  await podRuns('viewer-0', 'radiology', '10.244.1.7');
  await podRuns('viewer-imaging', NS, '10.244.9.9');
  const config = await waitFor(
    'the viewer address in the config',
    async () => {
      const c = parse((await sidecarYaml())!) as SidecarConfigInput;
      return c.peers?.find((p) => p.name === 'viewer-pods') ? c : undefined;
    },
    15_000,
    200,
  );
  assert.equal(config.peers?.find((p) => p.name === 'viewer-pods')?.ipBlocks, [{ cidr: '10.244.1.7/32' }], 'only the pod in a radiology namespace');
  policy = await policyWhen('config without unresolved peers', (p) => !/selects no pod yet/.test(condition(p, 'ConfigRendered')!.message));
  assert.is(policy.status?.protectedPods, 1, 'a new config (a peer address) does not unprotect pods: their sidecars reload it');

  await kubectl(plane(), ['delete', 'pod', 'orthanc-0', '-n', NS, '--wait=false']);
  policy = await policyWhen('Ready with one protected pod', (p) => condition(p, 'Ready')?.status === 'True' && p.status?.matchedPods === 1);
  assert.equal([policy.status?.protectedPods, condition(policy, 'Ready')?.message], [1, 'all 1 matched pods are protected']);

  await kubectl(plane(), ['delete', 'pod', 'viewer-0', '-n', 'radiology', '--wait=false']);
  await waitFor('the viewer address gone', async () => !(parse((await sidecarYaml())!) as SidecarConfigInput).peers?.some((p) => p.name === 'viewer-pods'), 15_000, 200);
});

test('two policies selecting the same pod: the newer reports Conflict naming pod and holder; the older stays Ready', async () => {
  await applyObjects(plane(), { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'second', namespace: NS }, spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'] } });
  const second = await policyWhen('Conflict', (p) => condition(p, 'Ready')?.reason === 'Conflict', 'second');
  assert.match(condition(second, 'Ready')!.message, /orthanc-1 \(api-md-example\)/);
  assert.is(second.status?.protectedPods, 0, 'the pod runs the older policy\'s sidecar config');
  const warning = await waitFor('a Conflict Event', async () => (await events('Conflict', 'second'))[0], 15_000, 200);
  assert.match(warning.note, /orthanc-1 \(api-md-example\)/);
  assert.is(condition(await getPolicy(), 'Ready')?.status, 'True');
  // It stays for the resync test below: a policy without peers (an empty ingress list).
});

test('TLS turned off: the Certificate and its TLS Secret are deleted, the client CA leaves the identity Secret', async () => {
  await kubectl(plane(), ['patch', 'dap', fixture.metadata.name, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { tls: { mode: 'Disabled', clientCertificates: 'None', clientCASecretRef: null } } })]);
  await waitFor('the Certificate deleted', async () => (await getJson(plane(), ['certificate', names.certificate, '-n', NS])) === undefined, 20_000, 200);
  const policy = await policyWhen('CertificateReady Disabled', (p) => condition(p, 'CertificateReady')?.reason === 'Disabled');
  assert.is(condition(policy, 'Ready')?.status, 'True');
  const identity = await waitFor(
    'the identity Secret without client-ca.crt',
    async () => {
      const s = await getJson<{ data: Record<string, string> }>(plane(), ['secret', names.identitySecret, '-n', NS]);
      return s && !('client-ca.crt' in s.data) ? s : undefined;
    },
    15_000,
    200,
  );
  assert.equal(Object.keys(identity.data).sort(), ['htpasswd', 'jwks.json']);
  await waitFor('the TLS Secret deleted', async () => (await getJson(plane(), ['secret', names.tlsSecret, '-n', NS])) === undefined, 15_000, 200);
});

test('nothing changed: resyncs reconcile both policies and write nothing (no API writes, the same resourceVersions)', async () => {
  // Settle: the last writes of the tests above have reached the caches.
  await new Promise((r) => setTimeout(r, RESYNC_SECONDS * 1500));
  const second = objectNames('second');
  const versions = async () =>
    Promise.all([
      getPolicy().then((p) => p?.metadata.resourceVersion),
      getPolicy('second').then((p) => p?.metadata.resourceVersion),
      ...[
        ['networkpolicy', names.networkPolicy],
        ['configmap', names.configMap],
        ['secret', names.identitySecret],
        ['networkpolicy', second.networkPolicy],
        ['configmap', second.configMap],
      ].map(([kind, name]) =>
        getJson<{ metadata: { resourceVersion: string } }>(plane(), [kind!, name!, '-n', NS]).then((o) => o?.metadata.resourceVersion),
      ),
    ]);
  const reconciles = async () => (await operator!.metrics()).filter((s) => s.name === 'dicomguard_operator_reconciles_total' && s.labels.result === 'success').reduce((n, s) => n + s.value, 0);
  const notLease = (resource: string) => resource !== 'leases';
  const before = { versions: await versions(), writes: await operator!.apiWrites(notLease), reconciles: await reconciles() };
  const idleSeconds = RESYNC_SECONDS * 4;
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const after = { versions: await versions(), writes: await operator!.apiWrites(notLease), reconciles: await reconciles() };
  assert.ok(after.reconciles - before.reconciles >= 6, `resyncs ran (${after.reconciles - before.reconciles} reconciles in ${idleSeconds} s)`);
  assert.is(after.writes, before.writes, 'no API writes');
  assert.equal(after.versions, before.versions, 'no object changed');
  assert.ok(before.versions.every((v) => v !== undefined));
  // Reads when idle: the lease only (the caches watch; nothing is listed or fetched again).
  const reads = (await operator!.metrics()).filter((s) => s.name === 'dicomguard_operator_api_requests_total' && s.labels.verb === 'get' && s.labels.resource !== 'leases');
  const readsBefore = reads.reduce((n, s) => n + s.value, 0);
  await new Promise((r) => setTimeout(r, RESYNC_SECONDS * 2000));
  const readsAfter = (await operator!.metrics()).filter((s) => s.name === 'dicomguard_operator_api_requests_total' && s.labels.verb === 'get' && s.labels.resource !== 'leases').reduce((n, s) => n + s.value, 0);
  assert.is(readsAfter, readsBefore, 'no GETs at resync (referenced Secrets are fetched only when their version changes)');
});

test('kube-apiserver restarts: the operator reconnects its watches and applies a change made after the restart', async () => {
  const restartsBefore = (await operator!.metrics()).filter((s) => s.name === 'dicomguard_operator_watch_restarts_total').reduce((n, s) => n + s.value, 0);
  const t = Date.now();
  restartWindow = [operator!.logs().length, Infinity];
  await plane().restartApiServer();
  timings.push(`kube-apiserver restart ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await kubectl(plane(), ['patch', 'dap', fixture.metadata.name, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { calledAETitles: ['PACS', 'ARCHIVE', 'AFTER'] } })]);
  const converged = Date.now();
  await waitFor('AFTER in the rendered config', async () => (parse((await sidecarYaml())!) as SidecarConfigInput).calledAETitles.includes('AFTER'), 90_000, 250);
  timings.push(`converged ${((Date.now() - converged) / 1000).toFixed(1)} s after the change`);
  restartWindow = [restartWindow[0], operator!.logs().length];
  const policy = await policyWhen('Ready at the new generation', (p) => condition(p, 'Ready')?.status === 'True', fixture.metadata.name, 60_000);
  assert.is(condition(policy, 'ConfigRendered')?.observedGeneration, policy.metadata.generation);
  const restartsAfter = (await operator!.metrics()).filter((s) => s.name === 'dicomguard_operator_watch_restarts_total').reduce((n, s) => n + s.value, 0);
  assert.ok(restartsAfter > restartsBefore, 'the watches were restarted');
  await waitFor('still the leader', () => operator!.isLeader(), 30_000, 250);
});

test('a real sidecar runs the config the operator rendered: DCMTK verdicts match the policy', async () => {
  const name = 'echo-pacs';
  await applyObjects(
    plane(),
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'echo-pacs' } },
        calledAETitles: ['PACS'],
        peers: [{ name: 'local-viewers', aeTitles: ['VIEWER'], from: [{ podSelector: { matchLabels: { app: 'local-viewer' } } }], services: ['verification'] }],
      },
    },
    pod('local-viewer', NS, { app: 'local-viewer' }),
  );
  // The viewer "runs" on this host: its address is loopback, where echoscu connects from.
  await podRuns('local-viewer', NS, '127.0.0.1');
  const text = await waitFor('a config admitting 127.0.0.1', async () => ((await sidecarYaml(objectNames(name).configMap)) ?? '').includes('127.0.0.1/32') && sidecarYaml(objectNames(name).configMap), 20_000, 200);
  const rendered = parse(text!) as SidecarConfigInput;
  assert.equal(rendered.peers, [{ name: 'local-viewers', aeTitles: ['VIEWER'], ipBlocks: [{ cidr: '127.0.0.1/32' }], services: ['verification'] }]);
  // The sidecar's own loader accepts the file exactly as rendered.
  const file = join(dir, 'rendered-sidecar.yaml');
  await writeFile(file, text!);
  const checked = await run(NODE, [CLI, 'check-config', file]);
  assert.is(checked.code, 0, checked.output);

  let orthanc: Orthanc | undefined;
  let sidecar: SidecarProcess | undefined;
  try {
    orthanc = await startOrthanc({ aeTitle: 'PACS' });
    // Only what cannot exist on this host changes: the ports (and loopback instead of ::).
    sidecar = await startSidecar({
      ...rendered,
      listen: { host: '127.0.0.1', port: await freePort() },
      upstream: { ...rendered.upstream, port: orthanc.dicomPort },
      admin: { host: '127.0.0.1', port: await freePort() },
    });
    const allowed = await dcmtk('echoscu', ['-aet', 'VIEWER', '-aec', 'PACS'], sidecar.port);
    assert.is(allowed.code, 0, allowed.output);
    const unknown = await dcmtk('echoscu', ['-aet', 'INTRUDER', '-aec', 'PACS'], sidecar.port);
    assert.is.not(unknown.code, 0);
    assert.match(unknown.output, /Calling AE Title Not Recognized/);
    const wrongCalled = await dcmtk('echoscu', ['-aet', 'VIEWER', '-aec', 'NOTPACS'], sidecar.port);
    assert.match(wrongCalled.output, /Called AE Title Not Recognized/);
  } finally {
    await sidecar?.stop();
    await orthanc?.stop();
  }
});

test('deleting the policies: the garbage collector removes everything they owned', async () => {
  const owned = [
    ['networkpolicy', names.networkPolicy],
    ['configmap', names.configMap],
    ['secret', names.identitySecret],
    ['configmap', objectNames('echo-pacs').configMap],
    ['networkpolicy', objectNames('echo-pacs').networkPolicy],
    ['configmap', objectNames('second').configMap],
  ];
  for (const [kind, name] of owned) assert.ok(await getJson(plane(), [kind!, name!, '-n', NS]), `${kind} ${name} before`);
  await kubectl(plane(), ['delete', 'dap', fixture.metadata.name, 'echo-pacs', 'second', '-n', NS, '--wait=false']);
  await waitFor(
    'every owned object collected',
    async () => {
      for (const [kind, name] of owned) if (await getJson(plane(), [kind!, name!, '-n', NS])) return false;
      return true;
    },
    60_000,
    500,
  );
  // The referenced Secrets are the user's: they stay.
  assert.ok(await getJson(plane(), ['secret', 'pacs-users', '-n', NS]));
  // A restarted kube-apiserver answers "forbidden" for a moment while its RBAC caches
  // fill; outside that window RBAC must never refuse the operator anything.
  const refused = operator!.logs().filter((line, i) => (i < restartWindow[0] || i >= restartWindow[1]) && /forbidden/i.test(JSON.stringify(line)));
  assert.equal(refused, [], 'RBAC never refused the operator');
});

test.run();
