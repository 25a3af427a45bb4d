#!/usr/bin/env bash
# Runs every check `make test` promises — lint, typecheck, the vitest suites — and ends with the one line
# CI reads: "N passed, N failed, N skipped", summed over all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
check() {
  local name=$1; shift
  echo "== $name: $*"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "== $name FAILED"; fi
}
check lint npx biome check --error-on-warnings .
check typecheck npx tsc -p tsconfig.json
check build npm run --silent build

mkdir -p reports && rm -f reports/vitest.json
npx vitest run
if [ -s reports/vitest.json ]; then
  read -r p f s < <(node -e 'const r=require("./reports/vitest.json"); console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0) + r.testResults.filter(t => t.status === "failed" && t.assertionResults.length === 0).length, r.numPendingTests + r.numTodoTests)')
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
else
  echo "== vitest wrote no report"; failed=$((failed + 1))
fi
mkdir -p reports
echo "$passed passed, $failed failed, $skipped skipped" | tee reports/summary.txt
[ "$failed" -eq 0 ]
