#!/usr/bin/env node
// Builds the admin console (console/) into console/dist, which the engine serves at /admin.
//   node scripts/build-console.mjs             type-check and build
//   node scripts/build-console.mjs --if-stale  only when a source is newer than the build (npm start, npm test)
// A production install (no dev dependencies) ships a built console and skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const consoleDir = path.join(root, 'console');
const built = path.join(consoleDir, 'dist', 'index.html');

function newest(p) {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newest(path.join(p, name))));
}

// What the bundle is made of: the console, the engine's tiers module it bundles, and the locked packages.
// (It also imports the engine's answer types: `npm run typecheck` checks them, they change no output.)
const sources = [
  path.join(consoleDir, 'src'),
  path.join(consoleDir, 'index.html'),
  path.join(consoleDir, 'vite.config.ts'),
  path.join(root, 'src', 'catalog', 'tiers.ts'),
  path.join(root, 'package-lock.json'),
];

if (process.argv.includes('--if-stale') && existsSync(built)) {
  const builtAt = statSync(built).mtimeMs;
  if (sources.every((s) => !existsSync(s) || newest(s) <= builtAt)) process.exit(0);
}

let vite;
try {
  vite = await import('vite');
} catch {
  if (existsSync(built)) process.exit(0);
  console.error('The admin console is not built, and its build tools (dev dependencies) are not installed: run npm install, then npm run build:console.');
  process.exit(1);
}

// typescript's package exports no bin path: find it beside its package.json.
const tscBin = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const tsc = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', path.join(consoleDir, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
// A production build whoever runs this (vitest's globalSetup has NODE_ENV=test, which would bundle React's development build).
process.env.NODE_ENV = 'production';
await vite.build({ mode: 'production', configFile: path.join(consoleDir, 'vite.config.ts'), logLevel: 'warn' });
console.log('admin console built into console/dist');
