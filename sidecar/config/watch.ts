// Noticing that files changed: the config, and the files it points to (certificates,
// htpasswd, JWKS). Kubernetes updates a mounted ConfigMap or Secret by swapping a
// "..data" symlink in the directory, which replaces the file rather than writing to it,
// so the parent directory is watched, and a slow poll backs fs.watch up on file systems
// where it says nothing. Callers compare contents; a notification is only a hint.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

export function watchFiles(paths: readonly string[], onChange: () => void, options: { pollMs?: number; debounceMs?: number } = {}): FileWatch {
  const pollMs = options.pollMs ?? 2000;
  const debounceMs = options.debounceMs ?? 100;
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const byDirectory = new Map<string, Set<string>>();
  for (const path of paths) {
    const names = byDirectory.get(dirname(path)) ?? new Set<string>();
    names.add(basename(path));
    byDirectory.set(dirname(path), names);
  }
  for (const [directory, names] of byDirectory) {
    try {
      const watcher = watch(directory, { persistent: false }, (_event, name) => {
        if (name === null || names.has(name) || name.startsWith('..')) changed();
      });
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // The directory may not exist yet (a Secret not mounted); the poll covers it.
    }
  }
  const fingerprints = new Map<string, string>();
  const poll = async () => {
    let different = false;
    for (const path of paths) {
      const fingerprint = await stat(path).then(
        (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
        () => 'missing',
      );
      if (fingerprints.has(path) && fingerprints.get(path) !== fingerprint) different = true;
      fingerprints.set(path, fingerprint);
    }
    if (different) changed();
  };
  void poll();
  const interval = setInterval(() => void poll(), pollMs);
  interval.unref();
  return {
    close() {
      clearInterval(interval);
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
