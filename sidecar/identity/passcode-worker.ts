// One thread of the passcode pool (passcode-pool.ts): verifies a passcode against a
// bcrypt or argon2id hash. The answer is a boolean; the passcode never leaves this
// thread any other way.
import { parentPort } from 'node:worker_threads';
import { argon2Verify, bcryptVerify } from 'hash-wasm';
import type { PasscodeCheck, PasscodeCheckResult } from './passcode-pool.ts';

async function check({ id, scheme, hash, passcode }: PasscodeCheck): Promise<PasscodeCheckResult> {
  try {
    const ok = scheme === 'bcrypt' ? await bcryptVerify({ password: passcode, hash }) : await argon2Verify({ password: passcode, hash });
    return { id, ok };
  } catch (error) {
    // hash-wasm's messages describe the hash, never the passcode; keep only the class.
    return { id, ok: false, failure: error instanceof Error ? error.name : 'unknown error' };
  }
}

parentPort!.on('message', (job: PasscodeCheck) => {
  void check(job).then((result) => parentPort!.postMessage(result));
});
