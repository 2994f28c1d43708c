// The local control plane works as a cluster would: an admin kubeconfig, RBAC enforced
// for a ServiceAccount's token, cert-manager's CRDs served, garbage collection by the
// controller manager, a restartable API server, and nothing left running after stop().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { certManagerCrds, defaultBinDir, startControlPlane } from './control-plane.ts';
import type { ControlPlane, KubectlResult } from './control-plane.ts';

let dir = '';
let cp: ControlPlane | undefined;
let startError: unknown;

function plane(): ControlPlane {
  if (!cp) throw startError instanceof Error ? startError : new Error(`the control plane did not start: ${String(startError)}`);
  return cp;
}

async function ok(args: string[], input?: string): Promise<string> {
  const result = await plane().kubectl(args, { input });
  assert.is(result.code, 0, `kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** kubectl without the admin kubeconfig: a kubeconfig of its own, with only a bearer token. */
async function kubectlWithToken(token: string, args: string[]): Promise<KubectlResult> {
  const kubeconfig = join(dir, 'token.kubeconfig');
  const ca = (await readFile(plane().caFile)).toString('base64');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: local, cluster: {server: "' + plane().server + '", certificate-authority-data: ' + ca + '}}]',
      'users: [{name: sa, user: {token: "' + token + '"}}]',
      'contexts: [{name: sa, context: {cluster: local, user: sa}}]',
      'current-context: sa',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return new Promise((resolveRun) => {
    execFile(join(defaultBinDir, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], (error, stdout, stderr) => {
      resolveRun({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`${what} within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** Processes whose command line names the control plane's folder (all of them do). */
async function processesUsing(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
      if (cmdline.includes(folder)) found.push(`${entry}: ${cmdline.slice(0, 120)}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dicom-guard-cp-'));
  // uvu does not report a failing hook; each test reports this error instead.
  try {
    cp = await startControlPlane({ dir, crds: [certManagerCrds], log: (line) => console.log(`  [control plane] ${line}`) });
  } catch (error) {
    startError = error;
    console.error(error);
  }
});

test.after(async () => {
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('kubectl with the admin kubeconfig reaches the API server of the built release', async () => {
  assert.match(await ok(['get', 'namespace', 'default', '-o', 'name']), 'namespace/default');
  const version = JSON.parse(await ok(['version', '-o', 'json'])) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
  assert.match(version.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
  assert.is(version.clientVersion.gitVersion, version.serverVersion.gitVersion);
  assert.is(plane().server.startsWith('https://127.0.0.1:'), true);
});

test("RBAC is enforced: a fresh ServiceAccount's token may not list secrets", async () => {
  await ok(['create', 'serviceaccount', 'probe', '-n', 'default']);
  const token = (await ok(['create', 'token', 'probe', '-n', 'default', '--duration=10m'])).trim();
  assert.ok(token.length > 100, 'a token');

  const whoami = await kubectlWithToken(token, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  assert.is(whoami.code, 0, whoami.stderr);
  assert.is(whoami.stdout, 'system:serviceaccount:default:probe');

  const secrets = await kubectlWithToken(token, ['get', 'secrets', '-n', 'default']);
  assert.is.not(secrets.code, 0);
  assert.match(secrets.stderr, /Forbidden/);
  assert.match(secrets.stderr, /system:serviceaccount:default:probe/);
  // can-i exits 1 for "no".
  const canI = await plane().kubectl(['auth', 'can-i', 'list', 'secrets', '--as=system:serviceaccount:default:probe', '-n', 'default']);
  assert.is(canI.stdout.trim(), 'no');
});

test('admission webhooks and ValidatingAdmissionPolicy are served', async () => {
  const resources = await ok(['api-resources', '--api-group=admissionregistration.k8s.io', '-o', 'name']);
  assert.match(resources, 'mutatingwebhookconfigurations');
  assert.match(resources, 'validatingwebhookconfigurations');
  assert.match(resources, 'validatingadmissionpolicies');
});

test("cert-manager's Certificate CRD is established and takes objects", async () => {
  const established = await ok(['get', 'crd', 'certificates.cert-manager.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
  assert.is(established, 'True');
  for (const crd of ['issuers', 'clusterissuers', 'certificaterequests']) await ok(['get', 'crd', `${crd}.cert-manager.io`]);
  await ok(
    ['apply', '-f', '-'],
    [
      'apiVersion: cert-manager.io/v1',
      'kind: Certificate',
      'metadata: {name: probe, namespace: default}',
      'spec: {secretName: probe-tls, dnsNames: [probe.example], issuerRef: {name: probe, kind: Issuer}}',
    ].join('\n'),
  );
  assert.match(await ok(['get', 'certificate', 'probe', '-n', 'default', '-o', 'jsonpath={.spec.secretName}']), 'probe-tls');
});

test('garbage collection deletes a ConfigMap whose owner was deleted', async () => {
  await ok(['create', 'configmap', 'gc-owner', '-n', 'default']);
  const uid = await ok(['get', 'configmap', 'gc-owner', '-n', 'default', '-o', 'jsonpath={.metadata.uid}']);
  await ok(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'gc-dependent', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid }] },
    }),
  );
  await ok(['delete', 'configmap', 'gc-owner', '-n', 'default', '--wait=false']);
  await eventually('the dependent ConfigMap is collected', async () => {
    const got = await plane().kubectl(['get', 'configmap', 'gc-dependent', '-n', 'default']);
    return got.code !== 0 && /NotFound/.test(got.stderr);
  });
});

test('restartApiServer: a new kube-apiserver on the same address, with the same data', async () => {
  const before = plane().pids.kubeApiserver;
  await plane().restartApiServer();
  assert.is.not(plane().pids.kubeApiserver, before);
  assert.throws(() => process.kill(before, 0), 'the old kube-apiserver is gone');
  await ok(['get', 'serviceaccount', 'probe', '-n', 'default']);
  assert.match(await ok(['get', 'namespace', 'default', '-o', 'name']), 'namespace/default');
});

test('stop() ends every process and may be called twice', async () => {
  const pids = Object.values(plane().pids);
  assert.is(pids.length, 3);
  assert.equal(await processesUsing(dir).then((found) => found.length), 3, 'three processes before');
  await plane().stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), `process ${pid} is gone`);
  assert.equal(await processesUsing(dir), []);
  await plane().stop();
});

test.run();
