import { Queue } from 'bullmq';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isolation, waitFor } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { expectAppliedExactlyOnce, faultTimeouts, jobHistory, openDb, request, startEngineProcess, usageEvents, UsageRecord, waitUntilSettled, type UsageEvent, openFundedAccounts } from './settlement.js';

describe('PostgreSQL stopped and started again in the middle of a stream of usage', faultTimeouts, () => {
  const iso = isolation();
  const users = ['pat-0', 'pat-1', 'pat-2', 'pat-3'];
  const processes: EngineProcess[] = [];
  let postgres: PrivatePostgres;
  let databaseUrl = '';
  let base = '';
  let queue: Queue;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    databaseUrl = postgres.url('tokens_fault');
    // The shared Redis, under this test's own prefix: only PostgreSQL is broken here.
    const env = { ...iso.env, DATABASE_URL: databaseUrl, TOKENS_TEST_CLOCK: 'off', TOKENS_WORKER_LOCK_MS: '2000' };
    const api = await startEngineProcess({ ...env, TOKENS_ROLES: 'api' });
    processes.push(api, await startEngineProcess({ ...env, TOKENS_ROLES: 'workers' }));
    base = `http://127.0.0.1:${api.port}`;
    queue = new Queue('usage', { connection: { url: iso.redisUrl }, prefix: iso.prefix });
  });
  afterAll(async () => {
    await queue?.close();
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await postgres?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('jobs cut off by the restart are retried; every event answered 202 is applied once, none refused is', async () => {
    const start: Record<string, number> = {};
    await openFundedAccounts(base, users, 10_000, start);
    // pat-0's row is locked by the test, so the jobs that charge pat-0 are inside their transactions
    // when PostgreSQL goes away: those transactions are cut off and their jobs fail.
    const blocker: pg.Client = await openDb(databaseUrl);
    await blocker.query('begin');
    await blocker.query(`select 1 from accounts where user_id = 'pat-0' for update`);

    // Three clients send batches of 20 until PostgreSQL has been back for 30 more requests; a refused
    // client waits a little before its next request, as a client would.
    const record = new UsageRecord();
    const answered: number[] = [];
    let batches = 0;
    let backAt: number | undefined;
    const client = async () => {
      while (backAt === undefined || answered.length < backAt + 30) {
        const status = (await record.send(base, usageEvents(`p${batches++}`, 20, users))).status;
        answered.push(status);
        if (status !== 202) await new Promise((r) => setTimeout(r, 20));
      }
    };
    let cutOff: string[] = [];
    let healthWhileDown: unknown;
    const restart = (async () => {
      await waitFor(async () => answered.length >= 15, 'the stream to be under way');
      const blocked = await openDb(databaseUrl).then(async (db) => {
        try {
          return await waitFor(async () => (await db.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock'`)).rows.length > 0, 'a job blocked on pat-0');
        } finally {
          await db.end();
        }
      });
      expect(blocked).toBe(true);
      cutOff = (await queue.getActive()).filter((j) => j.data.events.some((e: UsageEvent) => e.userId === 'pat-0')).map((j) => j.id!);
      await postgres.stop('fast');
      await waitFor(async () => answered.filter((s) => s === 503).length >= 5, 'requests refused while PostgreSQL is down');
      healthWhileDown = await request(base, 'GET', '/health', undefined, 5_000, null);
      await postgres.start();
      backAt = answered.length;
    })();
    await Promise.all([client(), client(), client(), restart]);
    await blocker.end().catch(() => undefined); // its server went away under it

    expect(new Set(answered)).toEqual(new Set([202, 503])); // no 500, no hang, no other refusal
    record.expectRefusalsNamed('postgres');
    expect(healthWhileDown).toEqual({ status: 503, body: { postgres: 'down', redis: 'ok', down: ['postgres'] } });
    expect(cutOff.length).toBeGreaterThan(0);

    const db = await openDb(databaseUrl);
    try {
      await waitUntilSettled(db, record.accepted.map((e) => e.idempotencyKey), 60_000);
      for (const id of cutOff) {
        // Failed when its transaction was cut off, retried with backoff, then completed.
        const history = await waitFor(async () => {
          const events = await jobHistory(iso.redisUrl, queue, id);
          return events.some((e) => e.event === 'completed') ? events.map((e) => e.event) : undefined;
        }, `job ${id} to complete`);
        expect(history).toContain('delayed');
        expect(history.indexOf('delayed')).toBeLessThan(history.lastIndexOf('completed'));
      }
      await expectAppliedExactlyOnce(db, record, start);
    } finally {
      await db.end();
    }
    expect((await request(base, 'GET', '/health', undefined, 5_000, null)).status).toBe(200);
  });

  it('a request whose transaction PostgreSQL cuts off answers 503 naming postgres, and changes nothing', async () => {
    expect((await request(base, 'POST', '/v1/accounts', { userId: 'pia', plan: 'monthly_pro' })).status).toBe(201);
    const blocker = await openDb(databaseUrl);
    await blocker.query('begin');
    await blocker.query(`select 1 from accounts where user_id = 'pia' for update`);
    // A reservation takes the account's lock in a transaction: this one waits inside it for the test's.
    const reserving = request(base, 'POST', '/v1/check', { userId: 'pia', feature: 'resume_upload', reserve: true });
    await waitFor(async () => (await blocker.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock'`)).rows.length > 0, 'the reservation to wait for the lock');
    await postgres.stop('fast');
    await blocker.end().catch(() => undefined);
    const answer = await reserving;
    await postgres.start();
    expect(answer).toMatchObject({ status: 503, body: { error: { code: 'dependency_unavailable', details: { dependency: 'postgres' } } } });
    const account = await waitFor(async () => {
      const r = await request(base, 'GET', '/v1/accounts/pia');
      return r.status === 200 ? r.body : undefined;
    }, 'the API to read from PostgreSQL again');
    expect(account).toMatchObject({ balance: 100, held: 0 });
  });
});
