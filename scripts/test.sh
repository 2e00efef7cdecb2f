#!/usr/bin/env bash
# The test command (npm test): make sure PostgreSQL and Redis run, run the static checks (npm run lint,
# npm run cycles), run vitest, and end with a plain "N passed, N failed" line in which each check counts
# as one test: a lint finding or an import cycle fails the run like a failing test.
# Extra arguments go to vitest (e.g. a file filter); a filtered run skips the checks unless
# GP_TEST_CHECKS=1, and GP_TEST_CHECKS=0 skips them on a whole run.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh || exit 1
checks=()
if [ "${GP_TEST_CHECKS:-$([ $# -eq 0 ] && echo 1 || echo 0)}" = 1 ]; then
  for check in lint cycles; do
    echo "== npm run $check"
    if npm run -s "$check"; then checks+=("$check=passed"); else checks+=("$check=failed"); fi
  done
fi
out=$(mktemp -t gp-vitest-XXXXXX.json)
trap 'rm -f "$out"' EXIT
node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$out" "$@"
code=$?
node scripts/test-summary.ts "$out" "${checks[@]}" || code=1
exit $code
