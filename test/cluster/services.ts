// Programs that outlive the command that started them, next to a detached control plane:
// the operator (`npm run cluster:up`), the demo's PACS and sidecar. Their pids (and start
// times, so a reused pid is never killed) are kept in DIR/services.json, and
// `npm run cluster:down` stops them before the control plane.
import { openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, killGroup, processStart } from './control-plane.ts';

interface ServiceRecord {
  pid: number;
  start: string | undefined;
  command: string;
  log: string;
}

type Services = Record<string, ServiceRecord>;

const file = (dir: string) => join(dir, 'services.json');

async function read(dir: string): Promise<Services> {
  try {
    return JSON.parse(await readFile(file(dir), 'utf8')) as Services;
  } catch {
    return {};
  }
}

/** Start `command` in its own process group, detached, output to `log`; remembered under `name`. */
export async function startService(dir: string, name: string, command: string, args: string[], log: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  await stopService(dir, name);
  const fd = openSync(log, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env });
  child.unref();
  const pid = child.pid!;
  const services = await read(dir);
  services[name] = { pid, start: processStart(pid), command: [command, ...args].join(' '), log };
  await writeFile(file(dir), JSON.stringify(services, null, 2));
  return pid;
}

async function stopPid(record: ServiceRecord, graceMs: number): Promise<boolean> {
  if (!isRunning(record.pid, record.start)) return false;
  killGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(record.pid) && Date.now() < deadline) await sleep(100);
  killGroup(record.pid, 'SIGKILL');
  return true;
}

export async function stopService(dir: string, name: string, graceMs = 15_000): Promise<boolean> {
  const services = await read(dir);
  const record = services[name];
  if (!record) return false;
  const stopped = await stopPid(record, graceMs);
  const rest = Object.fromEntries(Object.entries(services).filter(([n]) => n !== name));
  await writeFile(file(dir), JSON.stringify(rest, null, 2));
  return stopped;
}

/** Stop every remembered service, last started first. Returns how many were running. */
export async function stopServices(dir: string, graceMs = 15_000): Promise<number> {
  const services = await read(dir);
  let stopped = 0;
  for (const name of Object.keys(services).reverse()) if (await stopPid(services[name]!, graceMs)) stopped++;
  await writeFile(file(dir), '{}').catch(() => undefined);
  return stopped;
}

export async function runningServices(dir: string): Promise<string[]> {
  const services = await read(dir);
  return Object.entries(services)
    .filter(([, r]) => isRunning(r.pid, r.start))
    .map(([name]) => name);
}
