// The local control plane with dicom-guard installed, as a command (`npm run cluster:up`,
// `npm run cluster:down`), for the demo and for working by hand:
//
//   up     builds or reuses the programs (test/cluster/build-tools.sh); starts etcd,
//          kube-apiserver and kube-controller-manager in .local/cluster/ (left running);
//          installs cert-manager's CRDs; installs charts/dicom-guard with Helm; runs the
//          operator on this host as the chart's ServiceAccount; writes the admin
//          kubeconfig to .local/kubeconfig (kubectl and helm are in .local/bin)
//   down   stops all of it (and whatever the demo started) and removes the state
//
// `up` with everything already running only says so.
import { spawnSync } from 'node:child_process';
import { copyFile, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { buildCommand, certManagerCrds, readState, startControlPlane, stateIsRunning, stopFromState } from './control-plane.ts';
import { hostOperatorArgs, installDicomGuard } from './install.ts';
import { runningServices, startService, stopServices } from './services.ts';
import { freePort } from '../harness/ports.ts';
import { waitFor } from '../harness/processes.ts';
import { CLI, NODE } from '../harness/tools.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..');
export const clusterDir = join(repoRoot, '.local', 'cluster');
export const adminKubeconfig = join(repoRoot, '.local', 'kubeconfig');
const log = (line: string) => console.error(`[cluster] ${line}`);

async function up(): Promise<void> {
  const state = await readState(clusterDir);
  if (state && stateIsRunning(state) && (await runningServices(clusterDir)).includes('operator')) {
    log(`already running at ${state.server}`);
    log(`export KUBECONFIG=${relative(process.cwd(), adminKubeconfig)}`);
    return;
  }
  // Whatever is left of an earlier one (crashed, or the machine restarted).
  await down(false);

  const build = spawnSync('bash', [join(repoRoot, 'test', 'cluster', 'build-tools.sh')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`building the control plane failed; run ${buildCommand} to see why`);

  const cp = await startControlPlane({ dir: clusterDir, detached: true, crds: [certManagerCrds], log });
  await copyFile(cp.kubeconfig, adminKubeconfig);
  const installation = await installDicomGuard(cp, clusterDir, log);

  const ports = { health: await freePort(), metrics: await freePort() };
  const operatorLog = join(clusterDir, 'logs', 'operator.log');
  await startService(clusterDir, 'operator', NODE, [CLI, 'operator', ...hostOperatorArgs(installation, ports, 'dicom-guard-host')], operatorLog);
  log(`operator running as ServiceAccount dicom-guard-system/dicom-guard; log: ${relative(process.cwd(), operatorLog)}`);
  await waitFor('the operator /readyz', async () => (await fetch(`http://127.0.0.1:${ports.health}/readyz`)).ok, 60_000, 250);
  log(`ready. metrics: http://127.0.0.1:${ports.metrics}/metrics`);
  log(`export KUBECONFIG=${relative(process.cwd(), adminKubeconfig)} PATH=$PWD/.local/bin:$PATH`);
  log('stop everything with: npm run cluster:down');
}

async function down(say = true): Promise<void> {
  const services = await stopServices(clusterDir);
  const stopped = await stopFromState(clusterDir);
  await rm(clusterDir, { recursive: true, force: true });
  await rm(adminKubeconfig, { force: true });
  if (say) log(stopped || services ? `stopped ${stopped} control plane and ${services} other processes` : 'nothing was running');
}

if (import.meta.main) {
  const command = process.argv[2];
  try {
    if (command === 'up') await up();
    else if (command === 'down') await down();
    else {
      console.error('usage: node test/cluster/cluster.ts up|down');
      process.exitCode = 2;
    }
  } catch (error) {
    log(`${command} failed: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof Error && /is missing/.test(error.message)) log(`run: ${buildCommand}`);
    process.exitCode = 1;
  }
}

export { up as clusterUp, down as clusterDown };
