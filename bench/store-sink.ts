// The acceptor every path ends at: DCMTK storescp with --ignore, which receives each
// C-STORE completely and answers success without writing a file, so the disk is out of
// the measurement. It also answers Verification, which the association-rate loop uses.
// With `fork` it serves each association in a child process, so several run at once
// (the soak benchmark's clients); without, one at a time, the others queued in the backlog.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/harness/ports.ts';
import { start, waitFor, type Running } from '../test/harness/processes.ts';
import { requireProgram } from '../test/harness/tools.ts';

export interface StoreSink {
  port: number;
  aeTitle: string;
  /** The largest P-DATA-TF storescp accepts (-pdu), so the largest storescu sends. */
  maxPdu: number;
  process: Running;
  stop(): Promise<void>;
}

/**
 * `noDelay`: TCP_NODELAY=1 in storescp's environment. DCMTK as Debian builds it leaves
 * Nagle's algorithm on unless told so; a small message then waits for the peer's delayed
 * ACK (about 40 ms each way on Linux), and a run of small C-STOREs measures that wait.
 */
export async function startStoreSink(options: { maxPdu: number; aeTitle?: string; fork?: boolean; noDelay?: boolean; ready: (port: number) => Promise<unknown> }): Promise<StoreSink> {
  const binary = requireProgram('storescp');
  const dir = await mkdtemp(join(tmpdir(), 'dg-bench-storescp-'));
  const port = await freePort();
  const aeTitle = options.aeTitle ?? 'PACS';
  const args = [
    '--ignore',
    '--disable-host-lookup', // a reverse DNS lookup per association is not the proxy's cost
    '--aetitle', aeTitle,
    '--max-pdu', String(options.maxPdu),
    '--output-directory', dir,
    ...(options.fork ? ['--fork'] : []),
    String(port),
  ];
  const proc = start('storescp', binary, args, { cwd: dir, ...(options.noDelay ? { env: { ...process.env, TCP_NODELAY: '1' } } : {}) });
  try {
    await waitFor(`storescp on port ${port}`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`storescp exited ${proc.child.exitCode}: ${proc.output()}`);
      await options.ready(port);
      return true;
    }, 15_000, 100);
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return {
    port,
    aeTitle,
    maxPdu: options.maxPdu,
    process: proc,
    async stop() {
      await proc.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
