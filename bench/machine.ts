// What the figures were measured on: the programs' versions and the machine, recorded
// next to the results because a ratio means little without them.
import { cpus, totalmem, release, availableParallelism, loadavg } from 'node:os';
import { execFile } from 'node:child_process';
import { requireProgram } from '../test/harness/tools.ts';

export interface Machine {
  versions: { node: string; nginx: string; dcmtk: string; kernel: string };
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  /** 1-, 5- and 15-minute load averages when the run started: other work on the machine skews wall times. */
  loadAverage: number[];
  note: string;
}

/** Load averages, rounded; above the number of cores, other work is competing with the benchmark. */
export function loadAverage(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

/**
 * The version a program prints. execFile with stdin closed: these programs exit at once,
 * and writing to their stdin (as the harness's run() does) can then fail with EPIPE.
 */
async function versionLine(program: string, args: string[], pattern: RegExp): Promise<string> {
  const output = await new Promise<string>((resolve) => {
    const child = execFile(requireProgram(program), args, { timeout: 10_000 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
    child.stdin?.destroy();
  });
  return pattern.exec(output)?.[1] ?? `unknown (${output.trim().split('\n')[0]})`;
}

export async function describeMachine(): Promise<Machine> {
  const cores = availableParallelism();
  return {
    versions: {
      node: process.version,
      nginx: await versionLine('nginx', ['-v'], /nginx\/(\S+)/),
      dcmtk: await versionLine('storescp', ['--version'], /v(\d+\.\d+\.\d+)/),
      kernel: release(),
    },
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: loadAverage(),
    note:
      cores <= 2
        ? `${cores} cores: the client, the proxy and the sink compete for them, so a proxy's CPU time is taken from the client and the sink; with a core to spare the proxied paths would come closer to direct`
        : `${cores} cores`,
  };
}
