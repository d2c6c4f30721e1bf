import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isolation, waitFor } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { completedWith, expectAppliedExactlyOnce, faultTimeouts, jobHistory, openDb, settledCount, startEngineProcess, usageEvents, UsageRecord, waitUntilSettled, openFundedAccounts } from './settlement.js';

describe('a usage worker killed with SIGKILL in the middle of its batches', faultTimeouts, () => {
  const iso = isolation();
  const users = ['kim-0', 'kim-1', 'kim-2', 'kim-3', 'kim-4', 'kim-5'];
  const processes: EngineProcess[] = [];
  const record = new UsageRecord();
  const start: Record<string, number> = {};
  let env: Record<string, string>;
  let redis: PrivateRedis;
  let admin: Redis; // the test's own connection to the private Redis
  let base = '';
  let db: pg.Client;
  let blocker: pg.Client | undefined;
  let queue: Queue;

  const worker = async (overrides: Record<string, string> = {}) => {
    const p = await startEngineProcess({ ...env, TOKENS_ROLES: 'workers', ...overrides });
    processes.push(p);
    return p;
  };
  /** The usage jobs BullMQ holds as active, read without Lua (which a paused Redis would hold up). */
  const activeJobs = async () => {
    const ids = await admin.lrange(`${iso.prefix}:usage:active`, 0, -1);
    const jobs = await Promise.all(ids.map(async (id) => ({ id, data: await admin.hget(`${iso.prefix}:usage:${id}`, 'data') })));
    // A job listed active may complete, and be removed with its data, before its data is read: it is no longer active.
    return jobs
      .filter((job): job is { id: string; data: string } => job.data !== null)
      .map((job) => ({ id: job.id, events: (JSON.parse(job.data) as { events: Array<{ userId: string; idempotencyKey: string }> }).events }));
  };

  beforeAll(async () => {
    // A Redis of its own, so that the test may pause it (CLIENT PAUSE) without touching anyone else.
    redis = await startPrivateRedis();
    admin = new Redis(redis.url);
    // The killed worker's jobs are handed over once their 2-second lock expires, not after BullMQ's 30.
    env = { ...iso.env, REDIS_URL: redis.url, TOKENS_TEST_CLOCK: 'off', TOKENS_WORKER_LOCK_MS: '2000' };
    const api = await startEngineProcess({ ...env, TOKENS_ROLES: 'api' });
    processes.push(api);
    base = `http://127.0.0.1:${api.port}`;
    db = await openDb(iso.databaseUrl);
    queue = new Queue('usage', { connection: { url: redis.url }, prefix: iso.prefix });
    await openFundedAccounts(base, users, 5000, start);
  });
  afterAll(async () => {
    await admin?.call('CLIENT', 'UNPAUSE').catch(() => undefined);
    admin?.disconnect();
    await blocker?.end().catch(() => undefined);
    await queue?.close();
    await db?.end();
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await redis?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('killed inside open transactions: the next worker applies every event answered 202 exactly once', async () => {
    // kim-0's row is locked by the test: every job that charges kim-0 stops inside its transaction,
    // after BEGIN and before its commit, while jobs of other accounts go through.
    blocker = await openDb(iso.databaseUrl);
    await blocker.query('begin');
    await blocker.query(`select 1 from accounts where user_id = 'kim-0' for update`);

    const doomed = await worker();
    const events = usageEvents('k', 2400, users);
    for (let i = 0; i < events.length; i += 200) await record.send(base, events.slice(i, i + 200));
    expect(record.refused).toEqual([]);
    const keys = events.map((e) => e.idempotencyKey);

    await waitFor(async () => {
      const { rows } = await db.query(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
      return rows.length > 0 && (await settledCount(db, keys)) > 0;
    }, 'a worker transaction blocked on kim-0 while other accounts are applied', 30_000);
    const stuck = (await activeJobs()).filter((job) => job.events.some((e) => e.userId === 'kim-0'));
    expect(stuck.length).toBeGreaterThan(0);
    const before = await settledCount(db, keys);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(keys.length);

    await doomed.stop('SIGKILL');
    expect(doomed.child.signalCode).toBe('SIGKILL');
    // Its transactions die with its connections: what it had not committed is rolled back.
    await blocker.query('rollback');
    await blocker.end();
    blocker = undefined;

    await worker();
    await waitUntilSettled(db, keys);
    for (const job of stuck) {
      // Stalled-job detection handed each killed job to the new worker, which applied all of it.
      const returned = await waitFor(() => completedWith(redis.url, queue, job.id), `job ${job.id} to complete`);
      expect((await jobHistory(redis.url, queue, job.id)).filter((e) => e.event === 'stalled')).toHaveLength(1);
      expect(returned).toMatchObject({ duplicate: 0, applied: job.events.length });
    }
    await expectAppliedExactlyOnce(db, record, start);
  });

  it('killed after its commits but before BullMQ heard of them: the redelivered jobs charge nothing again', async () => {
    await processes.at(-1)!.stop('SIGKILL');
    const events = usageEvents('b', 3000, users);
    for (let i = 0; i < events.length; i += 500) await record.send(base, events.slice(i, i + 500));
    expect(record.refused).toEqual([]);
    const keys = events.map((e) => e.idempotencyKey);

    // It takes no more jobs than it has lanes, so the kill leaves jobs it never fetched.
    const doomed = await worker({ TOKENS_USAGE_PREFETCH: '4' });
    await waitFor(async () => (await settledCount(db, keys)) >= 300, 'the backlog to be partly applied', 30_000);
    // Redis holds every write (job completions, lock renewals, fetches) while PostgreSQL goes on: the
    // worker's active jobs commit, then wait to be marked completed. The kill lands right there.
    await admin.call('CLIENT', 'PAUSE', '30000', 'WRITE');
    let committed: Awaited<ReturnType<typeof activeJobs>> = [];
    try {
      committed = await waitFor(async () => {
        const active = await activeJobs();
        const keysOfActive = active.flatMap((job) => job.events.map((e) => e.idempotencyKey));
        return active.length > 0 && (await settledCount(db, keysOfActive)) === keysOfActive.length ? active : undefined;
      }, 'the active jobs to commit', 30_000);
      await doomed.stop('SIGKILL');
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
    expect(await settledCount(db, keys)).toBeLessThan(keys.length);

    await worker();
    await waitUntilSettled(db, record.accepted.map((e) => e.idempotencyKey));
    for (const job of committed) {
      const returned = await waitFor(() => completedWith(redis.url, queue, job.id), `job ${job.id} to complete again`, 30_000);
      // Applied once before the kill; the second run found every key claimed and charged nothing.
      expect(returned).toEqual({ applied: 0, rejected: 0, duplicate: job.events.length });
    }
    await expectAppliedExactlyOnce(db, record, start);
  });
});
