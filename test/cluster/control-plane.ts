// A real Kubernetes control plane on loopback, without containers (docs/testing.md):
// etcd, kube-apiserver and kube-controller-manager built by test/cluster/build-tools.sh,
// with certificates and keys made by openssl for each run. There is no kubelet, so pods
// stay Pending; everything else (RBAC, admission webhooks, CRDs, garbage collection,
// service account tokens) is the real thing.
//
//   const cp = await startControlPlane({ dir: await mkdtemp(join(tmpdir(), 'cp-')) });
//   try { ... KUBECONFIG=cp.kubeconfig ... } finally { await cp.stop(); }
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Where build-tools.sh links the programs. */
export const defaultBinDir = join(repoRoot, '.local', 'bin');
/** cert-manager's CRDs, rendered by build-tools.sh from its published Helm chart. */
export const certManagerCrds = join(defaultBinDir, 'cert-manager-crds.yaml');
export const buildCommand = 'bash test/cluster/build-tools.sh';

export interface ControlPlaneOptions {
  /** Folder for certificates, etcd's data, logs, the kubeconfig and state.json; made if missing. */
  dir: string;
  /** Progress lines; nothing is printed without it. */
  log?: (line: string) => void;
  /** Folder with etcd, kube-apiserver, kube-controller-manager and kubectl (default .local/bin). */
  binDir?: string;
  /** CRD manifests to apply (server-side) and wait for until they are Established. */
  crds?: string[];
  /**
   * Leave the processes running when this Node.js process ends (the `cluster.ts up` CLI):
   * no cleanup at exit and no parent-death signal. stop() still works, and so does
   * stopFromState(dir) from another process.
   */
  detached?: boolean;
  /** How long to wait for the whole start, in ms (default 120 s). */
  timeoutMs?: number;
}

export interface ControlPlanePids {
  etcd: number;
  kubeApiserver: number;
  kubeControllerManager: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** The admin kubeconfig (user "admin" in group system:masters), certificates embedded. */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** The cluster CA, which signed the serving and client certificates. */
  caFile: string;
  dir: string;
  /** Current process ids; each is also its process group's id. */
  readonly pids: ControlPlanePids;
  /** Runs kubectl with the admin kubeconfig; never throws for a non-zero exit. */
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Stops kube-apiserver and starts it again on the same port, then waits for /readyz. */
  restartApiServer(): Promise<void>;
  /** Stops every process (SIGTERM to its group, SIGKILL after 10 s); safe to call twice. */
  stop(): Promise<void>;
}

/** What state.json holds, so that another process can stop a detached control plane. */
export interface ControlPlaneState {
  server: string;
  kubeconfig: string;
  caFile: string;
  pids: ControlPlanePids;
  /** Process start times (field 22 of /proc/PID/stat), so a reused pid is never killed. */
  starts: Record<string, string>;
}

const serviceClusterIpRange = '10.0.0.0/24';
const kubernetesServiceIp = '10.0.0.1';

// ---------------------------------------------------------------------------------------
// Processes

interface Managed {
  name: string;
  args: string[];
  child: ChildProcess;
  exited: Promise<void>;
  alive: boolean;
}

/** Every process group started here and not yet seen to exit: killed when Node.js exits. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
      liveGroups.clear();
      process.kill(process.pid, signal);
    });
  }
}

export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** State (R, S, Z, ...) and start time (field 22) of a process, from /proc/PID/stat. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after it don't.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

export function processStart(pid: number): string | undefined {
  return procStat(pid)?.start;
}

/** Whether pid runs (a zombie has exited), and is the process that started at `start`. */
export function isRunning(pid: number, start?: string): boolean {
  const stat = procStat(pid);
  if (!stat || stat.state === 'Z') return false;
  return start === undefined || stat.start === start;
}

const setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

function startProcess(name: string, command: string, args: string[], dir: string, detached: boolean): Managed {
  const logFile = join(dir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  // Each program leads a process group of its own so that stop() can signal all of it.
  // Unless detached, it is also killed by the kernel if this Node.js process dies without
  // running its exit hook (SIGKILL from a test runner's timeout): setpriv --pdeathsig.
  const [file, argv] =
    !detached && setprivPath ? [setprivPath, ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, args];
  const child = spawn(file, argv, { detached: true, stdio: ['ignore', fd, fd], cwd: dir });
  closeSync(fd);
  child.unref();
  const managed: Managed = {
    name,
    args,
    child,
    alive: true,
    exited: new Promise((resolveExit) => {
      child.once('exit', () => {
        managed.alive = false;
        if (child.pid !== undefined) liveGroups.delete(child.pid);
        resolveExit();
      });
      child.once('error', () => {
        managed.alive = false;
        resolveExit();
      });
    }),
  };
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  if (!detached) liveGroups.add(child.pid);
  return managed;
}

async function stopProcess(p: Managed, graceMs = 10_000): Promise<void> {
  const pid = p.child.pid;
  if (!p.alive || pid === undefined) return;
  // Referenced again, so that the event loop waits for its exit.
  p.child.ref();
  killGroup(pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolveKill) => {
    timer = setTimeout(() => {
      killGroup(pid, 'SIGKILL');
      resolveKill();
    }, graceMs);
  });
  await Promise.race([p.exited, killed]);
  clearTimeout(timer);
  await p.exited;
  // Anything else left in the group (none of these programs fork, but be sure).
  killGroup(pid, 'SIGKILL');
  liveGroups.delete(pid);
}

async function tail(file: string, lines = 25): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------
// Certificates

/** Runs a short-lived command (killed with this process, as the servers are). */
function run(command: string, args: string[], options: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  const [file, argv] = setprivPath ? [setprivPath, ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, args];
  return new Promise((resolveRun) => {
    const child = execFile(
      file,
      argv,
      { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolveRun({ code: 0, stdout, stderr });
        // A non-zero exit has a numeric code; a spawn failure or a timeout has none.
        const code = typeof error.code === 'number' ? error.code : 1;
        resolveRun({ code, stdout, stderr: stderr || error.message });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const result = await run('openssl', args, { cwd });
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

interface CertSpec {
  name: string;
  subject: string;
  extensions: string[];
}

// A config of its own, so that nothing from the system's openssl.cnf gets into a certificate.
const reqConfig = '[req]\ndistinguished_name = dn\n[dn]\n';

async function issue(pki: string, spec: CertSpec): Promise<void> {
  const ext = `${spec.name}.ext`;
  await writeFile(join(pki, ext), `[ext]\n${spec.extensions.join('\n')}\n`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${spec.name}.key`], pki);
  await openssl(['req', '-new', '-config', 'req.cnf', '-key', `${spec.name}.key`, '-subj', spec.subject, '-out', `${spec.name}.csr`], pki);
  await openssl(
    ['x509', '-req', '-in', `${spec.name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-sha256', '-extfile', ext, '-extensions', 'ext', '-out', `${spec.name}.crt`],
    pki,
  );
}

/** Makes the CA, the serving and client certificates and the service account key pair. */
async function makePki(pki: string): Promise<void> {
  await mkdir(pki, { recursive: true, mode: 0o700 });
  await writeFile(join(pki, 'req.cnf'), reqConfig);
  await writeFile(
    join(pki, 'ca.cnf'),
    `${reqConfig}[ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier = hash\n`,
  );
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca.key'], pki);
  await openssl(['req', '-new', '-x509', '-config', 'ca.cnf', '-extensions', 'ext', '-key', 'ca.key', '-subj', '/CN=dicom-guard-test-ca', '-days', '30', '-sha256', '-out', 'ca.crt'], pki);
  const leaf = ['basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyEncipherment', 'authorityKeyIdentifier = keyid'];
  await issue(pki, {
    name: 'apiserver',
    subject: '/CN=kube-apiserver',
    extensions: [
      ...leaf,
      'extendedKeyUsage = serverAuth',
      `subjectAltName = IP:127.0.0.1,DNS:localhost,IP:${kubernetesServiceIp},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
    ],
  });
  await issue(pki, { name: 'admin', subject: '/O=system:masters/CN=admin', extensions: [...leaf, 'extendedKeyUsage = clientAuth'] });
  await issue(pki, { name: 'controller-manager', subject: '/CN=system:kube-controller-manager', extensions: [...leaf, 'extendedKeyUsage = clientAuth'] });
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], pki);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], pki);
}

async function writeKubeconfig(path: string, server: string, pki: string, user: string, cert: string): Promise<void> {
  const b64 = async (file: string) => (await readFile(join(pki, file))).toString('base64');
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${await b64('ca.crt')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${await b64(`${cert}.crt`)}`,
    `    client-key-data: ${await b64(`${cert}.key`)}`,
    'contexts:',
    `- name: ${user}@local`,
    '  context:',
    '    cluster: local',
    `    user: ${user}`,
    `current-context: ${user}@local`,
    '',
  ].join('\n');
  await writeFile(path, kubeconfig, { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------
// Start

/** A free TCP port on 127.0.0.1 (free when asked; the kernel hands out ports in turn). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

interface HttpResult {
  status: number;
  body: string;
}

function httpsGet(url: string, pki: string, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolveGet, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls until check() returns true; fails with what() and the log tails when time runs out. */
async function waitFor(what: string, deadline: number, check: () => Promise<boolean>, died: () => Promise<string | undefined>): Promise<void> {
  for (;;) {
    const dead = await died();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${what}: timed out`);
    await sleep(250);
  }
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const dir = resolve(options.dir);
  const log = options.log ?? (() => {});
  const binDir = options.binDir ?? defaultBinDir;
  const detached = options.detached ?? false;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const bin = (name: string) => join(binDir, name);
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl']) {
    if (!existsSync(bin(name))) throw new Error(`${bin(name)} is missing: build the control plane with \`${buildCommand}\``);
  }
  for (const crd of options.crds ?? []) {
    if (!existsSync(crd)) throw new Error(`${crd} is missing: render it with \`${buildCommand}\``);
  }
  if (!detached) installExitHook();

  const pki = join(dir, 'pki');
  await mkdir(join(dir, 'logs'), { recursive: true });
  log(`control plane in ${dir}: making certificates`);
  await makePki(pki);

  const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, 'kubeconfig');
  const caFile = join(pki, 'ca.crt');
  await writeKubeconfig(kubeconfig, server, pki, 'admin', 'admin');
  const kcmKubeconfig = join(dir, 'controller-manager.kubeconfig');
  await writeKubeconfig(kcmKubeconfig, server, pki, 'system:kube-controller-manager', 'controller-manager');

  const procs: Managed[] = [];
  const byName = (name: string): Managed => {
    const found = [...procs].reverse().find((p) => p.name === name);
    if (!found) throw new Error(`no ${name}`);
    return found;
  };
  const diedCheck = (names: string[]) => async (): Promise<string | undefined> => {
    for (const name of names) {
      const p = procs.find((q) => q.name === name && !q.alive);
      if (p) return `${name} exited; the end of ${join(dir, 'logs', `${name}.log`)}:\n${await tail(join(dir, 'logs', `${name}.log`))}`;
    }
    return undefined;
  };

  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcdArgs = [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
    // As envtest runs it: the data is thrown away with the folder.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
  const apiArgs = [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--etcd-servers=${etcdUrl}`,
    `--cert-dir=${join(dir, 'apiserver')}`,
    `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
    `--client-ca-file=${caFile}`,
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--authorization-mode=Node,RBAC',
    // Added to the default set (which has the webhooks and ValidatingAdmissionPolicy already;
    // naming them keeps them on whatever the default becomes).
    '--enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy',
    '--allow-privileged=true',
    // Loopback may not be an endpoint of the kubernetes Service; nothing here needs one.
    '--endpoint-reconciler-type=none',
    // Webhook and aggregated API Services are reached at their endpoints (no kube-proxy here).
    '--enable-aggregator-routing=true',
    '--profiling=false',
    // On SIGTERM, end open watches instead of waiting for their clients (restartApiServer).
    '--shutdown-watch-termination-grace-period=2s',
  ];
  const kcmArgs = [
    `--kubeconfig=${kcmKubeconfig}`,
    `--authentication-kubeconfig=${kcmKubeconfig}`,
    `--authorization-kubeconfig=${kcmKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=0`,
    `--cert-dir=${join(dir, 'controller-manager')}`,
    `--service-account-private-key-file=${join(pki, 'sa.key')}`,
    `--root-ca-file=${caFile}`,
    `--cluster-signing-cert-file=${caFile}`,
    `--cluster-signing-key-file=${join(pki, 'ca.key')}`,
    '--use-service-account-credentials=true',
    '--controllers=*',
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--leader-elect=false',
    '--profiling=false',
  ];

  let stopped = false;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      // Controller manager first, etcd last: each stops while what it talks to is up.
      for (const p of [...procs].reverse()) await stopProcess(p);
      await rm(join(dir, 'state.json'), { force: true });
      log('control plane stopped');
    })();
    return stopping;
  };

  const readyz = async () => (await httpsGet(`${server}/readyz`, pki)).status === 200;
  const writeState = async () => {
    const pids = currentPids();
    const state: ControlPlaneState = {
      server,
      kubeconfig,
      caFile,
      pids,
      starts: Object.fromEntries(Object.values(pids).map((pid) => [String(pid), processStart(pid) ?? ''])),
    };
    await writeFile(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  };
  const currentPids = (): ControlPlanePids => ({
    etcd: byName('etcd').child.pid ?? 0,
    kubeApiserver: byName('kube-apiserver').child.pid ?? 0,
    kubeControllerManager: byName('kube-controller-manager').child.pid ?? 0,
  });

  const kubectl = (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> =>
    run(bin('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { input: opts.input, timeoutMs: opts.timeoutMs, cwd: dir });

  try {
    log(`starting etcd on ${etcdUrl}`);
    procs.push(startProcess('etcd', bin('etcd'), etcdArgs, dir, detached));
    await waitFor(
      'etcd did not become healthy',
      deadline,
      async () => {
        const res = await fetch(`${etcdUrl}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      diedCheck(['etcd']),
    );

    log(`starting kube-apiserver on ${server}`);
    procs.push(startProcess('kube-apiserver', bin('kube-apiserver'), apiArgs, dir, detached));
    await waitFor('kube-apiserver did not become ready', deadline, readyz, diedCheck(['etcd', 'kube-apiserver']));

    log('starting kube-controller-manager');
    procs.push(startProcess('kube-controller-manager', bin('kube-controller-manager'), kcmArgs, dir, detached));
    await waitFor(
      'the default ServiceAccount did not appear (kube-controller-manager)',
      deadline,
      async () => (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, pki)).status === 200,
      diedCheck(['etcd', 'kube-apiserver', 'kube-controller-manager']),
    );
    await writeState();

    for (const crd of options.crds ?? []) {
      log(`applying ${crd}`);
      const applied = await kubectl(['apply', '--server-side', '-f', crd, '-o', 'name']);
      if (applied.code !== 0) throw new Error(`kubectl apply -f ${crd} failed: ${applied.stderr}`);
      const names = applied.stdout.split('\n').filter((line) => line.startsWith('customresourcedefinition'));
      const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names], { timeoutMs: 70_000 });
      if (established.code !== 0) throw new Error(`CRDs of ${crd} not established: ${established.stderr}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  log(`control plane ready: ${server}, kubeconfig ${kubeconfig}`);

  return {
    kubeconfig,
    server,
    caFile,
    dir,
    get pids() {
      return currentPids();
    },
    kubectl,
    async restartApiServer() {
      if (stopped) throw new Error('the control plane is stopped');
      const old = byName('kube-apiserver');
      log('restarting kube-apiserver');
      await stopProcess(old);
      procs.splice(procs.indexOf(old), 1, startProcess('kube-apiserver', bin('kube-apiserver'), apiArgs, dir, detached));
      await waitFor(
        'kube-apiserver did not become ready after a restart',
        Date.now() + (options.timeoutMs ?? 120_000),
        readyz,
        diedCheck(['etcd', 'kube-apiserver']),
      );
      await writeState();
      log('kube-apiserver ready again');
    },
    stop,
  };
}

// ---------------------------------------------------------------------------------------
// Stopping a detached control plane from another process

/** Reads dir/state.json, if a control plane wrote one. */
export async function readState(dir: string): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

/** Whether every process named in the state is still running. */
export function stateIsRunning(state: ControlPlaneState): boolean {
  return Object.values(state.pids).every((pid) => isRunning(pid, state.starts[String(pid)]));
}

/**
 * Stops the processes named in dir/state.json (another process's detached control plane),
 * controller manager first, and waits until they are gone. Returns how many were running.
 */
export async function stopFromState(dir: string, graceMs = 10_000): Promise<number> {
  const state = await readState(dir);
  if (!state) return 0;
  let running = 0;
  for (const pid of [state.pids.kubeControllerManager, state.pids.kubeApiserver, state.pids.etcd]) {
    if (!isRunning(pid, state.starts[String(pid)])) continue;
    running++;
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isRunning(pid) && Date.now() < deadline) await sleep(100);
    killGroup(pid, 'SIGKILL');
    while (isRunning(pid)) await sleep(50);
  }
  await rm(join(dir, 'state.json'), { force: true });
  return running;
}
