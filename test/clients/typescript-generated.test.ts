import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe("the TypeScript client's generated types", () => {
  it('are what the current routes generate: the committed document and the types made from it', async () => {
    // scripts/openapi.ts --check: the routes' document against clients/typescript/openapi.json, then
    // openapi-typescript (the client's own, on TypeScript 5) on it against src/generated/openapi.ts.
    const checked = await run(process.execPath, ['--import', 'tsx', 'scripts/openapi.ts', '--check'], { cwd: root }).catch(
      (error: Error & { stderr?: string }) => ({ stdout: '', stderr: error.stderr ?? error.message }),
    );
    expect(checked.stderr).toBe('');
    expect(checked.stdout).toContain('generated types are current');
  });
});
