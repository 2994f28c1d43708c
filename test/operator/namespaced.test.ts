// The operator watching one namespace (`--namespace`, the chart's operator.watchNamespace)
// on a real control plane: policies there are reconciled, those created before it
// started and those created while it runs; policies elsewhere are not touched at all
// (no objects, no status), across several resyncs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRD_FILE } from '../../operator/api/crd.ts';
import { validPolicies } from '../../operator/api/fixtures.ts';
import type { Condition } from '../../operator/api/v1alpha1.ts';
import { objectNames } from '../../operator/render/mounts.ts';
import { certManagerCrds, startControlPlane, type ControlPlane } from '../cluster/control-plane.ts';
import { applyObjects, getJson, operatorKubeconfig, startOperatorProcess, type OperatorProcess } from '../harness/operator.ts';
import { waitFor } from '../harness/processes.ts';
import { ROOT } from '../harness/tools.ts';

const WATCHED = 'imaging-watched';
const OTHER = 'imaging-other';
const RESYNC_SECONDS = 2;
const minimal = validPolicies.find((f) => f.name === 'minimal')!.policy;

let dir = '';
let cp: ControlPlane | undefined;
let operator: OperatorProcess | undefined;

function plane(): ControlPlane {
  if (!cp) throw new Error('the control plane did not start');
  return cp;
}
const policyIn = (namespace: string, name: string) => ({ ...minimal, metadata: { name, namespace } });
type Policy = { metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: Condition[] } };
const getPolicy = (namespace: string, name: string) => getJson<Policy>(plane(), ['dicomaccesspolicy', name, '-n', namespace]);
const exists = async (kind: string, namespace: string, name: string) => (await getJson(plane(), [kind, name, '-n', namespace])) !== undefined;

async function readyPolicy(namespace: string, name: string): Promise<Policy> {
  return waitFor(
    `${namespace}/${name} Ready`,
    async () => {
      const policy = await getPolicy(namespace, name);
      return policy?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === policy.metadata.generation) ? policy : undefined;
    },
    30_000,
    200,
  );
}

async function untouched(namespace: string, name: string): Promise<void> {
  const policy = await getPolicy(namespace, name);
  assert.ok(policy, `${namespace}/${name} exists`);
  assert.is(policy!.status, undefined, `${namespace}/${name} has no status`);
  const names = objectNames(name);
  assert.not.ok(await exists('networkpolicy', namespace, names.networkPolicy), `no NetworkPolicy for ${namespace}/${name}`);
  assert.not.ok(await exists('configmap', namespace, names.configMap), `no ConfigMap for ${namespace}/${name}`);
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dg-namespaced-'));
  cp = await startControlPlane({ dir: join(dir, 'cp'), crds: [certManagerCrds, join(ROOT, CRD_FILE)], log: (line) => console.log(`  [control plane] ${line}`) });
  await applyObjects(cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WATCHED } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OTHER } });
  await applyObjects(cp, policyIn(WATCHED, 'before-start'), policyIn(OTHER, 'before-start'));
  operator = await startOperatorProcess({ kubeconfig: await operatorKubeconfig(cp, dir), identity: 'operator-0', dir, args: [`--namespace=${WATCHED}`, `--resync-period=${RESYNC_SECONDS}s`] });
});

test.after(async () => {
  await operator?.stop();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a policy in the watched namespace from before the start: reconciled and Ready, its objects there', async () => {
  await readyPolicy(WATCHED, 'before-start');
  const names = objectNames('before-start');
  assert.ok(await exists('networkpolicy', WATCHED, names.networkPolicy));
  assert.ok(await exists('configmap', WATCHED, names.configMap));
});

test('a policy created in the watched namespace while it runs: reconciled', async () => {
  await applyObjects(plane(), policyIn(WATCHED, 'while-running'));
  await readyPolicy(WATCHED, 'while-running');
});

test('policies in another namespace, before the start and while it runs: untouched over several resyncs', async () => {
  await applyObjects(plane(), policyIn(OTHER, 'while-running'));
  // The watched namespace's newest policy is Ready by now; give the other namespace three resyncs more.
  await readyPolicy(WATCHED, 'while-running');
  await new Promise((resolve) => setTimeout(resolve, RESYNC_SECONDS * 3000));
  await untouched(OTHER, 'before-start');
  await untouched(OTHER, 'while-running');
  assert.is(operator!.process.child.exitCode, null, 'the operator still runs');
});

test.run();
