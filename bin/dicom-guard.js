#!/usr/bin/env node
// Entry point of the installed command; the TypeScript sources are compiled to dist/
// by `npm ci` (the prepare script) and by the image build.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  console.error(`dicom-guard needs Node.js 22 or later (this is ${process.version}); in this repository, run it through npm/npx so the pinned Node.js 24 is used`);
  process.exit(1);
}
await import('../dist/cmd/dicom-guard.js');
