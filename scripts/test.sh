#!/usr/bin/env bash
# npm test: servers present, type-check, then every test (args go to vitest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-servers.sh
npx tsc -p tsconfig.json --noEmit
status=0
npx vitest run "$@" || status=$?
exit "$status"
