// Child processes of a test: started in their own process group, output kept in
// memory (and in a log file when asked), all killed when the test process exits,
// however it exits.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

const running = new Set<Running>();
let hooked = false;

function killAll(): void {
  for (const r of running) {
    try {
      process.kill(-r.child.pid!, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

export function start(name: string, command: string, args: readonly string[], options: SpawnOptions & { logFile?: string; stdin?: 'pipe' | 'ignore' } = {}): Running {
  if (!hooked) {
    hooked = true;
    process.on('exit', killAll);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        killAll();
        process.exit(1);
      });
    }
  }
  const child = spawn(command, args, { ...options, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const log = options.logFile ? createWriteStream(options.logFile) : undefined;
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    log?.write(chunk);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | string>((resolve) => {
    child.on('error', (error) => {
      output += `\n[harness] cannot start ${command}: ${error.message}\n`;
      resolve('spawn-error');
    });
    child.on('close', (code, signal) => {
      log?.end();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const handle: Running = {
    name,
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          /* gone */
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(handle);
      return exited;
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Run to completion; never throws for a non-zero exit. */
export async function run(command: string, args: readonly string[], options: SpawnOptions & { timeoutMs?: number; input?: string } = {}): Promise<{ code: number | string; stdout: string; stderr: string; output: string }> {
  const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    output += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    output += c.toString();
  });
  // A program may exit without reading its input; that EPIPE is not the test's concern.
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const code = await new Promise<number | string>((resolve) => {
    child.on('error', (error) => {
      stderr += `cannot run ${command}: ${error.message}`;
      resolve('spawn-error');
    });
    child.on('close', (c, signal) => resolve(c ?? signal ?? 'unknown'));
  });
  clearTimeout(timer);
  return { code, stdout, stderr, output };
}

/** Thrown by a `waitFor` check to stop waiting at once: what it waits for cannot happen any more. */
export class GaveUp extends Error {}

/** Poll until `check` returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof GaveUp) throw error;
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}
