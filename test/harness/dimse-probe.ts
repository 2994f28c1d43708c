// One run of test/python/dimse_probe.py: pynetdicom sending a single DIMSE message the
// way an attacker would (wrong presentation context, refused or unproposed context ID,
// split command set), answered with what came back. Independent of the sidecar's codec.
import { accessSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes.ts';
import { PYTHON, ROOT } from './tools.ts';

export type ProbeName =
  | 'echo'
  | 'store'
  | 'find'
  | 'move'
  | 'store-on-verification'
  | 'move-on-find'
  | 'find-on-storage'
  | 'pdata-on-refused-context'
  | 'pdata-on-unproposed-context'
  | 'split-command'
  | 'split-command-store-on-verification'
  | 'get'
  | 'store-on-get-context';

export interface ProbeOptions {
  aet: string;
  aec?: string;
  host?: string;
  /** The instance to store; for find, move and get, its study is the one asked for. */
  file?: string;
  studyUid?: string;
  moveDestination?: string;
  /** Cut the command set into PDVs of this many bytes, each in its own P-DATA-TF. */
  fragment?: number;
  contextId?: number;
  timeoutSeconds?: number;
  /** pynetdicom's debug log on stderr (ends up in assertion messages). */
  debug?: boolean;
}

export interface ProbeContext {
  id: number;
  abstractSyntax: string;
  /** PS3.8 Table 9-18: 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes not supported. */
  result: number;
  transferSyntax: string | null;
  scuRole: boolean | null;
  scpRole: boolean | null;
}

export interface ProbeResult {
  probe: ProbeName;
  established: boolean;
  rejected: { result: number; source: number; reason: number } | null;
  contexts: ProbeContext[];
  sent: { command: string; commandField: number; sopClass: string; contextId: number; commandBytes?: number; commandFragments?: number; datasetBytes?: number } | null;
  outcome: 'response' | 'aborted' | 'closed' | 'timeout' | 'not-established' | 'not-sent';
  /** The final DIMSE status (PS3.7 Annex C), when a response came. */
  status: number | null;
  statuses: number[];
  /** The A-ABORT PDU received: source 0 service user, 2 service provider (PS3.8 Table 9-26). */
  abort: { source: number; reason: number } | null;
  released: boolean;
  /** The client's TCP port: the audit record's source.port. */
  localPort?: number | null;
  /** get only. */
  instancesReceived?: number;
  instances?: string[];
  numberOfCompletedSuboperations?: number;
  numberOfFailedSuboperations?: number;
  error?: string;
  /** The probe's stderr (pynetdicom's log with --debug, Python errors), for assertion messages. */
  output: string;
}

/** Run one probe against host:port and return its JSON line, parsed. */
export async function runProbe(probe: ProbeName, port: number, options: ProbeOptions): Promise<ProbeResult> {
  try {
    accessSync(PYTHON);
  } catch {
    throw new Error(`pynetdicom venv missing at ${PYTHON}; install the test dependencies with: bash test/setup/install.sh`);
  }
  const timeout = options.timeoutSeconds ?? 10;
  const args = [join(ROOT, 'test', 'python', 'dimse_probe.py'), options.host ?? '127.0.0.1', String(port), '--probe', probe, '--aet', options.aet, '--aec', options.aec ?? 'PACS', '--timeout', String(timeout)];
  if (options.file) args.push('--file', options.file);
  if (options.studyUid) args.push('--study-uid', options.studyUid);
  if (options.moveDestination) args.push('--move-destination', options.moveDestination);
  if (options.fragment) args.push('--fragment', String(options.fragment));
  if (options.contextId) args.push('--context-id', String(options.contextId));
  if (options.debug) args.push('--debug');
  // The probe has its own watchdog at 3 x timeout + 5 s; this one is for Python itself.
  const result = await run(PYTHON, args, { timeoutMs: (4 * timeout + 15) * 1000 });
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`dimse_probe.py ${probe} printed no JSON (exit ${result.code}):\n${result.output}`);
  const parsed = JSON.parse(line) as Omit<ProbeResult, 'output'>;
  if (parsed.error && parsed.outcome === null) throw new Error(`dimse_probe.py ${probe} failed: ${parsed.error}\n${result.output}`);
  return { ...parsed, output: result.stderr };
}

/** The probe's JSON (and its stderr, if any) for assertion messages. */
export function describeProbe(result: ProbeResult): string {
  const { output, ...rest } = result;
  return output.trim() ? `${JSON.stringify(rest)}\n${output.slice(-3000)}` : JSON.stringify(rest);
}
