// pynetdicom as a second, independent DICOM client (test/python/scu.py), held open so a
// test can act while an association is established.
import { accessSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { start, type Running } from './processes.ts';
import { PYTHON, ROOT } from './tools.ts';

export interface ScuOptions {
  aet?: string;
  aec?: string;
  contexts?: number;
  maxPdu?: number;
  sourceAddress?: string;
  identityType?: number;
  primary?: string;
  secondary?: string;
  primaryFile?: string;
  positiveResponse?: boolean;
  timeoutSeconds?: number;
  tls?: { ca: string; cert?: string; key?: string; serverName?: string };
}

export type ScuAnswer = Record<string, unknown> & { event: string };

export interface Scu {
  send(command: string): Promise<ScuAnswer>;
  process: Running;
  close(): Promise<void>;
}

export function startScu(port: number, options: ScuOptions = {}, host = '127.0.0.1'): Scu {
  try {
    accessSync(PYTHON);
  } catch {
    throw new Error(`pynetdicom venv missing at ${PYTHON}; install the test dependencies with: bash test/setup/install.sh`);
  }
  const args = [join(ROOT, 'test', 'python', 'scu.py'), host, String(port), '--aet', options.aet ?? 'PYSCU', '--aec', options.aec ?? 'PACS'];
  if (options.contexts) args.push('--contexts', String(options.contexts));
  if (options.maxPdu !== undefined) args.push('--max-pdu', String(options.maxPdu));
  if (options.sourceAddress) args.push('--source-address', options.sourceAddress);
  if (options.identityType) args.push('--identity-type', String(options.identityType));
  if (options.primary) args.push('--primary', options.primary);
  if (options.secondary) args.push('--secondary', options.secondary);
  if (options.primaryFile) args.push('--primary-file', options.primaryFile);
  if (options.positiveResponse) args.push('--positive-response');
  if (options.timeoutSeconds) args.push('--timeout', String(options.timeoutSeconds));
  if (options.tls) {
    args.push('--tls-ca', options.tls.ca, '--tls-server-name', options.tls.serverName ?? 'localhost');
    if (options.tls.cert) args.push('--tls-cert', options.tls.cert, '--tls-key', options.tls.key ?? '');
  }
  const proc = start('pynetdicom', PYTHON, args, { stdin: 'pipe' });
  const child = proc.child;
  const stdin = child.stdin;
  const lines = createInterface({ input: child.stdout! });
  const pending: ((answer: ScuAnswer) => void)[] = [];
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    pending.shift()?.(JSON.parse(line) as ScuAnswer);
  });
  return {
    process: proc,
    send(command) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pynetdicom gave no answer to "${command}":\n${proc.output()}`)), 60_000);
        pending.push((answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
        stdin!.write(`${command}\n`);
      });
    },
    async close() {
      stdin?.end('quit\n');
      await proc.stop('SIGTERM', 3000);
    },
  };
}
