import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ADMIN_KEY, API_KEY, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the operators CLI (npx tokens)', () => {
  let engine: TestEngine;
  let env: Record<string, string>;
  const tokens = async (...args: string[]) => {
    const { stdout, stderr } = await exec(process.execPath, ['bin/tokens.js', ...args], { cwd: root, env: { ...process.env, ...env } });
    // Nothing of the engine's own start (Redis settings, development keys, migrations) on every call.
    expect(stderr).toBe('');
    expect(stdout).not.toMatch(/"level":/);
    return stdout;
  };
  beforeAll(async () => {
    engine = await startTestEngine();
    env = {
      DATABASE_URL: engine.databaseUrl,
      REDIS_URL: engine.config.redisUrl,
      TOKENS_QUEUE_PREFIX: engine.prefix,
      TOKENS_API_KEYS: API_KEY,
      TOKENS_ADMIN_KEYS: ADMIN_KEY,
      TOKENS_TEST_CLOCK: 'on',
      // As an operator's shell has it: the CLI still shows only what it was asked for.
      LOG_LEVEL: 'info',
    };
    await engine.setClock('2026-11-02T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'cli-user' });
  });
  afterAll(async () => engine?.stop());

  it('migrate and seed are safe to run on a live database', async () => {
    expect(await tokens('migrate')).toContain('already up to date');
    expect(await tokens('seed')).toContain('seeded 0 plans and 0 features');
  });

  it('grants tokens, sets a cost and shows the account', async () => {
    expect(await tokens('grant', 'cli-user', '15', '--reason', 'support ticket 42')).toContain('balance 25');
    expect(await tokens('set-cost', 'resume_upload', '6')).toContain('resume_upload now costs 6');
    const shown = await tokens('account', 'cli-user');
    // A table for people: a row per field, a row per ledger entry.
    expect(shown).toMatch(/│ balance\s+│ 25\s+│/);
    expect(shown).toMatch(/│ [^│]+│ grant\s+│ 15\s+│ 25\s+│/);
    expect(shown).not.toContain('{');
    const json = JSON.parse(await tokens('account', 'cli-user', '--json'));
    expect(json.account).toMatchObject({ userId: 'cli-user', balance: 25 });
    expect(json.ledger[0]).toMatchObject({ kind: 'grant', amount: 15, balanceAfter: 25 });
    const audit = await engine.admin('GET', '/admin/api/audit');
    expect(audit.body.entries.map((e: any) => [e.actor, e.action])).toEqual([
      ['cli', 'feature.update'],
      ['cli', 'grant.create'],
    ]);
  });

  it('refuses bad arguments with a message that says what is wrong', async () => {
    await expect(tokens('grant', 'cli-user', 'many', '--reason', 'x')).rejects.toMatchObject({ stderr: expect.stringContaining('tokens must be a whole number') });
    await expect(tokens('run', 'teleport')).rejects.toMatchObject({ stderr: expect.stringContaining('jobs: holds') });
    await expect(tokens('frobnicate')).rejects.toMatchObject({ stderr: expect.stringContaining('unknown command') });
  });

  it('runs a job now', async () => {
    expect(await tokens('run', 'rollups')).toContain('enqueued rollups');
  });

  it('simulates users on every plan over days of the test clock, visible in the analytics', async () => {
    const out = await tokens('simulate', '--users', '12', '--days', '3', '--url', engine.baseUrl);
    expect(out).toContain('12 users created');
    expect(out).toMatch(/│ free_starter\s+│ \d+\s+│/);
    const db = engine.running.engine.db;
    const plans = await db.selectFrom('accounts').select('plan_id').distinct().where('user_id', 'like', 'sim-%').execute();
    expect(plans.length).toBeGreaterThanOrEqual(2);
    const { rows } = await sql<{ n: number }>`select count(*) as n from ledger_entries where kind = 'use' and user_id like 'sim-%'`.execute(db);
    expect(rows[0]!.n).toBeGreaterThan(0);
    await waitFor(async () => {
      const r = await engine.admin('GET', '/admin/api/analytics?from=2026-11-02&to=2026-11-04');
      return r.body.totals.uses === rows[0]!.n;
    }, 'the simulated uses to appear in the analytics');
    expect((await engine.admin('GET', '/admin/api/clock')).body.now).toBe('2026-11-05T00:00:00.000Z');
  });
});
