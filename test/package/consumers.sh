#!/usr/bin/env bash
# The packed tarball as a new user gets it: installed into fresh ESM, CommonJS and TypeScript
# (moduleResolution nodenext and bundler) projects, each running the README's first snippet
# against a test cluster's DNS that it starts itself from headless-sd/testing (loopback only),
# and checking that errors from both entries are the same classes. Run after `npm run build`
# (it builds when dist/ is missing). Usage: bash test/package/consumers.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/headless-sd-consumers.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$REPO"
[ -f dist/index.js ] || npm run build
TARBALL="$WORK/$(npm pack --silent --pack-destination "$WORK" | tail -1)"
echo "packed $TARBALL"
TSC="$REPO/node_modules/typescript/bin/tsc"
TYPES_NODE="$(node -p "require('$REPO/node_modules/@types/node/package.json').version")"

# The README's first snippet, with the test cluster's DNS server passed as `servers`.
SNIPPET_BODY='
const cluster = await createDemoCluster();
const dns = await createTestServer({ cluster });
const options = { port: "web", namespace: "default", servers: dns.servers };
const members = await peers("nginx", options);            // every ready pod
let first: string[] = [];
for await (const { added, removed } of watchPeers("nginx", options)) {
  // first the whole set (all added), then each change
  first = added.map((p) => p.name ?? p.address);
  void removed;
  break;                                                   // closes the watcher
}
await dns.close();
if (members.length !== 3 || first.join() !== "web-0,web-1,web-2") throw new Error(`unexpected peers: ${first}`);
try {
  createTestCluster({ ttl: -1 });
  throw new Error("ttl -1 was accepted");
} catch (err) {
  if (!(err instanceof InvalidArgumentError)) throw new Error("an error of headless-sd/testing is not instanceof the class of headless-sd");
}
console.log(`ok: ${members.length} peers, first change ${first.join(",")}`);
'
strip_types() { sed -e 's/: string\[\] = \[\]/ = []/'; }

project() { # name, package.json type
  local dir="$WORK/$1"
  mkdir -p "$dir"
  printf '{ "name": "consumer-%s", "version": "1.0.0", "private": true, "type": "%s" }\n' "$1" "$2" > "$dir/package.json"
  (cd "$dir" && npm install --silent --no-audit --no-fund --prefer-offline "$TARBALL" "@types/node@$TYPES_NODE" >/dev/null)
  echo "$dir"
}

run() { # dir, file
  echo "--- $(basename "$1"): node $2"
  (cd "$1" && timeout 60 node "$2")
}

# ESM, plain JavaScript.
dir="$(project esm module)"
{
  echo 'import { peers, watchPeers, InvalidArgumentError } from "headless-sd";'
  echo 'import { createDemoCluster, createTestServer, createTestCluster } from "headless-sd/testing";'
  echo "$SNIPPET_BODY" | strip_types | sed -e 's/ as [A-Za-z]*//g'
} > "$dir/snippet.mjs"
run "$dir" snippet.mjs
(cd "$dir" && [ "$(npx --no-install headless-sd --version)" = "$(node -p "require('$REPO/package.json').version")" ]) && echo "bin --version ok"

# CommonJS: require() of both entries.
dir="$(project cjs commonjs)"
{
  echo 'const { peers, watchPeers, InvalidArgumentError } = require("headless-sd");'
  echo 'const { createDemoCluster, createTestServer, createTestCluster } = require("headless-sd/testing");'
  echo '(async () => {'
  echo "$SNIPPET_BODY" | strip_types
  echo '})().catch((err) => { console.error(err); process.exitCode = 1; });'
} > "$dir/snippet.cjs"
run "$dir" snippet.cjs

# TypeScript: the snippet as a .ts file, type-checked and compiled, then run.
ts_project() { # name, package.json type, module, moduleResolution
  local dir
  dir="$(project "$1" "$2")"
  printf '{ "compilerOptions": { "target": "es2022", "module": "%s", "moduleResolution": "%s", "strict": true, "types": ["node"], "outDir": "out", "skipLibCheck": false } }\n' "$3" "$4" > "$dir/tsconfig.json"
  {
    echo 'import { peers, watchPeers, InvalidArgumentError } from "headless-sd";'
    echo 'import { createDemoCluster, createTestServer, createTestCluster } from "headless-sd/testing";'
    if [ "$2" = commonjs ]; then echo '(async () => {'; fi
    echo "$SNIPPET_BODY"
    if [ "$2" = commonjs ]; then echo '})().catch((err) => { console.error(err); process.exitCode = 1; });'; else echo 'export {};'; fi
  } > "$dir/snippet.ts"
  echo "--- $1: tsc (module $3, moduleResolution $4)"
  (cd "$dir" && node "$TSC" -p .)
  run "$dir" out/snippet.js
}
ts_project ts-nodenext module nodenext nodenext
ts_project ts-nodenext-cjs commonjs nodenext nodenext
ts_project ts-bundler module esnext bundler

echo "consumers: all passed"
