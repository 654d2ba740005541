#!/usr/bin/env bash
# npm test: servers present, type-check, lint, then every test of the three projects (unit,
# integration, e2e; see vitest.config.ts). Args go to vitest, e.g. `npm test -- --project unit`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-servers.sh
npx tsc -p tsconfig.json --noEmit
npx eslint .
report="$(mktemp -t headroom-vitest-XXXXXX.json)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line, whatever the runner printed above it.
node -e '
  const fs = require("node:fs");
  const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped > 0 ? `, ${skipped} skipped` : ""));
  // Under CI nothing may be skipped: a skipped test is a check that did not run.
  if (process.env.CI === "true" && skipped > 0) { console.error("CI: skipped tests fail the run"); process.exit(1); }
' "$report" || status=1
exit "$status"
