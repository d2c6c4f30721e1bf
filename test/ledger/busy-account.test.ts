import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDefaultUser } from '../../src/db/database.js';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

describe('one busy account never stalls the others', () => {
  let engine: TestEngine;
  let blocker: pg.Client;
  let observer: pg.Client;

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
    for (const userId of ['hot', 'calm']) expect((await engine.api('POST', '/v1/accounts', { userId, plan: 'enterprise_pro' })).status).toBe(201);
    blocker = new pg.Client({ connectionString: withDefaultUser(engine.databaseUrl) });
    observer = new pg.Client({ connectionString: withDefaultUser(engine.databaseUrl) });
    await Promise.all([blocker.connect(), observer.connect()]);
  });
  afterAll(async () => {
    await blocker?.end();
    await observer?.end();
    await engine?.stop();
  });

  /** Engine sessions waiting for a row lock, as PostgreSQL sees them. */
  const lockWaiters = async () =>
    Number((await observer.query(`select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)).rows[0].count);

  it('while a slow transaction holds one account and 25 reserves queue for it, another account is served at once', async () => {
    // A slow transaction elsewhere (another process, an operator's psql) holds the hot account's row.
    await blocker.query('begin');
    await blocker.query(`select 1 from accounts where user_id = 'hot' for update`);
    const reserves = Array.from({ length: 25 }, () =>
      engine.api('POST', '/v1/check', { userId: 'hot', feature: 'resume_upload', reserve: true }).then((r) => ({ ...r, at: Date.now() })),
    );
    await waitFor(async () => (await lockWaiters()) >= 1, 'a reserve to wait for the hot account');

    const started = Date.now();
    const [check, account, usage, health] = await Promise.all([
      engine.api('POST', '/v1/check', { userId: 'calm', feature: 'resume_upload', reserve: true }),
      engine.api('GET', '/v1/accounts/calm'),
      engine.api('POST', '/v1/usage', { userId: 'calm', feature: 'resume_upload', idempotencyKey: 'calm-1' }),
      engine.api('GET', '/health'),
    ]);
    const elapsed = Date.now() - started;
    expect([check.status, check.body.allowed, account.status, usage.status]).toEqual([200, true, 200, 202]);
    expect(health.body).toMatchObject({ postgres: 'ok', redis: 'ok' });
    // Today's answer took the pool's 5 s connection timeout; a second is generous on a loaded machine.
    expect(elapsed).toBeLessThan(1000);
    // The engine waits for the hot row on one connection; the other reserves wait in the process.
    expect(await lockWaiters()).toBe(1);

    // Held past lock_timeout, the hot account's reserves are refused as busy, with a hint to retry.
    const answers = await Promise.all(reserves);
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.body.error.code).toBe('account_busy');
    }
    await blocker.query('rollback');

    const hot = await engine.api('GET', '/v1/accounts/hot');
    expect(hot.body).toMatchObject({ balance: 1000, held: 0 });
    expect((await engine.api('GET', '/v1/accounts/hot/ledger')).body.entries).toHaveLength(1);
  });

  it('a busy answer carries Retry-After, and once the account is free the same reserves go through', async () => {
    await blocker.query('begin');
    await blocker.query(`select 1 from accounts where user_id = 'hot' for update`);
    const busy = await fetch(`${engine.baseUrl}/admin/api/accounts/hot/grants`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-key', 'content-type': 'application/json' },
      body: JSON.stringify({ tokens: 5, reason: 'while busy' }),
    });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(((await busy.json()) as any).error.code).toBe('account_busy');
    await blocker.query('rollback');

    const answers = await Promise.all(Array.from({ length: 25 }, () => engine.api('POST', '/v1/check', { userId: 'hot', feature: 'resume_upload', reserve: true })));
    expect(answers.map((a) => [a.status, a.body.allowed])).toEqual(answers.map(() => [200, true]));
    expect((await engine.api('GET', '/v1/accounts/hot')).body).toMatchObject({ balance: 1000 - 25 * 3, held: 25 * 3 });
  });
});
