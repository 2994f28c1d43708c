// The proxy parses its config in a worker thread that ends once it has answered. The
// parser (yaml, zod and the compiled schema, ~4.6 MiB) then never enters the heap of the
// thread that relays: V8 marks every live byte of that heap on each full collection, and
// relaying 64 KiB reads makes those frequent, so a smaller heap is less CPU per GiB
// relayed (bench/: C-STORE CPU s/GiB). Same parser, same answers: load.ts, in the worker.
import { Worker } from 'node:worker_threads';
import { ConfigError } from './error.ts';
import type { SidecarConfig } from './schema.ts';

/** What the worker posts back: the config with its defaults, or the problems of a ConfigError. */
export type ParseAnswer = { config: SidecarConfig } | { problems: string[] };

export interface ParseRequest {
  text: string;
  source: string;
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js', import.meta.url);

/** parseSidecarConfig (load.ts) in a thread of its own: a ConfigError names every field at fault. */
export function parseSidecarConfigInThread(text: string, source: string): Promise<SidecarConfig> {
  // A small young generation: the thread's memory is not all given back to the system when
  // it ends, and parsing a config needs little (2 MiB: the sidecar's RSS as before).
  const worker = new Worker(WORKER_URL, { workerData: { text, source } satisfies ParseRequest, resourceLimits: { maxYoungGenerationSizeMb: 2 } });
  return new Promise<SidecarConfig>((resolve, reject) => {
    worker.once('message', (answer: ParseAnswer) => {
      if ('problems' in answer) reject(new ConfigError(source, answer.problems));
      else resolve(answer.config);
    });
    // A bug in the parser, not a problem of the document: it surfaces as such.
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the config parser thread exited (code ${code}) without an answer for ${source}`)));
  }).finally(() => void worker.terminate());
}
