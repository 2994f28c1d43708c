// What a process (and its children, for nginx's master and worker) costs, read from
// /proc: resident memory (VmRSS, and its high-water mark VmHWM) and CPU time spent.
import { readFile } from 'node:fs/promises';

/** Linux reports utime/stime in clock ticks; USER_HZ is 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface Memory {
  rssMiB: number;
  peakRssMiB: number;
}

async function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(match[1]);
}

export async function memoryOf(pid: number): Promise<Memory> {
  return { rssMiB: (await statusKiB(pid, 'VmRSS')) / 1024, peakRssMiB: (await statusKiB(pid, 'VmHWM')) / 1024 };
}

/** Direct children (Linux 3.5+ exposes them per thread; the main thread's list is the one forks land in). */
async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** User + system CPU seconds used so far by `pid` and its live children (all threads). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  let total = 0;
  for (const id of [pid, ...(await childrenOf(pid))]) {
    try {
      const stat = await readFile(`/proc/${id}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat(5); here offset by the two before ')'.
      total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      /* exited between the listing and the read */
    }
  }
  return total;
}
