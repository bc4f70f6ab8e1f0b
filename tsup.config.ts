import { defineConfig } from 'tsup';
import type { Options } from 'tsup';

const library: Options = {
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'bootstrap/index': 'src/bootstrap/index.ts',
    'grpc/index': 'src/grpc/index.ts',
    'undici/index': 'src/undici/index.ts',
  },
  // An optional peer dependency: loaded from the user's node_modules, by headless-sd/grpc only.
  external: ['@grpc/grpc-js'],
  dts: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  // Keep `node:` in imports: Deno before 2.9 refuses a bare `http` from an npm package.
  removeNodeProtocol: false,
};

export default defineConfig([
  // Splitting keeps the Kubernetes source (and undici) in its own chunk, loaded only when used.
  { ...library, format: ['esm'], splitting: true },
  // p-retry is ESM only: the CommonJS build carries it inside, so `require('headless-sd')`
  // needs no require(esm) and prints no ExperimentalWarning on Node 20. Splitting here too:
  // both entries then require one shared chunk for the classes they share, so an error from
  // headless-sd/testing is `instanceof` the class exported by headless-sd, as in the ESM build.
  { ...library, format: ['cjs'], splitting: true, noExternal: ['p-retry', 'is-network-error'] },
  {
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    removeNodeProtocol: false,
  },
]);
