#!/usr/bin/env node
// The operators' CLI (`npx tokens ...`): runs the compiled engine in dist/ (npm run build or npm start makes it).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('tokens: there is no build in dist/: run `npm run build` first');
  process.exit(1);
}
await import(cli.href);
