// DCMTK command-line clients (Debian dcmtk 3.6.7): echoscu, storescu, findscu, ...
import { requireProgram } from './tools.ts';
import { run } from './processes.ts';

export interface ClientResult {
  code: number | string;
  output: string;
}

/** Run a DCMTK tool against host:port; `args` come before host and port. */
export async function dcmtk(tool: 'echoscu' | 'storescu' | 'findscu' | 'movescu' | 'getscu', args: readonly string[], port: number, host = '127.0.0.1', trailing: readonly string[] = [], timeoutMs = 120_000): Promise<ClientResult> {
  const binary = requireProgram(tool);
  const result = await run(binary, [...args, host, String(port), ...trailing], { timeoutMs });
  return { code: result.code, output: result.output };
}
