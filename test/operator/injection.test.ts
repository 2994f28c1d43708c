// The chart installed with Helm on a real control plane, the operator run as the chart's
// ServiceAccount with the chart's arguments, and pods created through the API server's
// real mutating admission: what gets injected, what does not, and what happens when
// the webhook is down.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { startControlPlane, certManagerCrds, type ControlPlane } from '../cluster/control-plane.ts';
import { FULLNAME, helmBinary, hostOperatorArgs, installDicomGuard, RELEASE, RELEASE_NAMESPACE, type Installation } from '../cluster/install.ts';
import { applyObjects, getJson, kubectl, startOperatorProcess, type OperatorProcess } from '../harness/operator.ts';
import { run, waitFor } from '../harness/processes.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { freePort } from '../harness/ports.ts';
import { startSidecar } from '../harness/sidecar.ts';
import { ROOT } from '../harness/tools.ts';
import { SIDECAR_CONTAINER, INJECTED_BY_ANNOTATION } from '../../operator/webhook/inject.ts';
import { SERVICE_ACCOUNT_DIR } from '../../sidecar/events/service-account.ts';

interface Context {
  dir: string;
  cp: ControlPlane;
  installation: Installation;
  operator: OperatorProcess;
}

const test = suite<Context>('sidecar injection');

const policy = {
  apiVersion: 'dicomguard.io/v1alpha1',
  kind: 'DicomAccessPolicy',
  metadata: { name: 'main-pacs', namespace: 'imaging' },
  spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'], peers: [{ name: 'ct', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.20.0.0/24' }] }] },
};

const pod = (name: string, namespace: string, labels: Record<string, string>, extra: Partial<V1Pod['spec']> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'pacs', image: 'docker.io/orthancteam/orthanc:24.12.1' }], ...extra },
});

async function startOperator(context: Context, identity: string): Promise<OperatorProcess> {
  return startOperatorProcess({ kubeconfig: context.installation.operatorKubeconfig, identity, dir: context.dir, argsFor: (ports) => hostOperatorArgs(context.installation, ports, identity) });
}

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-inject-'));
  context.cp = await startControlPlane({ dir: join(context.dir, 'cp'), crds: [certManagerCrds] });
  context.installation = await installDicomGuard(context.cp, context.dir);
  context.operator = await startOperator(context, 'operator-a');
  await kubectl(context.cp, ['create', 'namespace', 'imaging']);
  await kubectl(context.cp, ['create', 'namespace', 'elsewhere']);
});

test.after(async (context) => {
  await context.operator?.stop();
  await context.cp?.stop();
  await rm(context.dir, { recursive: true, force: true });
});

type Webhooks = { webhooks: { name: string; namespaceSelector: { matchExpressions: { operator: string; values: string[] }[] } }[] };

test('helm install with real RBAC: the chart objects exist; the CRD is served', async ({ cp }) => {
  const crd = await getJson<{ status: { conditions: { type: string; status: string }[] } }>(cp, ['crd', 'dicomaccesspolicies.dicomguard.io']);
  assert.ok(crd?.status.conditions.some((c) => c.type === 'Established' && c.status === 'True'));
  for (const [kind, name, namespace] of [['serviceaccount', FULLNAME, RELEASE_NAMESPACE], ['clusterrole', FULLNAME], ['deployment', FULLNAME, RELEASE_NAMESPACE], ['mutatingwebhookconfiguration', FULLNAME], ['poddisruptionbudget', FULLNAME, RELEASE_NAMESPACE]] as const) {
    assert.ok(await getJson(cp, namespace ? [kind, name, '-n', namespace] : [kind, name]), `${kind} ${name}`);
  }
});

test('helm template | kubectl apply --dry-run=server is clean, as installed and with the defaults', async ({ cp, installation }) => {
  for (const [release, namespace, values] of [
    [RELEASE, RELEASE_NAMESPACE, installation.values],
    ['gitops', 'gitops-system', []],
  ] as const) {
    await cp.kubectl(['create', 'namespace', namespace]);
    const rendered = await run(helmBinary(), ['template', release, join(ROOT, 'charts', 'dicom-guard'), '--namespace', namespace, ...values.flatMap((v) => ['--set', v])]);
    assert.is(rendered.code, 0, rendered.stderr);
    const applied = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'], { input: rendered.stdout });
    assert.is(applied.code, 0, `${release}: ${applied.stderr}`);
  }
});

test('a policy in a namespace puts that namespace, and only it, in the webhook selector', async ({ cp }) => {
  await applyObjects(cp, policy);
  await waitFor('imaging in the webhook namespaceSelector', async () => {
    const config = await getJson<Webhooks>(cp, ['mutatingwebhookconfiguration', FULLNAME]);
    const selected = config?.webhooks[0]?.namespaceSelector.matchExpressions.find((e) => e.operator === 'In')?.values;
    return JSON.stringify(selected) === JSON.stringify(['imaging']);
  }, 30_000, 200);
});

test('a selected pod gets exactly one native sidecar with the right mounts', async ({ cp }) => {
  await applyObjects(cp, pod('orthanc-0', 'imaging', { app: 'orthanc' }));
  const created = (await getJson<V1Pod>(cp, ['pod', 'orthanc-0', '-n', 'imaging']))!;
  const sidecars = (created.spec!.initContainers ?? []).filter((c) => c.name === SIDECAR_CONTAINER);
  assert.is(sidecars.length, 1);
  const sidecar = sidecars[0]!;
  assert.is(sidecar.restartPolicy, 'Always');
  assert.is(sidecar.image, 'ghcr.io/dicom-guard/dicom-guard:0.1.0');
  assert.equal(sidecar.args, ['sidecar', '--config', '/etc/dicom-guard/config/sidecar.yaml']);
  // (The API server's ServiceAccount admission adds its token mount to every container.)
  const ours = sidecar.volumeMounts!.filter((m) => m.mountPath.startsWith('/etc/dicom-guard/'));
  assert.equal(ours.map((m) => [m.mountPath, m.readOnly]).sort(), [['/etc/dicom-guard/config', true], ['/etc/dicom-guard/identity', true], ['/etc/dicom-guard/tls', true]]);
  const volumes = Object.fromEntries(created.spec!.volumes!.map((v) => [v.name, v.configMap?.name ?? v.secret?.secretName]));
  assert.is(volumes['dicom-guard-config'], 'main-pacs-dicom-guard');
  assert.is(created.metadata!.annotations![INJECTED_BY_ANNOTATION], 'main-pacs');
  assert.equal(sidecar.securityContext!.runAsNonRoot, true);
  assert.equal(sidecar.securityContext!.readOnlyRootFilesystem, true);
  assert.equal(sidecar.securityContext!.capabilities, { drop: ['ALL'] });
  assert.equal(created.spec!.containers.map((c) => c.name), ['pacs'], 'the PACS container untouched');
});

test('an unselected pod is untouched; an already injected spec is not injected twice', async ({ cp }) => {
  await applyObjects(cp, pod('viewer-0', 'imaging', { app: 'viewer' }));
  const viewer = (await getJson<V1Pod>(cp, ['pod', 'viewer-0', '-n', 'imaging']))!;
  assert.is(viewer.spec!.initContainers, undefined);
  assert.is(viewer.metadata!.annotations?.[INJECTED_BY_ANNOTATION], undefined);

  const injected = (await getJson<V1Pod>(cp, ['pod', 'orthanc-0', '-n', 'imaging']))!;
  const again = pod('orthanc-1', 'imaging', { app: 'orthanc' }, { initContainers: injected.spec!.initContainers!, volumes: injected.spec!.volumes! });
  await applyObjects(cp, again);
  const second = (await getJson<V1Pod>(cp, ['pod', 'orthanc-1', '-n', 'imaging']))!;
  assert.is(second.spec!.initContainers!.filter((c) => c.name === SIDECAR_CONTAINER).length, 1);
});

test('the operator counts injected pods as protected', async ({ cp }) => {
  await waitFor('status with matched and protected pods', async () => {
    const status = (await getJson<{ status?: { matchedPods?: number; protectedPods?: number } }>(cp, ['dicomaccesspolicy', 'main-pacs', '-n', 'imaging']))?.status;
    return status?.matchedPods === 2 && status.protectedPods === 2;
  }, 30_000, 250);
});

type EventList = { items: { regarding: { kind: string; name: string; uid?: string }; related?: { kind: string; name: string }; reason: string; type: string; note: string; reportingController: string; reportingInstance: string }[] };

test('lockouts become Events on the pod: the webhook gives the sidecar its pod and token, the operator binds the pod\'s service account, the sidecar posts', async ({ cp, dir }) => {
  await kubectl(cp, ['create', 'serviceaccount', 'orthanc', '-n', 'imaging']);
  await kubectl(cp, ['create', 'serviceaccount', 'stranger', '-n', 'imaging']);
  await applyObjects(cp, pod('orthanc-sa', 'imaging', { app: 'orthanc' }, { serviceAccountName: 'orthanc' }));
  const created = (await getJson<V1Pod>(cp, ['pod', 'orthanc-sa', '-n', 'imaging']))!;
  const sidecar = created.spec!.initContainers!.find((c) => c.name === SIDECAR_CONTAINER)!;
  assert.equal(
    sidecar.env!.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]),
    [['DICOMGUARD_POD_NAME', 'metadata.name'], ['DICOMGUARD_POD_NAMESPACE', 'metadata.namespace'], ['DICOMGUARD_POD_UID', 'metadata.uid'], ['DICOMGUARD_POLICY', 'main-pacs']],
  );
  // The webhook mounts the token volume the ServiceAccount admission plugin made, once (the plugin, reinvoked, sees the mount and adds none).
  const tokenMounts = sidecar.volumeMounts!.filter((m) => m.mountPath === SERVICE_ACCOUNT_DIR);
  const pacsToken = created.spec!.containers[0]!.volumeMounts!.find((m) => m.mountPath === SERVICE_ACCOUNT_DIR)!;
  assert.equal(tokenMounts.map((m) => [m.name, m.readOnly]), [[pacsToken.name, true]]);

  // The operator binds the sidecars' ClusterRole to the service accounts of the pods that run this policy's sidecar.
  type Binding = { roleRef: { kind: string; name: string }; subjects?: { kind: string; name: string; namespace: string }[] };
  const binding = await waitFor('the RoleBinding names the orthanc service account', async () => {
    const found = await getJson<Binding>(cp, ['rolebinding', 'main-pacs-dicom-guard-sidecar', '-n', 'imaging']);
    return found?.subjects?.some((s) => s.name === 'orthanc') ? found : undefined;
  }, 30_000, 250);
  assert.equal(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${FULLNAME}-sidecar` });
  assert.equal(binding.subjects!.map((s) => `${s.namespace}/${s.name}`), ['imaging/default', 'imaging/orthanc']);
  const canI = async (...args: string[]) => (await cp.kubectl(['auth', 'can-i', ...args, '--as=system:serviceaccount:imaging:orthanc'])).stdout.trim();
  assert.is(await canI('create', 'events.events.k8s.io', '-n', 'imaging'), 'yes');
  assert.is(await canI('create', 'events.events.k8s.io', '-n', 'elsewhere'), 'no', 'in the policy\'s namespace only');
  assert.is(await canI('get', 'secrets', '-n', 'imaging'), 'no', 'Events and nothing else');

  // The sidecar as the pod would run it: the downward API values, the kubelet's
  // KUBERNETES_SERVICE_HOST/PORT, and the pod's service account token at the path the kubelet mounts it.
  const apiServer = new URL(cp.server);
  const runSidecar = async (account: string) => {
    const tokenDir = join(dir, `sa-${account}`);
    await mkdir(tokenDir, { recursive: true });
    await writeFile(join(tokenDir, 'token'), (await kubectl(cp, ['create', 'token', account, '-n', 'imaging', '--duration=1h'])).trim());
    await copyFile(cp.caFile, join(tokenDir, 'ca.crt'));
    await writeFile(join(tokenDir, 'namespace'), 'imaging');
    return startSidecar(
      {
        upstream: { host: '127.0.0.1', port: await freePort() },
        calledAETitles: ['PACS'],
        peers: [{ name: 'ct', aeTitles: ['CT01'] }],
        limits: { failedAttempts: { max: 2, windowSeconds: 60, blockSeconds: 120 } },
      },
      {
        env: {
          DICOMGUARD_POD_NAME: 'orthanc-sa',
          DICOMGUARD_POD_NAMESPACE: 'imaging',
          DICOMGUARD_POD_UID: created.metadata!.uid!,
          DICOMGUARD_POLICY: 'main-pacs',
          KUBERNETES_SERVICE_HOST: apiServer.hostname,
          KUBERNETES_SERVICE_PORT: apiServer.port,
        },
        mounts: [{ source: tokenDir, target: SERVICE_ACCOUNT_DIR }],
      },
    );
  };
  const lockOut = async (port: number) => {
    for (const aet of ['GUESS1', 'GUESS2']) await dcmtk('echoscu', ['-aet', aet, '-aec', 'PACS'], port);
    const blocked = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], port);
    assert.match(blocked.output, /Temporary Congestion/, 'locked out: (2,3,1)');
  };
  const ours = async () => ((await getJson<EventList>(cp, ['events.events.k8s.io', '-n', 'imaging']))?.items ?? []).filter((e) => e.reason === 'SourceBlocked');

  const bound = await runSidecar('orthanc');
  try {
    await bound.waitForLog((r) => r.msg === 'lockouts are posted as Events on this pod');
    await lockOut(bound.port);
    const [event, ...more] = await waitFor('the SourceBlocked Event', async () => ((await ours()).length ? ours() : undefined), 30_000, 250);
    assert.is(more.length, 0, 'one lockout, one Event');
    assert.equal([event!.type, event!.regarding.kind, event!.regarding.name, event!.regarding.uid], ['Warning', 'Pod', 'orthanc-sa', created.metadata!.uid]);
    assert.equal([event!.related?.kind, event!.related?.name], ['DicomAccessPolicy', 'main-pacs']);
    assert.equal([event!.reportingController, event!.reportingInstance], ['dicomguard.io/sidecar', 'orthanc-sa']);
    assert.match(event!.note, /^source address 127\.0\.0\.1 \(calling AE title "GUESS2"\) locked out for 120 s after 2 refused connections within 60 s \(limits\.failedAttempts\); the last: .*GUESS2/);
    const described = await cp.kubectl(['describe', 'pod', 'orthanc-sa', '-n', 'imaging']);
    assert.match(described.stdout, /Warning\s+SourceBlocked\s+.*source address 127\.0\.0\.1/, 'kubectl describe pod shows it');
  } finally {
    await bound.stop();
  }

  // A service account the operator did not bind: the API server refuses, the sidecar says so and goes on.
  const unbound = await runSidecar('stranger');
  try {
    await lockOut(unbound.port);
    const refused = await unbound.waitForLog((r) => r.msg === 'could not record an event');
    assert.match(String(refused.err), /forbidden.*system:serviceaccount:imaging:stranger/);
    assert.is((await ours()).length, 1, 'no Event from the unbound account');
    assert.ok(await unbound.waitForAudit((r) => r.reject?.name === 'temporary-congestion'), 'the DICOM side is unaffected: locked out all the same');
  } finally {
    await unbound.stop();
  }

  // The pod goes: its service account leaves the binding.
  await kubectl(cp, ['delete', 'pod', 'orthanc-sa', '-n', 'imaging', '--wait=false']);
  await waitFor('orthanc unbound', async () => !(await getJson<Binding>(cp, ['rolebinding', 'main-pacs-dicom-guard-sidecar', '-n', 'imaging']))?.subjects?.some((s) => s.name === 'orthanc'), 30_000, 250);
});

test('webhook down: a selected pod is refused (failurePolicy Fail); another namespace is unaffected', async (context) => {
  await context.operator.stop();
  const refused = await context.cp.kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(pod('orthanc-2', 'imaging', { app: 'orthanc' })) });
  assert.is.not(refused.code, 0, 'a PACS pod must not start unprotected');
  assert.match(refused.stderr, /failed calling webhook "dicom-guard\.dicomguard\.io"/);
  const elsewhere = await context.cp.kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(pod('other-0', 'elsewhere', { app: 'orthanc' })) });
  assert.is(elsewhere.code, 0, `a namespace without policies does not depend on the webhook: ${elsewhere.stderr}`);
  // Back up: the pod is admitted again, with its sidecar.
  context.operator = await startOperator(context, 'operator-b');
  await waitFor('the webhook answers again', async () => (await context.cp.kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(pod('orthanc-2', 'imaging', { app: 'orthanc' })) })).code === 0, 30_000, 500);
  const admitted = (await getJson<V1Pod>(context.cp, ['pod', 'orthanc-2', '-n', 'imaging']))!;
  assert.is(admitted.spec!.initContainers!.filter((c) => c.name === SIDECAR_CONTAINER).length, 1);
});

test('the webhook records its decisions in metrics', async ({ operator }) => {
  const samples = await operator.metrics();
  const injected = samples.find((s) => s.name === 'dicomguard_webhook_admissions_total' && s.labels.reason === 'selected' && s.labels.injected === 'true');
  assert.ok(injected && injected.value >= 1, 'selected pods counted');
});

test('helm uninstall keeps the CRD (and so every policy)', async ({ cp }) => {
  await kubectl(cp, ['get', 'dicomaccesspolicy', 'main-pacs', '-n', 'imaging']);
  const uninstalled = await run(helmBinary(), ['uninstall', RELEASE, `--kubeconfig=${cp.kubeconfig}`, '--namespace', RELEASE_NAMESPACE]);
  assert.is(uninstalled.code, 0, uninstalled.output);
  assert.ok(await getJson(cp, ['crd', 'dicomaccesspolicies.dicomguard.io']), 'the CRD stays');
  assert.ok(await getJson(cp, ['dicomaccesspolicy', 'main-pacs', '-n', 'imaging']), 'the policy stays');
  assert.is(await getJson(cp, ['mutatingwebhookconfiguration', FULLNAME]), undefined, 'the webhook configuration goes');
});

test.run();
