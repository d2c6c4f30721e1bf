import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDefaultUser } from '../../src/db/database.js';
import { runJob, settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

describe('without a replica, analytics read through a pool of their own on the primary', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    // A lock timeout long enough that an analytics query waits for the test's lock instead of giving up.
    engine = await startTestEngine({ TOKENS_DATABASE_READ_POOL_SIZE: '2', TOKENS_PG_LOCK_TIMEOUT_MS: '60000' });
    await engine.setClock('2027-02-01T12:00:00Z');
    for (const userId of ['kim', 'lou']) await engine.api('POST', '/v1/accounts', { userId, plan: 'monthly_pro' });
    await engine.api('POST', '/v1/usage', { userId: 'kim', feature: 'resume_upload', idempotencyKey: 'k1' });
    await settled(engine, 'k1');
    await runJob(engine, 'rollups');
  });
  afterAll(async () => engine?.stop());

  it('checks, uses and balances are answered while an analytics request holds every connection of the read pool', async () => {
    // The test holds the rollup tables, so the analytics request's queries that read them wait inside
    // the read pool's connections (two), and its other queries wait for a connection.
    const blocker = new pg.Client({ connectionString: withDefaultUser(engine.databaseUrl) });
    await blocker.connect();
    let analyticsAnswered = false;
    let analytics: Promise<{ status: number; body: any }> | undefined;
    try {
      // The read pool's connections are open, as they are on a running engine.
      expect((await engine.admin('GET', '/admin/api/analytics?from=2027-02-01&to=2027-02-01')).status).toBe(200);
      await blocker.query('begin');
      await blocker.query('lock table usage_daily, activity_daily, pricing_rule_daily in access exclusive mode');
      analytics = engine.admin('GET', '/admin/api/analytics?from=2027-02-01&to=2027-02-01').then((r) => {
        analyticsAnswered = true;
        return r;
      });
      await waitFor(async () => {
        const { rows } = await blocker.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where application_name = 'tokens-reads' and wait_event_type = 'Lock' and datname = current_database()`,
        );
        return rows[0]!.n === 2;
      }, 'both read connections to wait on the rollup tables');

      const checks = await Promise.all(Array.from({ length: 20 }, (_, i) => engine.api('POST', '/v1/check', { userId: i % 2 ? 'kim' : 'lou', feature: 'resume_upload', reserve: i % 4 === 0 })));
      expect(checks.map((c) => [c.status, c.body.allowed])).toEqual(checks.map(() => [200, true]));
      expect((await engine.api('POST', '/v1/usage', { userId: 'lou', feature: 'resume_upload', idempotencyKey: 'l1' })).status).toBe(202);
      expect(await settled(engine, 'l1')).toMatchObject({ status: 'applied' });
      expect((await engine.api('GET', '/v1/accounts/lou')).status).toBe(200);
      expect(analyticsAnswered).toBe(false);
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    const answer = await analytics!;
    expect(answer.status).toBe(200);
    const { rows } = await sql<{ tokens: number }>`select coalesce(sum(cost), 0) as tokens from ledger_entries where kind = 'use' and usage_key = 'k1'`.execute(engine.running.engine.db);
    expect(answer.body.totals.tokens).toBe(rows[0]!.tokens);
  });
});
