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
RT=${RUNTIMES_DIR:-${TMPDIR:-/tmp}/headless-sd-runtimes}
step() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

# The test files: all of test/ but the reliability suite, as `npm test`.
mapfile -t TESTS < <(find test -name '*.test.ts' -not -path 'test/reliability/*' | sort)

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
  echo "bun $("$BUN" --version): $BUN"
  echo "$("$DENO" --version | head -1): $DENO"
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
  step "deno test: ${#TESTS[@]} files"
  "$DENO" test -A --no-check --sloppy-imports "${TESTS[@]}"
  step "deno: the README snippet from the packed package"
  snippet_dir
  (cd "$SNIPPET_DIR" && timeout 90 "$DENO" run --allow-net --allow-sys --allow-read --allow-write --allow-env --allow-run readme-snippet.mjs)
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
