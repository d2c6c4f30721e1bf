import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

/** A usage event as it travels in a job, written by hand: these jobs skip the intake on purpose. */
const queued = (userId: string, idempotencyKey: string, extra: Record<string, unknown> = {}) => ({
  userId,
  feature: 'resume_upload',
  idempotencyKey,
  occurredAt: '2026-12-01T00:00:00.000Z',
  payloadHash: `hash-${idempotencyKey}`,
  ...extra,
});

describe('a poisoned usage event fails only itself: the other events of its job are applied', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
    for (const userId of ['victim-a', 'victim-b', 'poisoner']) {
      expect((await engine.api('POST', '/v1/accounts', { userId, plan: 'monthly_pro' })).status).toBe(201);
    }
  });
  afterAll(async () => engine?.stop());

  const usageQueue = () => engine.running.engine.queues.usage;
  const jobSettled = async (id: string) => {
    const state = await usageQueue().getJobState(id);
    return state === 'completed' || state === 'failed' || state === 'unknown' ? state : undefined;
  };

  it('events the intake would refuse (U+0000 in metadata, year 0, no feature), enqueued past it, are rejected one by one', async () => {
    // The issue's poison: one event that PostgreSQL cannot store, in the same job as other accounts' events.
    const job = await usageQueue().add('shard-0', {
      events: [
        queued('victim-a', 'a-1'),
        queued('poisoner', 'nul-1', { metadata: { note: 'a\u0000b' } }),
        queued('victim-b', 'b-1'),
        queued('poisoner', 'year-0', { occurredAt: '0000-01-01T00:00:00Z' }),
        queued('victim-a', 'a-2'),
        { userId: 'poisoner', idempotencyKey: 'shapeless' },
      ],
    });
    for (const key of ['a-1', 'b-1', 'a-2']) expect(await settled(engine, key)).toMatchObject({ status: 'applied', cost: 3 });
    for (const key of ['nul-1', 'year-0', 'shapeless']) expect(await settled(engine, key)).toMatchObject({ status: 'rejected', reason: 'invalid_event', cost: 0 });
    expect(await waitFor(() => jobSettled(job.id!), 'the job to finish')).not.toBe('failed');

    expect((await engine.api('GET', '/v1/accounts/victim-a')).body).toMatchObject({ balance: 94, usedThisPeriod: 6 });
    expect((await engine.api('GET', '/v1/accounts/victim-b')).body).toMatchObject({ balance: 97, usedThisPeriod: 3 });
    expect((await engine.api('GET', '/v1/accounts/poisoner')).body).toMatchObject({ balance: 100, usedThisPeriod: 0 });
  });

  it('an event PostgreSQL itself refuses is split out of its merged transaction and rejected; its neighbours are applied', async () => {
    // Make the database refuse one event's ledger entry, as it refuses any value it cannot store.
    const db = engine.running.engine.db;
    await sql`alter table ledger_entries add constraint test_refuses_poison check (usage_key is null or usage_key not like 'poison%')`.execute(db);
    const job = await usageQueue().add('shard-1', {
      events: [queued('victim-a', 'a-3'), queued('victim-b', 'b-2'), queued('poisoner', 'poison-1'), queued('victim-b', 'b-3'), queued('victim-a', 'a-4')],
    });
    for (const key of ['a-3', 'b-2', 'b-3', 'a-4']) expect(await settled(engine, key)).toMatchObject({ status: 'applied' });
    expect(await settled(engine, 'poison-1')).toMatchObject({ status: 'rejected', reason: 'invalid_event' });
    expect(await waitFor(() => jobSettled(job.id!), 'the job to finish')).not.toBe('failed');
    expect((await engine.api('GET', '/v1/accounts/victim-a')).body).toMatchObject({ balance: 88 });
    expect((await engine.api('GET', '/v1/accounts/victim-b')).body).toMatchObject({ balance: 91 });
    expect((await engine.api('GET', '/v1/accounts/poisoner')).body).toMatchObject({ balance: 100 });
    await sql`alter table ledger_entries drop constraint test_refuses_poison`.execute(db);
  });

  it('the rejected keys stay settled: sent again through the API, the same key is not charged', async () => {
    const replay = await engine.api('POST', '/v1/usage', { userId: 'poisoner', feature: 'resume_upload', idempotencyKey: 'nul-1' });
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('idempotency_conflict');
    expect((await engine.api('GET', '/v1/accounts/poisoner')).body).toMatchObject({ balance: 100 });
  });
});
