// Where the real programs are, and a clear failure naming the install command when one
// is missing (tests never skip silently).
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const NODE = process.execPath;
export const PYTHON = join(ROOT, '.local', 'venv', 'bin', 'python');
export const CLI = join(ROOT, 'cmd', 'dicom-guard.ts');

const INSTALL = 'bash test/setup/install.sh (run by npm test)';

export function requireProgram(path: string): string {
  const candidates = path.includes('/') ? [path] : (process.env.PATH ?? '').split(':').map((dir) => join(dir, path));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  throw new Error(`${path} is not installed; install the test dependencies with: ${INSTALL}`);
}
