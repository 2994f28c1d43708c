// Runs the typecheck, the lint and every *.test.ts file (each in its own Node.js
// process, so a crash or a hang is one failure, not a lost run) and prints the closing
// line "N passed, N failed" summed over all of them. Arguments filter test files by
// substring: `npm test -- sidecar/wire`.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

interface Outcome {
  name: string;
  passed: number;
  failed: number;
  output: string;
  seconds: number;
}

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2);
const searchRoots = ['sidecar', 'operator', 'test', 'bench', 'cmd'];
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_SECONDS ?? 900) * 1000;
// Files under these folders start real servers; they run one at a time so that their
// timers (ARTIM, idle) are not distorted by a loaded machine.
const serialFolders = ['test/'];

async function findTestFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await findTestFiles(path)));
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

function run(name: string, command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[test runner] ${name} did not finish within ${timeoutMs / 1000} s; killed\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** uvu prints "Total: N / Passed: N / Skipped: N" when a file's suites finish. */
function countUvu(output: string): { total: number; passed: number; skipped: number } | undefined {
  const total = /Total:\s+(\d+)/.exec(output);
  const passed = /Passed:\s+(\d+)/.exec(output);
  const skipped = /Skipped:\s+(\d+)/.exec(output);
  if (!total || !passed) return undefined;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: Number(skipped?.[1] ?? 0) };
}

async function runTestFile(file: string): Promise<Outcome> {
  const result = await run(file, process.execPath, [file], fileTimeoutMs);
  const counts = countUvu(result.output);
  let passed = counts?.passed ?? 0;
  let failed = counts ? counts.total - counts.passed : 0;
  // A skipped test is not a passed one (honest tests): it counts as a failure.
  if (counts && counts.skipped > 0) result.output += `\n[test runner] ${counts.skipped} skipped test(s) in ${file} count as failed\n`;
  if (result.code !== 0 && failed === 0) failed = 1; // crashed, hung or exited non-zero
  if (!counts && result.code === 0) {
    failed = 1;
    passed = 0;
    result.output += `\n[test runner] ${file} ran no uvu tests\n`;
  }
  return { name: file, passed, failed, output: result.output, seconds: result.seconds };
}

async function runCheck(name: string, command: string, args: string[]): Promise<Outcome> {
  const result = await run(name, command, args, fileTimeoutMs);
  const ok = result.code === 0;
  return { name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, output: result.output, seconds: result.seconds };
}

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.max(1, width) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

function report(outcome: Outcome): void {
  const mark = outcome.failed === 0 ? 'ok  ' : 'FAIL';
  console.log(`${mark} ${outcome.name}  (${outcome.passed} passed, ${outcome.failed} failed, ${outcome.seconds.toFixed(1)} s)`);
  if (outcome.failed > 0 || process.env.TEST_VERBOSE) console.log(outcome.output.replace(/^/gm, '     | '));
}

const outcomes: Outcome[] = [];
const record = (outcome: Outcome) => {
  outcomes.push(outcome);
  report(outcome);
};

const all = (await Promise.all(searchRoots.map(findTestFiles))).flat().map((f) => relative('.', f));
const files = filters.length ? all.filter((f) => filters.some((x) => f.includes(x))) : all;

if (!filters.length) {
  const bin = (tool: string) => join(root, 'node_modules', '.bin', tool);
  record(await runCheck('typecheck (tsc)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']));
  record(await runCheck('lint (eslint)', bin('eslint'), ['.']));
}

const serial = files.filter((f) => serialFolders.some((p) => f.startsWith(p)));
const parallel = files.filter((f) => !serial.includes(f));
await pool(parallel, Math.min(4, availableParallelism()), async (file) => record(await runTestFile(file)));
await pool(serial, 1, async (file) => record(await runTestFile(file)));

const passed = outcomes.reduce((n, o) => n + o.passed, 0);
const failed = outcomes.reduce((n, o) => n + o.failed, 0);
if (failed > 0) console.log(`\nfailed: ${outcomes.filter((o) => o.failed > 0).map((o) => o.name).join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
