#!/usr/bin/env bash
# The one test command (README: `npm test`). Type-checks, then runs every test file with
# node's test runner. Files are expanded by bash (globstar): node 20 finds no .ts tests from
# a directory or a quoted glob.
set -euo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."
echo "typecheck: tsc --noEmit"
npx tsc --noEmit
files=(test/**/*.test.ts packages/*/test/**/*.test.ts)
if [ "$#" -gt 0 ]; then files=("$@"); fi
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# --test-force-exit: a test file whose tests are done but whose handles stay open (a client still
# reconnecting to a killed server) must not hold the run. scripts/blocking-stdout.mjs: without it
# that forced exit can drop a file's last results on their way to the runner (nodejs/node#64833).
exec node --import tsx --import ./scripts/blocking-stdout.mjs --test --test-reporter=spec --test-concurrency=2 --test-force-exit "${files[@]}"
