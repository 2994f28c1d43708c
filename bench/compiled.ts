// The benchmarks run the sidecar the way it is deployed: `node bin/dicom-guard.js sidecar`,
// the image's entry point (which restarts itself with the sidecar's V8 flag), over the
// compiled JavaScript in dist/ (`npm run build`, as the image does); not the .ts sources
// through Node's type stripping, which keeps several MiB of its own in the heap and so
// changes how often V8 collects. dist/ is rebuilt first when any source is newer.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../test/harness/processes.ts';
import { NODE, ROOT } from '../test/harness/tools.ts';

/** `dicom-guard` as the image runs it (ENTRYPOINT node bin/dicom-guard.js). */
export const LAUNCHER = join(ROOT, 'bin', 'dicom-guard.js');
/** The compiled command itself, without the launcher (and so without its node flags). */
export const COMPILED_CLI = join(ROOT, 'dist', 'cmd', 'dicom-guard.js');

/** The folders tsconfig.build.json compiles. */
const SOURCES = ['cmd', 'sidecar', 'operator'];

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(path)).mtimeMs);
  }
  return newest;
}

async function builtAt(): Promise<number> {
  try {
    return (await stat(COMPILED_CLI)).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Build dist/ (tsc -p tsconfig.build.json) unless it is newer than every source; returns
 * what was done. tsc emits JavaScript even when a type check fails; such errors (work in
 * progress elsewhere in the tree, say) are reported, and the run goes on only if none of
 * them is in the sidecar's own code.
 */
export async function ensureCompiled(): Promise<string> {
  const sources = Math.max(...(await Promise.all(SOURCES.map((dir) => newestSource(join(ROOT, dir))))), (await stat(join(ROOT, 'tsconfig.build.json'))).mtimeMs);
  if ((await builtAt()) > sources) return 'dist/ is up to date';
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(NODE, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, timeoutMs: 300_000 });
  if (result.code === 0) return 'dist/ was stale: rebuilt with tsc -p tsconfig.build.json';
  const errors = result.output.split('\n').filter((line) => /error TS\d+/.test(line));
  if (errors.length === 0 || errors.some((line) => /^(cmd|sidecar)\//.test(line)) || (await builtAt()) <= sources) {
    throw new Error(`tsc -p tsconfig.build.json failed (${result.code}): ${result.output.slice(-3000)}`);
  }
  return `dist/ was stale: rebuilt, with type errors outside the sidecar (${errors.length}, first: ${errors[0]})`;
}
