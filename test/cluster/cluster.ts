// The local control plane as a command, for the demo and for working by hand:
//
//   node test/cluster/cluster.ts up     starts it in .local/cluster/ (left running), installs
//                                       cert-manager's CRDs, prints the kubeconfig's path
//   node test/cluster/cluster.ts down   stops it and removes .local/cluster/
//
// `up` with a control plane already running there only prints its kubeconfig.
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { buildCommand, certManagerCrds, readState, startControlPlane, stateIsRunning, stopFromState } from './control-plane.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const clusterDir = join(repoRoot, '.local', 'cluster');

async function up(): Promise<void> {
  const state = await readState(clusterDir);
  if (state && stateIsRunning(state)) {
    console.error(`control plane already running at ${state.server}`);
    console.log(state.kubeconfig);
    return;
  }
  // Whatever is left of an earlier one (crashed, or the machine restarted).
  await stopFromState(clusterDir);
  await rm(clusterDir, { recursive: true, force: true });
  const cp = await startControlPlane({
    dir: clusterDir,
    detached: true,
    crds: [certManagerCrds],
    log: (line) => console.error(`[cluster] ${line}`),
  });
  console.error(`[cluster] logs in ${relative(process.cwd(), join(clusterDir, 'logs'))}; stop with: node test/cluster/cluster.ts down`);
  console.error(`[cluster] export KUBECONFIG=${cp.kubeconfig}`);
  console.log(cp.kubeconfig);
}

async function down(): Promise<void> {
  const stopped = await stopFromState(clusterDir);
  await rm(clusterDir, { recursive: true, force: true });
  console.error(stopped ? `[cluster] stopped ${stopped} processes` : '[cluster] no control plane was running');
}

const command = process.argv[2];
try {
  if (command === 'up') await up();
  else if (command === 'down') await down();
  else {
    console.error('usage: node test/cluster/cluster.ts up|down');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`[cluster] ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && /is missing/.test(error.message)) console.error(`[cluster] run: ${buildCommand}`);
  process.exitCode = 1;
}
