import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDefaultUser } from '../../src/db/database.js';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { createUsageProducer, type UsageProducer } from '../../src/index.js';

describe('idempotency: a key is charged once', () => {
  let engine: TestEngine;
  let producer: UsageProducer;
  beforeAll(async () => {
    engine = await startTestEngine();
    producer = await createUsageProducer({ databaseUrl: engine.databaseUrl, queuePrefix: engine.prefix });
    await engine.api('POST', '/v1/accounts', { userId: 'pro-1', plan: 'monthly_pro' });
  });
  afterAll(async () => {
    await producer?.close();
    await engine?.stop();
  });

  const balance = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body.balance as number;

  it('the same HTTP request replayed five times, before and after it settles, charges once', async () => {
    const event = { userId: 'pro-1', feature: 'resume_upload', idempotencyKey: 'upload-7', metadata: { file: 'cv.pdf' } };
    const first = await Promise.all([1, 2, 3].map(() => engine.api('POST', '/v1/usage', event)));
    expect(first.map((r) => r.status)).toEqual([202, 202, 202]);
    await settled(engine, 'upload-7');
    const later = await Promise.all([1, 2].map(() => engine.api('POST', '/v1/usage', event)));
    expect(later.map((r) => r.status)).toEqual([202, 202]);
    expect(await balance('pro-1')).toBe(97);
    const ledger = await engine.api('GET', '/v1/accounts/pro-1/ledger');
    expect(ledger.body.entries.filter((e: any) => e.idempotencyKey === 'upload-7')).toHaveLength(1);
  });

  it('the same key with another payload is a 409 that changes nothing, in flight and after settling', async () => {
    const conflict = await engine.api('POST', '/v1/usage', { userId: 'pro-1', feature: 'cv_generator', idempotencyKey: 'upload-7' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('idempotency_conflict');

    await engine.api('POST', '/v1/usage', { userId: 'pro-1', feature: 'profile_basic', idempotencyKey: 'inflight-1' });
    const inFlight = await engine.api('POST', '/v1/usage', { userId: 'pro-1', feature: 'profile_basic', idempotencyKey: 'inflight-1', metadata: { x: 1 } });
    expect(inFlight.status).toBe(409);
    await settled(engine, 'inflight-1');
    expect(await balance('pro-1')).toBe(96);
  });

  it('a batch that reuses a key with another payload is refused whole', async () => {
    const r = await engine.api('POST', '/v1/usage/batch', {
      events: [
        { userId: 'pro-1', feature: 'profile_basic', idempotencyKey: 'batch-fresh-1' },
        { userId: 'pro-1', feature: 'ai_insights', idempotencyKey: 'upload-7' },
      ],
    });
    expect(r.status).toBe(409);
    expect(r.body.error.details).toEqual({ idempotencyKeys: ['upload-7'] });
    // batch-fresh-1 was not queued, and its key is still free for its first real use
    expect((await engine.api('GET', '/v1/usage/batch-fresh-1')).status).toBe(404);
    const reuse = await engine.api('POST', '/v1/usage', { userId: 'pro-1', feature: 'ai_insights', idempotencyKey: 'batch-fresh-1' });
    expect(reuse.status).toBe(202);
    expect(await settled(engine, 'batch-fresh-1')).toMatchObject({ status: 'applied', cost: 7 });
  });

  it('a batch answers one result per event and applies each once, duplicates inside it included', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'pro-2', plan: 'monthly_pro' });
    const events = Array.from({ length: 20 }, (_, i) => ({ userId: 'pro-2', feature: 'profile_basic', idempotencyKey: `b-${i % 10}` }));
    const r = await engine.api('POST', '/v1/usage/batch', { events });
    expect(r.status).toBe(202);
    expect(r.body.results).toHaveLength(20);
    expect(r.body.results[13]).toEqual({ idempotencyKey: 'b-3', status: 'queued' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => settled(engine, `b-${i}`)));
    expect(await balance('pro-2')).toBe(90);
  });

  it('the in-process producer follows the same rules: replay charges once, another payload is refused', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'pro-3', plan: 'monthly_pro' });
    const event = { userId: 'pro-3', feature: '06_Job_Match.py', idempotencyKey: 'prod-1' };
    await producer.enqueueUsage(event);
    await producer.enqueueUsage(event);
    await producer.enqueueUsageBatch([event, { userId: 'pro-3', feature: 'profile_basic', idempotencyKey: 'prod-2' }]);
    await expect(producer.enqueueUsage({ ...event, feature: 'resume_upload' })).rejects.toMatchObject({ code: 'idempotency_conflict' });
    await expect(producer.enqueueUsage({ ...event, userId: 'nobody' })).rejects.toMatchObject({ code: 'account_not_found' });
    await expect(producer.enqueueUsage({ ...event, idempotencyKey: '' })).rejects.toMatchObject({ code: 'validation_failed' });
    await settled(engine, 'prod-1');
    await settled(engine, 'prod-2');
    await waitFor(async () => (await balance('pro-3')) === 95, 'balance 95');
    // and HTTP sees the producer's key as the same event
    expect((await engine.api('POST', '/v1/usage', event)).status).toBe(202);
    expect((await engine.api('POST', '/v1/usage', { ...event, feature: 'resume_upload' })).status).toBe(409);
  });

  it('a key another transaction settles while the worker writes it is not charged again, and the worker goes on', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'pro-4', plan: 'monthly_pro' });
    const other = new pg.Client({ connectionString: withDefaultUser(engine.databaseUrl) });
    const observer = new pg.Client({ connectionString: withDefaultUser(engine.databaseUrl) });
    await Promise.all([other.connect(), observer.connect()]);
    try {
      // Another account's transaction (say a second engine's worker) is settling the same key and has not committed.
      await other.query('begin');
      await other.query(`insert into usage_events (idempotency_key, user_id, feature_key, payload_hash, status, cost, occurred_at, applied_at)
                         values ('raced-1', 'pro-3', 'profile_basic', 'elsewhere', 'applied', 1, now(), now())`);
      expect((await engine.api('POST', '/v1/usage', { userId: 'pro-4', feature: 'resume_upload', idempotencyKey: 'raced-1' })).status).toBe(202);
      // Read by a session of its own: inside `other`'s transaction, pg_stat_activity would stay as first read.
      const waitingOnKey = async () =>
        Number((await observer.query(
          `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%insert into usage_events%'`,
        )).rows[0].n) >= 1;
      await waitFor(waitingOnKey, 'the worker to wait on the uncommitted key');
      await other.query('commit');

      expect((await engine.api('POST', '/v1/usage', { userId: 'pro-4', feature: 'profile_basic', idempotencyKey: 'after-race' })).status).toBe(202);
      expect(await settled(engine, 'after-race')).toMatchObject({ status: 'applied' });
      // Settled once, by the other transaction: pro-4 paid for 'after-race' only (1 token), not for 'raced-1' (3).
      expect(await balance('pro-4')).toBe(99);
      expect((await engine.api('GET', '/v1/usage/raced-1')).body).toMatchObject({ status: 'applied', userId: 'pro-3' });
      const ledger = await engine.api('GET', '/v1/accounts/pro-4/ledger');
      expect(ledger.body.entries.filter((e: any) => e.idempotencyKey === 'raced-1')).toHaveLength(0);
    } finally {
      await Promise.all([other.end(), observer.end()]);
    }
  });
});
