#!/usr/bin/env bash
# Package gates, run by .ci/run after the tests (and by `npm run check:package`):
#   1 build         tsup: ESM + CJS + .d.ts/.d.cts for every subpath export
#   2 types         tsc --noEmit, strict (tsconfig.json)
#   3 lint          biome check .
#   4 publint       the package.json exports/files against dist/ (--strict: warnings fail)
#   5 attw          @arethetypeswrong/cli on the packed tarball: ESM, CJS and types resolve
#                   for every subpath, under node10 too (a TypeScript 5 CommonJS project's
#                   default resolution, which reads "typesVersions", not "exports")
#   6 smoke         npm pack -> install the tarball in a fresh temp project (scripts/smoke)
#                   with no optional peer: zod must be its only dependency installed -> a
#                   signed webhook + a send from both `import` and `require`, against a
#                   127.0.0.1 server; 'vonage-sdk' must name what to install. Then msw and
#                   vitest are linked and the testing subpaths built on them are loaded.
#   7 size          gzip size of the root entry and what it imports; fails if a database
#                   client, msw, vitest or @opentelemetry/* is reachable from it (scripts/check-size.mjs)
# Each step stops the script at its first failure with the step's name.
#   SKIP_BUILD=1   reuse dist/ (when the caller just built it)
#   KEEP_SMOKE=1   keep the temp project for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n== check-package: %s\n' "$1"; CURRENT="$1"; }
CURRENT=start
trap 'status=$?; if [ $status -ne 0 ]; then printf "\ncheck-package FAILED at step: %s (exit %s)\n" "$CURRENT" "$status" >&2; fi' EXIT

step "1/7 build (tsup)"
if [ "${SKIP_BUILD:-}" != 1 ]; then npm run build --silent >/tmp/check-package-build.log 2>&1 || { tail -40 /tmp/check-package-build.log >&2; exit 1; }; fi
for f in index redis postgres sqlite d1 testing testing-stores testing-msw otel; do
  for ext in js cjs d.ts d.cts; do
    [ -f "dist/$f.$ext" ] || { echo "missing dist/$f.$ext: tsup.config.ts entries and package.json exports disagree" >&2; exit 1; }
  done
done
for f in cli.js playground.js; do
  [ -f "dist/$f" ] || { echo "missing dist/$f: the bin (npx vonage-messenger) and its chat page script" >&2; exit 1; }
done
for f in worker worker-d1; do [ -f "dist/$f.js" ] || { echo "missing dist/$f.js: the Workers build (tsup.worker.config.ts) did not run" >&2; exit 1; }; done
echo "dist/: 9 entries × (js, cjs, d.ts, d.cts) present, and the bin (cli.js, playground.js) and the Workers build (worker.js, worker-d1.js) present"

step "2/7 types (tsc --noEmit, strict)"
npx --no-install tsc --noEmit -p tsconfig.json

step "3/7 lint (biome check .)"
npx --no-install biome check .

step "4/7 publint --strict"
npx --no-install publint --strict

PACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vm-pack.XXXXXX")
SMOKE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vm-smoke.XXXXXX")
cleanup() { if [ "${KEEP_SMOKE:-}" != 1 ]; then rm -rf "$PACK_DIR" "$SMOKE_DIR"; else echo "kept $PACK_DIR $SMOKE_DIR"; fi; }
trap 'status=$?; cleanup; if [ $status -ne 0 ]; then printf "\ncheck-package FAILED at step: %s (exit %s)\n" "$CURRENT" "$status" >&2; fi' EXIT

step "5/7 attw (packed tarball, every subpath)"
# --ignore-scripts: the tarball is dist/ as built above, no prepack step rebuilds it.
TARBALL=$(npm pack --silent --ignore-scripts --pack-destination "$PACK_DIR" | tail -1)
TARBALL="$PACK_DIR/$TARBALL"
[ -f "$TARBALL" ] || { echo "npm pack produced no tarball" >&2; exit 1; }
echo "packed $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) kB)"
if tar -tzf "$TARBALL" | grep -Ev '^package/(dist/|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)'; then
  echo "the tarball holds files outside dist/ and the docs above (see \"files\" in package.json)" >&2; exit 1
fi
npx --no-install attw "$TARBALL" --format table-flipped

step "6/7 smoke (install the tarball, import + require, send + webhook)"
cp "$ROOT"/scripts/smoke/package.json "$ROOT"/scripts/smoke/*.mjs "$ROOT"/scripts/smoke/*.cjs "$SMOKE_DIR"/
# Runtime dependencies come from the npm cache (or the npm registry when the cache lacks them).
(cd "$SMOKE_DIR" && npm install --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error "$TARBALL") \
  || { echo "npm install of the tarball failed" >&2; exit 1; }
# The root entry's only runtime dependency is zod: nothing else may have been installed
# (optional peers, the Vonage SDK included, are the user's choice).
INSTALLED=$(cd "$SMOKE_DIR" && node -e 'const { packages } = require("./package-lock.json"); console.log(Object.keys(packages).filter(Boolean).map((p) => p.replace(/^node_modules\//, "")).sort().join(" "))')
[ "$INSTALLED" = "vonage-messenger zod" ] \
  || { echo "installing the tarball installed more than zod: $INSTALLED" >&2; exit 1; }
echo "installed with the tarball: $INSTALLED"
(cd "$SMOKE_DIR" && node esm.mjs && node cjs.cjs)
# msw, vitest and @opentelemetry/api are linked from this checkout (not installed) for the
# subpaths built on them.
for peer in msw vitest @opentelemetry; do ln -s "$ROOT/node_modules/$peer" "$SMOKE_DIR/node_modules/$peer"; done
(cd "$SMOKE_DIR" && node peers.mjs && node peers.cjs)
# The bin resolves from the installed tarball (its commands are tested in test/cli/).
(cd "$SMOKE_DIR" && ./node_modules/.bin/vonage-messenger --help >/dev/null) || { echo "the installed bin does not run" >&2; exit 1; }

step "7/7 size (root entry)"
node scripts/check-size.mjs "${SIZE_REPORT:-$PACK_DIR/size.json}"

CURRENT=done
printf '\ncheck-package: all 7 gates passed\n'
