#!/usr/bin/env bash
# The test suite, the README's first snippet and the demo on Bun and Deno (docs/bun.md,
# docs/deno.md). Both runtimes come from the npm registry; nothing else is downloaded.
#
#   scripts/runtimes.sh [bun|deno|all]      (default: all; after `npm ci` and `npm run build`)
#
# RUNTIMES_DIR: where the runtimes are installed (default: $TMPDIR/headless-sd-runtimes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHICH=${1:-all}
BUN_VERSION=1.4.5
DENO_VERSION=2.9.6
# Deno 2.9.x aborts inside nghttp2 when a node:http2 client gets a GOAWAY
# (https://github.com/denoland/deno/issues/36788): the HTTP/2 tests (test/grpc: grpc-js
# servers scaled down under live calls) crash it. They run on the last 2.8 instead, where
# they pass; see docs/deno.md.
DENO_HTTP2_VERSION=2.8.3
RT=${RUNTIMES_DIR:-${TMPDIR:-/tmp}/headless-sd-runtimes}
step() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

# The test files: all of test/ but the reliability suite, as `npm test`.
mapfile -t TESTS < <(find test -name '*.test.ts' -not -path 'test/reliability/*' | sort)
# On Deno, split in two: the gRPC (HTTP/2) tests on DENO_HTTP2_VERSION, the rest on DENO_VERSION.
mapfile -t DENO_TESTS < <(printf '%s\n' "${TESTS[@]}" | grep -v '^test/grpc/')
mapfile -t DENO_HTTP2_TESTS < <(printf '%s\n' "${TESTS[@]}" | grep '^test/grpc/')

# A binary that runs: the first candidate that answers --version. The packages' postinstall
# scripts put the binary in place; where install scripts are blocked, the platform package
# (@oven/bun-<os>-<arch>, @deno/<os>-<arch>) still holds it.
first_runnable() {
  local c
  for c in "$@"; do
    if [ -f "$c" ] && [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}

install_runtimes() {
  step "install bun@$BUN_VERSION and deno@$DENO_VERSION from npm into $RT"
  mkdir -p "$RT"
  [ -f "$RT/package.json" ] || echo '{"private":true}' > "$RT/package.json"
  npm install --prefix "$RT" --no-save --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" "deno@$DENO_VERSION"
  BUN=$(first_runnable "$RT"/node_modules/bun/bin/bun.exe "$RT"/node_modules/@oven/bun-*/bin/bun) || { echo "no runnable bun in $RT"; exit 1; }
  DENO=$(first_runnable "$RT"/node_modules/deno/deno "$RT"/node_modules/@deno/*/deno "$RT"/node_modules/@deno/*/bin/deno) || { echo "no runnable deno in $RT"; exit 1; }
  step "install deno@$DENO_HTTP2_VERSION from npm into $RT/deno-http2 (for the HTTP/2 tests)"
  mkdir -p "$RT/deno-http2"
  [ -f "$RT/deno-http2/package.json" ] || echo '{"private":true}' > "$RT/deno-http2/package.json"
  npm install --prefix "$RT/deno-http2" --no-save --no-audit --no-fund --loglevel=error "deno@$DENO_HTTP2_VERSION"
  local h=$RT/deno-http2/node_modules
  DENO_HTTP2=$(first_runnable "$h"/deno/deno "$h"/@deno/*/deno "$h"/@deno/*/bin/deno) || { echo "no runnable deno in $RT/deno-http2"; exit 1; }
  echo "bun $("$BUN" --version): $BUN"
  echo "$("$DENO" --version | head -1): $DENO"
  echo "$("$DENO_HTTP2" --version | head -1): $DENO_HTTP2"
}

# The README's first snippet from the packed package, installed as a user would.
snippet_dir() {
  if [ -z "${SNIPPET_DIR:-}" ]; then
    step "pack headless-sd and install the tarball into a scratch project"
    SNIPPET_DIR=$(mktemp -d)
    local tarball
    tarball=$(npm pack --silent --pack-destination "$SNIPPET_DIR")
    cp scripts/runtimes/readme-snippet.mjs "$SNIPPET_DIR/"
    (cd "$SNIPPET_DIR" && echo '{"private":true,"type":"module"}' > package.json &&
      npm install --no-audit --no-fund --loglevel=error "./$tarball")
  fi
}

# The demo's output names every peer it saw, as .ci/run checks for `npm run demo`.
check_demo() {
  local out=$1 peer
  cat "$out"
  for peer in web-0 web-1 web-2 web-3 web-4; do grep -q "$peer" "$out" || { echo "demo output does not name $peer"; exit 1; }; done
}

run_bun() {
  step "bun test: ${#TESTS[@]} files"
  # --timeout: per test; the machine may be loaded (a node:test timeout option still applies).
  "$BUN" test --timeout 120000 "${TESTS[@]/#/./}"
  step "bun: the README snippet from the packed package"
  snippet_dir
  (cd "$SNIPPET_DIR" && timeout 90 "$BUN" readme-snippet.mjs)
  step "bun: the demo (bun examples/demo.ts)"
  timeout 90 "$BUN" examples/demo.ts > "$RT/demo-bun.out" 2>&1 || { cat "$RT/demo-bun.out"; exit 1; }
  check_demo "$RT/demo-bun.out"
}

run_deno() {
  # --sloppy-imports: the sources import './x.js' for './x.ts' (TypeScript's NodeNext
  # convention); --no-check: tsc checks types already (npx tsc --noEmit).
  step "deno $DENO_VERSION test: ${#DENO_TESTS[@]} files (all but test/grpc)"
  "$DENO" test -A --no-check --sloppy-imports "${DENO_TESTS[@]}"
  step "deno $DENO_HTTP2_VERSION test: ${#DENO_HTTP2_TESTS[@]} files (test/grpc, HTTP/2)"
  "$DENO_HTTP2" test -A --no-check --sloppy-imports "${DENO_HTTP2_TESTS[@]}"
  snippet_dir
  local d
  for d in "$DENO" "$DENO_HTTP2"; do
    step "deno $("$d" --version | head -1 | cut -d' ' -f2): the README snippet from the packed package"
    (cd "$SNIPPET_DIR" && timeout 90 "$d" run --allow-net --allow-sys --allow-read --allow-write --allow-env --allow-run readme-snippet.mjs)
  done
  step "deno: the demo (deno run -A examples/demo.ts)"
  timeout 90 "$DENO" run -A --no-check --sloppy-imports examples/demo.ts > "$RT/demo-deno.out" 2>&1 || { cat "$RT/demo-deno.out"; exit 1; }
  check_demo "$RT/demo-deno.out"
}

install_runtimes
[ -f dist/index.js ] || { step "build"; npm run build; }
case "$WHICH" in
  bun) run_bun ;;
  deno) run_deno ;;
  all) run_bun; run_deno ;;
  *) echo "usage: scripts/runtimes.sh [bun|deno|all]"; exit 2 ;;
esac
[ -z "${SNIPPET_DIR:-}" ] || rm -rf "$SNIPPET_DIR"
step "done"
