// Writes the engine's OpenAPI document (what GET /openapi.json serves) to clients/typescript/openapi.json,
// then the client's types from it: `npm run openapi` after changing a route's schemas, and commit both.
// `--check` writes nothing and fails when either committed file is not what the routes generate now.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { openApiDocument } from '../src/http/openapi.js';

const file = new URL('../clients/typescript/openapi.json', import.meta.url);
const text = `${JSON.stringify(openApiDocument(), null, 2)}\n`;
const check = process.argv.includes('--check');

if (check) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // none yet
  }
  if (committed !== text) {
    console.error('clients/typescript/openapi.json is not the document the routes generate: run `npm run openapi` and commit it');
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  console.log(`wrote ${file.pathname}`);
}
const generated = spawnSync(process.execPath, ['scripts/generate.mjs', ...(check ? ['--check'] : [])], {
  cwd: new URL('../clients/typescript/', import.meta.url),
  stdio: 'inherit',
});
process.exit(generated.status ?? 1);
