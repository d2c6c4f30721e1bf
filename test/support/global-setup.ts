import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import buildConsoleIfStale from './console-build.js';
import { SHARED_PG, maintenanceClient, quoteIdent } from './databases.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

interface Prepared {
  template: string;
  users: number;
}

/**
 * Once per run, whichever project asks first (every project's global setup runs in vitest's own process):
 * builds dist/, which the end-to-end and fault tests start as the engine's processes, and the admin
 * console (console/dist) if it is stale; then makes the template database every test database is copied
 * from, migrated and seeded by the built CLI (`tokens migrate`, `tokens seed`). The last project to
 * finish drops it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const key = Symbol.for('tokens.test.prepared');
  const store = globalThis as { [key]?: Promise<Prepared> };
  store[key] ??= prepare();
  const prepared = await store[key];
  prepared.users++;
  project.provide('templateDatabase', prepared.template);
  return async () => {
    if (--prepared.users > 0) return;
    const client = await maintenanceClient(SHARED_PG);
    try {
      await dropTemplate(client, prepared.template);
    } finally {
      await client.end();
    }
  };
}

async function prepare(): Promise<Prepared> {
  try {
    await run(process.execPath, ['scripts/build.mjs'], { cwd: root });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed; the tests start what it builds:\n${stdout}${stderr}`, { cause: error });
  }
  // The admin console the engine serves at /admin (browser and boundary tests), when a source is newer.
  buildConsoleIfStale();

  const template = `tokens_template_${process.pid}_${randomBytes(3).toString('hex')}`;
  const client = await maintenanceClient(SHARED_PG);
  try {
    await dropTemplatesOfEndedRuns(client);
    const env = { ...process.env, DATABASE_URL: `${SHARED_PG}/${template}`, LOG_LEVEL: 'error' };
    for (const command of ['migrate', 'seed']) await run(process.execPath, ['bin/tokens.js', command], { cwd: root, env });
    // Nobody connects to it again: a database being copied must have no other session.
    await client.query(`alter database ${quoteIdent(template)} with is_template true allow_connections false`);
  } finally {
    await client.end();
  }
  return { template, users: 0 };
}

async function dropTemplate(client: Awaited<ReturnType<typeof maintenanceClient>>, name: string): Promise<void> {
  await client.query(`alter database ${quoteIdent(name)} with is_template false`);
  await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
}

/** A run that was killed left its template behind: drop those whose process is gone (runs of other worktrees stay). */
async function dropTemplatesOfEndedRuns(client: Awaited<ReturnType<typeof maintenanceClient>>): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname like 'tokens\\_template\\_%'`);
  for (const { datname } of rows) {
    const pid = Number(/^tokens_template_(\d+)_/.exec(datname)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await dropTemplate(client, datname).catch(() => undefined); // another run may be dropping it too
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
