#!/usr/bin/env node
// Builds what `npm start`, the `tokens` CLI, the workers and the package's exports run: tsc compiles src/,
// workers/ and migrations/ into dist/ (tsconfig.build.json), and compiled files whose source is gone are
// removed (a deleted migration must not live on in dist/migrations). The admin console has its own build
// (scripts/build-console.mjs, into console/dist), which the engine finds from the package root.
//
// `npm start` (prestart), `npm run bench` (prebench) and the tests' global setup run it, so a change to the
// source is always what runs. A production install (`npm ci --omit=dev`) cannot build: it runs the dist/
// it is given, so there this leaves dist/ alone, and fails only if there is none.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

// A production install may still hold a compiler (a dependency's optional peer), but not the type packages
// the build needs: build only where every dev dependency is installed.
const { devDependencies = {} } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const missing = Object.keys(devDependencies).filter((name) => !existsSync(path.join(root, 'node_modules', name, 'package.json')));
if (missing.length > 0) {
  if (existsSync(path.join(dist, 'src', 'main.js'))) {
    console.log('build: no dev dependencies here (a production install): running the build in dist/ as it is');
    process.exit(0);
  }
  console.error(`build: no dev dependencies here (${missing.length} of ${Object.keys(devDependencies).length} missing: installed with --omit=dev?) and no build in dist/: copy the build output into dist/, or npm install (with dev dependencies) and npm run build`);
  process.exit(1);
}
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

// The TypeScript client (clients/typescript, a workspace) first: the CLI's simulate imports it. It builds
// with its own TypeScript 5 (openapi-typescript's peer), which npm installs inside the client's folder.
const client = path.join(root, 'clients', 'typescript');
const clientTsc = [path.join(client, 'node_modules', 'typescript', 'bin', 'tsc'), tsc].find((file) => existsSync(file));
const builtClient = spawnSync(process.execPath, [clientTsc, '-p', client], { stdio: 'inherit' });
if (builtClient.status !== 0) process.exit(builtClient.status ?? 1);

const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

/** Removes dist/x.js and dist/x.d.ts whose x.ts no longer exists (tsc never deletes what it once emitted). */
function prune(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const file = path.join(folder, entry.name);
    const relative = path.relative(dist, file);
    if (entry.isDirectory()) {
      prune(file);
      if (readdirSync(file).length === 0) rmSync(file, { recursive: true });
      continue;
    }
    const source = /^(.*?)(\.d)?\.ts$|^(.*)\.js$/.exec(relative);
    if (source && !existsSync(path.join(root, `${source[1] ?? source[3]}.ts`))) rmSync(file);
  }
}
prune(dist);
