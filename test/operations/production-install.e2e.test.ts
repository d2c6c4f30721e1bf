import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { call, cleanup, isolation } from '../support/engine.js';
import { startEngineCommand, type EngineProcess } from '../support/processes.js';
import { whenExiting } from '../support/private-servers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('a production install: npm ci --omit=dev in a clean copy, then the build output', () => {
  const iso = isolation();
  const copy = mkdtempSync(join(tmpdir(), 'tokens-production-'));
  let engine: EngineProcess | undefined;
  afterAll(async () => {
    await engine?.stop('SIGKILL');
    rmSync(copy, { recursive: true, force: true });
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('installs without dev dependencies, starts on a fresh database and serves /health', async () => {
    // What the repository holds (no node_modules, no dist), as a deployment checks it out.
    const { stdout } = await run('git', ['ls-files', '-z'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    for (const file of stdout.split('\0').filter(Boolean)) {
      if (!existsSync(join(root, file))) continue; // deleted in the work tree, not yet committed
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(root, file), join(copy, file));
    }
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: copy, maxBuffer: 16 * 1024 * 1024 });
    expect(existsSync(join(copy, 'node_modules', 'fastify'))).toBe(true);
    expect(existsSync(join(copy, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(copy, 'node_modules', 'vitest'))).toBe(false);
    // The build output (test/support/global-setup.ts made them): the engine, the console it serves, the client.
    cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(root, 'console', 'dist'), join(copy, 'console', 'dist'), { recursive: true });
    // The TypeScript client the CLI's simulate runs (a workspace: npm linked it, with its dependencies).
    cpSync(join(root, 'clients', 'typescript', 'dist'), join(copy, 'clients', 'typescript', 'dist'), { recursive: true });

    // Production wants keys of at least 32 characters, and the test clock off.
    const adminKey = `admin_${randomBytes(16).toString('hex')}`;
    const env = { ...iso.env, NODE_ENV: 'production', TOKENS_TEST_CLOCK: 'off', TOKENS_API_KEYS: `service_${randomBytes(16).toString('hex')}`, TOKENS_ADMIN_KEYS: adminKey };
    engine = await startEngineCommand(['npm', 'start'], { cwd: copy, env, timeoutMs: 60_000 });
    whenExiting(engine.child);
    expect(engine.output.join('\n')).toContain('running the build in dist/ as it is');
    // A fresh database: the build's own migrations made it.
    expect(engine.output.some((line) => line.includes('"database migrated"'))).toBe(true);

    const base = `http://127.0.0.1:${engine.port}`;
    expect(await call(base, null, 'GET', '/health')).toEqual({ status: 200, body: { postgres: 'ok', redis: 'ok' } });
    const page = await call<string>(base, adminKey, 'GET', '/admin');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html'); // the console's files, found from the built code
    // npm start runs the engine as its child: signal the engine itself (its pid is in its log), as a
    // service manager would, and npm exits with the engine's status.
    const running = engine.output.find((line) => line.includes('token engine running'))!;
    process.kill((JSON.parse(running) as { pid: number }).pid, 'SIGTERM');
    expect(await engine.exited).toBe(0);
  });
});
