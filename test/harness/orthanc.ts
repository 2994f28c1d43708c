// Orthanc from Debian as the PACS behind the sidecar: its own config file, a throwaway
// database, free ports; its REST API (loopback only) tells what it stored.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { requireProgram } from './tools.ts';
import { GaveUp, start, waitFor, type Running } from './processes.ts';

export interface Orthanc {
  dicomPort: number;
  httpPort: number;
  aeTitle: string;
  dir: string;
  process: Running;
  /** Instances stored so far (GET /statistics). */
  countInstances(): Promise<number>;
  rest(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startOrthanc(options: { aeTitle?: string; extra?: Record<string, unknown> } = {}): Promise<Orthanc> {
  const binary = requireProgram('Orthanc');
  const dir = await mkdtemp(join(tmpdir(), 'dg-orthanc-'));
  const dicomPort = await freePort();
  const httpPort = await freePort();
  const aeTitle = options.aeTitle ?? 'PACS';
  const config = {
    Name: 'dicom-guard-test',
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    Plugins: [],
    HttpServerEnabled: true,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomServerEnabled: true,
    DicomAet: aeTitle,
    DicomPort: dicomPort,
    DicomCheckCalledAet: true,
    DicomAlwaysAllowEcho: true,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowFind: true,
    DicomAlwaysAllowGet: true,
    DicomModalities: {},
    SaveJobs: false,
    StableAge: 1,
    ...options.extra,
  };
  const configFile = join(dir, 'orthanc.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const proc = start('orthanc', binary, [configFile], { cwd: dir, logFile: join(dir, 'orthanc.log') });
  const rest = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${httpPort}${path}`);
    if (!response.ok) throw new Error(`Orthanc ${path}: HTTP ${response.status}`);
    return response.json() as Promise<unknown>;
  };
  try {
    await waitFor('Orthanc REST API', async () => {
      if (proc.child.exitCode !== null) throw new GaveUp(`Orthanc exited: ${proc.output().slice(-2000)}`);
      return (await rest('/system')) as object;
    }, 30_000, 100);
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return {
    dicomPort,
    httpPort,
    aeTitle,
    dir,
    process: proc,
    rest,
    async countInstances() {
      const statistics = (await rest('/statistics')) as { CountInstances: number };
      return statistics.CountInstances;
    },
    async stop() {
      await proc.stop('SIGTERM', 10_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
