#!/usr/bin/env bash
# The project's one test command (README, .ci/run): install what the tests need on a
# fresh machine (skipped when present), then typecheck, lint and run every test file.
# Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
if ! bash test/setup/install.sh; then
  echo "test setup failed: see the messages above (bash test/setup/install.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi
exec node test/run.ts "$@"
