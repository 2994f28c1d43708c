// A memory cgroup to run a process in, as a pod's `resources.limits.memory` does: the
// kernel enforces the limit, and Node.js sizes V8's heap from it (process.constrainedMemory;
// outside a cgroup V8 sizes it from the whole host, and collects accordingly late). The
// bench runs the operator so to measure it as the chart deploys it.
//
// cgroup v1 (the memory controller's own hierarchy) and v2 (the unified one, when the
// memory controller is enabled for our cgroup's children) are both handled; creating a
// child cgroup needs write access to ours (root, or a delegated subtree). When that is
// not possible the reason is returned, and the caller reports the run as unconstrained.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  readonly path: string;
  readonly limitBytes: number;
  /** A command line that joins the cgroup, then becomes `command args` (same pid: sh execs it). */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Removes the cgroup (once the processes in it have exited). */
  remove(): void;
}

/** Where our memory cgroup is, from /proc/self/cgroup: v1 "N:memory:/path", v2 "0::/path". */
function ownMemoryCgroup(): { dir: string; version: 1 | 2 } | string {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'));
  if (v1) {
    const dir = join('/sys/fs/cgroup/memory', v1.split(':').slice(2).join(':'));
    return existsSync(join(dir, 'memory.limit_in_bytes')) ? { dir, version: 1 } : `no cgroup v1 memory controller at ${dir}`;
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (!v2) return 'no memory cgroup in /proc/self/cgroup';
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const dir = join(root, v2.slice(3));
    if (!existsSync(join(dir, 'cgroup.subtree_control'))) continue;
    if (!readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory')) return `the memory controller is not enabled for the children of ${dir}`;
    return { dir, version: 2 };
  }
  return 'no cgroup v2 hierarchy with our cgroup in it';
}

/** A child of our memory cgroup limited to `limitBytes`, or why there cannot be one here. */
export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup | string {
  const own = ownMemoryCgroup();
  if (typeof own === 'string') return own;
  const path = join(own.dir, name);
  try {
    if (!existsSync(path)) mkdirSync(path);
    writeFileSync(join(path, own.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
  } catch (error) {
    return `could not create the memory cgroup ${path}: ${error instanceof Error ? error.message : String(error)}`;
  }
  return {
    path,
    limitBytes,
    wrap: (command, args) => ({ command: '/bin/sh', args: ['-c', `echo $$ > '${join(path, 'cgroup.procs')}' && exec "$0" "$@"`, command, ...args] }),
    remove() {
      try {
        rmdirSync(path);
      } catch {
        // still in use, or already gone: left for the next run, which reuses it
      }
    },
  };
}
