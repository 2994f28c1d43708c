// The thread of parse-thread.ts: parses one config document and posts the answer.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, parseSidecarConfig } from './load.ts';
import type { ParseAnswer, ParseRequest } from './parse-thread.ts';

const { text, source } = workerData as ParseRequest;
let answer: ParseAnswer;
try {
  answer = { config: parseSidecarConfig(text, source) };
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  answer = { problems: error.problems };
}
parentPort!.postMessage(answer);
