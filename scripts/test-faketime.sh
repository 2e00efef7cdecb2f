#!/usr/bin/env bash
# The date-sensitive tests once more under libfaketime (Debian's faketime), with the clock moved to
# another month and year (GP_FAKETIME, default the last minutes of 2029: a day, week, month and year
# boundary), so no test can depend on the day it runs. PostgreSQL keeps the real clock: the tests must
# not mix the two, and the services tests start themselves (a throwaway redis-server) run on the real
# clock too (test/helpers/env.ts serviceEnv). `--all` runs every test on the moved clock. Ends with
# "N passed, N failed" like npm test. Extra arguments go to vitest.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v faketime >/dev/null || { echo "faketime not found: apt-get install faketime" >&2; echo "0 passed, 1 failed"; exit 1; }
bash scripts/services.sh || exit 1
when="${GP_FAKETIME:-@2029-12-31 23:58:00}"
out=$(mktemp -t gp-vitest-faketime-XXXXXX.json)
trap 'rm -f "$out"' EXIT
files=(test/integration/aggregates test/integration/state/cleanup.test.ts test/integration/ordering test/integration/cli/analytics-cli.test.ts test/unit)
if [ "${1:-}" = --all ]; then files=(); shift; fi
# Only the test processes run on the fake clock (services.sh above runs on the real one); monotonic
# time stays real so timers and timeouts behave.
FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$when" node_modules/.bin/node node_modules/vitest/vitest.mjs run \
  --reporter=default --reporter=json --outputFile.json="$out" "${files[@]}" "$@"
code=$?
node_modules/.bin/node scripts/test-summary.ts "$out" || code=1
exit $code
