#!/usr/bin/env node
// Entry point of the installed command and of the image (ENTRYPOINT node bin/dicom-guard.js);
// the TypeScript sources are compiled to dist/ by `npm ci` (the prepare script) and by the
// image build.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  console.error(`dicom-guard needs Node.js 22 or later (this is ${process.version}); in this repository, run it through npm/npx so the pinned Node.js 24 is used`);
  process.exit(1);
}

// V8 takes heap sizes only at start and Node.js refuses some of them in NODE_OPTIONS, so
// the commands below restart themselves with their flags, in place (execve: same process,
// nothing loaded yet). A flag given on the command line or in NODE_OPTIONS wins.
//
// sidecar: it relays with 64 KiB socket reads, each a new buffer that only a garbage
// collection frees. V8 sets the old generation's limit from the live heap (~10 MiB here),
// so relaying made it collect the whole heap ~30 times per GiB. A floor of 64 MiB under
// that limit leaves ~6, and takes the CPU per GiB of C-STORE from ~2.0 to ~1.2 s (plain)
// and from 3.2 to 2.4 s (TLS). The young generation, left to grow to V8's default, kept
// the memory of 1000 idle associations climbing with each batch opened and released
// (111, 128, 160 MiB); capped at 4 MiB a semi-space it stays at ~105 MiB, for ~8% more
// CPU per GiB than the floor alone (bench/, each against the same build without it).
//
// operator: V8 sizes the young generation from the memory it sees (the whole host outside
// a pod), and the informers' lists and watch events are short-lived garbage that fills
// whatever it is given before a scavenge. Capped at 4 MiB a semi-space, the peak RSS of
// the operator at scale, unconstrained on a 23.5 GiB host (npm run bench:operator
// --memory-limit none: 1000 policies, 5000 pods), went from 451 to 317 MiB for the same
// CPU (261 MiB once the informers also dropped list pages as they arrived).
const NODE_FLAGS = {
  sidecar: ['--initial-old-space-size=64', '--max-semi-space-size=4'],
  operator: ['--max-semi-space-size=4'],
};
const flags = Object.hasOwn(NODE_FLAGS, process.argv[2] ?? '') ? NODE_FLAGS[process.argv[2]] : undefined;
const givenFlags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((arg) => arg.split('=')[0]);
const given = (flag) => givenFlags.includes(flag.split('=')[0]);
if (flags && typeof process.execve === 'function' && !flags.every(given)) {
  try {
    process.execve(process.execPath, [process.execPath, ...flags.filter((flag) => !given(flag)), ...process.execArgv, ...process.argv.slice(1)]);
  } catch (error) {
    // Not fatal: the command works without the flags, only at a higher cost.
    console.error(`dicom-guard: could not restart with ${flags.join(' ')} (${error.message}); running without`);
  }
}

await import('../dist/cmd/dicom-guard.js');
