#!/usr/bin/env bash
# The test command (npm test): make sure PostgreSQL and Redis run, run vitest, and end with a plain
# "N passed, N failed" line. Extra arguments go to vitest (e.g. a file filter).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh || exit 1
out=$(mktemp -t gp-vitest-XXXXXX.json)
trap 'rm -f "$out"' EXIT
node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$out" "$@"
code=$?
node scripts/test-summary.ts "$out" || code=1
exit $code
