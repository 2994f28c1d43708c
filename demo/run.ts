// `npm run demo`: dicom-guard end to end on this machine.
//   1. the test programs (DCMTK, Orthanc) and the local control plane, built or reused;
//   2. the Helm chart installed and the operator running (npm run cluster:up);
//   3. examples/policy.yaml applied; examples/pacs-pod.yaml created, and the sidecar the
//      webhook injected into it shown;
//   4. Orthanc and a sidecar process started with exactly the SidecarConfig the operator
//      rendered into the policy's ConfigMap (there is no kubelet to run the pod itself);
//   5. DCMTK: one association allowed (C-ECHO, and a C-STORE that arrives in Orthanc),
//      one refused (with its reject reason).
// Everything is left running; `npm run cluster:down` stops it.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { clusterDir, clusterUp, adminKubeconfig } from '../test/cluster/cluster.ts';
import { startService, stopService } from '../test/cluster/services.ts';
import { writeImage } from '../test/harness/dicom-file.ts';
import { run, waitFor } from '../test/harness/processes.ts';
import { CLI, NODE, ROOT, requireProgram } from '../test/harness/tools.ts';
import { SIDECAR_CONFIG_KEY, objectNames } from '../operator/render/mounts.ts';
import { parseSidecarConfig } from '../sidecar/config/load.ts';

const demoDir = join(clusterDir, 'demo');
const kubectlBin = join(ROOT, '.local', 'bin', 'kubectl');
const say = (line = '') => console.log(line);
const step = (line: string) => console.log(`\n==> ${line}`);

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await run(kubectlBin, [`--kubeconfig=${adminKubeconfig}`, ...args], { ...(input === undefined ? {} : { input }), timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function main(): Promise<number> {
  step('Test programs (DCMTK, Orthanc) and the control plane toolchain');
  const setup = spawnSync('bash', [join(ROOT, 'test', 'setup', 'install.sh')], { stdio: 'inherit' });
  if (setup.status !== 0) throw new Error('bash test/setup/install.sh failed');

  step('Local Kubernetes control plane with dicom-guard installed by Helm (npm run cluster:up)');
  await clusterUp();

  step('Apply examples/policy.yaml');
  await kubectl(['create', 'namespace', 'imaging']).catch((error: Error) => {
    if (!/AlreadyExists/.test(error.message)) throw error;
  });
  say(await kubectl(['apply', '--server-side', '-f', join(ROOT, 'examples', 'policy.yaml')]));
  await waitFor('the policy to be Ready', async () => (await kubectl(['get', 'dap', 'main-pacs', '-n', 'imaging', '-o', 'jsonpath={.status.conditions[?(@.type=="ConfigRendered")].status}'])) === 'True', 60_000, 500);
  say(await kubectl(['get', 'dicomaccesspolicies', '-n', 'imaging']));
  say(await kubectl(['get', 'networkpolicy,configmap', '-n', 'imaging', '-l', 'dicomguard.io/policy=main-pacs']));

  step('Create examples/pacs-pod.yaml: the webhook injects the sidecar');
  await waitFor('the webhook to select namespace imaging', async () => (await kubectl(['get', 'mutatingwebhookconfiguration', 'dicom-guard', '-o', 'jsonpath={.webhooks[0].namespaceSelector.matchExpressions[0].values}'])).includes('imaging'), 30_000, 250);
  await kubectl(['delete', 'pod', 'orthanc', '-n', 'imaging', '--ignore-not-found', '--wait=false']);
  await kubectl(['apply', '--server-side', '-f', join(ROOT, 'examples', 'pacs-pod.yaml')]);
  const pod = JSON.parse(await kubectl(['get', 'pod', 'orthanc', '-n', 'imaging', '-o', 'json'])) as { spec: { initContainers?: { name: string }[] }; metadata: { annotations?: Record<string, string> } };
  const sidecar = pod.spec.initContainers?.find((c) => c.name === 'dicom-guard');
  if (!sidecar) throw new Error('the pod was admitted without the sidecar');
  say('The pod as admitted: its containers stay as written; this init container was added (a native sidecar):\n');
  say(stringify({ initContainers: [sidecar] }).replace(/^/gm, '    '));

  step("Run Orthanc and the sidecar on this host, with the operator's rendered config");
  const config = (JSON.parse(await kubectl(['get', 'configmap', objectNames('main-pacs').configMap, '-n', 'imaging', '-o', 'json'])) as { data: Record<string, string> }).data[SIDECAR_CONFIG_KEY]!;
  const parsed = parseSidecarConfig(config, 'the rendered ConfigMap');
  await mkdir(demoDir, { recursive: true });
  const configPath = join(demoDir, 'sidecar.yaml');
  await writeFile(configPath, config);
  say(`The SidecarConfig from ConfigMap imaging/${objectNames('main-pacs').configMap} (${relative(ROOT, configPath)}):\n`);
  say(config.replace(/^/gm, '    '));
  // An earlier run of the demo: its PACS and sidecar make way for this one.
  await stopService(clusterDir, 'demo-sidecar');
  await stopService(clusterDir, 'demo-orthanc');
  const busy = [];
  for (const port of [parsed.listen.port, parsed.admin.port, parsed.upstream.port, 8042]) if (await portInUse(port)) busy.push(port);
  if (busy.length) throw new Error(`ports ${busy.join(', ')} are in use on this machine; the demo needs them (stop what uses them, or npm run cluster:down if it is an earlier demo)`);

  const orthancConfig = join(demoDir, 'orthanc.json');
  await writeFile(orthancConfig, JSON.stringify({ Name: 'demo', StorageDirectory: join(demoDir, 'orthanc-db'), IndexDirectory: join(demoDir, 'orthanc-db'), DicomAet: 'PACS', DicomPort: parsed.upstream.port, HttpPort: 8042, RemoteAccessAllowed: false, AuthenticationEnabled: false, DicomCheckCalledAet: true, DicomAlwaysAllowStore: true, Plugins: [] }, null, 2));
  await startService(clusterDir, 'demo-orthanc', requireProgram('Orthanc'), [orthancConfig], join(demoDir, 'orthanc.log'));
  await waitFor('Orthanc', async () => (await fetch('http://127.0.0.1:8042/system')).ok, 30_000, 200);
  await startService(clusterDir, 'demo-sidecar', NODE, [CLI, 'sidecar', '--config', configPath], join(demoDir, 'sidecar.log'));
  await waitFor('the sidecar', async () => (await fetch(`http://127.0.0.1:${parsed.admin.port}/readyz`)).ok, 30_000, 200);
  say(`Orthanc (AE PACS) on ${parsed.upstream.port}, the sidecar on ${parsed.listen.port} in front of it`);

  step('Allowed: CT01 is a peer of the policy (C-ECHO, then C-STORE of a generated image)');
  const echo = await run(requireProgram('echoscu'), ['-v', '-aet', 'CT01', '-aec', 'PACS', '127.0.0.1', String(parsed.listen.port)]);
  say(echo.output.trim().replace(/^/gm, '    '));
  const count = async () => ((await (await fetch('http://127.0.0.1:8042/statistics')).json()) as { CountInstances: number }).CountInstances;
  const before = await count();
  const image = await writeImage(join(demoDir, 'image.dcm'), { rows: 256, columns: 256, patientName: 'Demo^Patient' });
  const store = await run(requireProgram('storescu'), ['-aet', 'CT01', '-aec', 'PACS', '127.0.0.1', String(parsed.listen.port), image.path]);
  const after = await count();
  say(`    storescu exit ${store.code}; instances in Orthanc: ${before} -> ${after}`);

  step('Refused: INTRUDER is no peer (A-ASSOCIATE-RJ, and Orthanc never sees it)');
  const refused = await run(requireProgram('echoscu'), ['-aet', 'INTRUDER', '-aec', 'PACS', '127.0.0.1', String(parsed.listen.port)]);
  say(refused.output.trim().replace(/^/gm, '    '));

  step("The sidecar's audit records of these associations");
  const audits = (await readFile(join(demoDir, 'sidecar.log'), 'utf8'))
    .split('\n')
    .filter((line) => line.includes('"audit":"association"'))
    .map((line) => (parse(line) as { msg: string }).msg);
  for (const line of audits.slice(-3)) say(`    ${line}`);

  const ok = echo.code === 0 && store.code === 0 && after === before + 1 && refused.code !== 0 && /Calling AE Title Not Recognized/.test(refused.output);
  step(ok ? 'Done: one association allowed, one refused.' : 'Something did not go as expected (see above).');
  say(`
Everything is still running. Try more:
  export KUBECONFIG=${relative(process.cwd(), adminKubeconfig)} PATH=$PWD/.local/bin:$PATH
  kubectl get dap -A                               # policies, Ready, matched and protected pods
  kubectl edit dap main-pacs -n imaging            # e.g. add a peer; the ConfigMap follows
  echoscu -aet CT01 -aec PACS localhost ${parsed.listen.port}          # through the sidecar
  curl -s localhost:${parsed.admin.port}/metrics | grep dicomguard_      # the sidecar's metrics
  tail -f ${relative(process.cwd(), join(demoDir, 'sidecar.log'))}          # audit records
Stop it all with: npm run cluster:down`);
  return ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
