import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

/** A usage event as it travels in a job, written by hand so that one job carries all three. */
const queued = (userId: string, idempotencyKey: string, extra: Record<string, unknown> = {}) => ({
  userId,
  feature: 'resume_upload',
  idempotencyKey,
  occurredAt: '2026-12-01T09:00:00.000Z',
  payloadHash: `hash-${idempotencyKey}`,
  ...extra,
});

describe('a usage event that would break a ledger invariant fails its job once, for good, and is counted', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T09:00:00Z');
    for (const userId of ['steady', 'corrupted']) {
      expect((await engine.api('POST', '/v1/accounts', { userId, plan: 'monthly_pro' })).status).toBe(201);
    }
  });
  afterAll(async () => engine?.stop());

  it('the held tokens a reservation spends were zeroed by hand: the use is not written, its neighbours are, the job is not retried', async () => {
    const hold = await engine.api('POST', '/v1/check', { userId: 'corrupted', feature: 'ai_interview_coach', reserve: true });
    expect(hold.body).toMatchObject({ allowed: true, cost: 8 });
    // What a bug elsewhere could leave behind: the account no longer holds what its open hold says.
    const db = engine.running.engine.db;
    await sql`update accounts set held = 0 where user_id = 'corrupted'`.execute(db);

    const usage = engine.running.engine.queues.usage;
    const job = await usage.add('shard-0', {
      events: [
        queued('steady', 'steady-1'),
        queued('corrupted', 'spend-held', { feature: 'ai_interview_coach', reservationId: hold.body.reservationId }),
        queued('steady', 'steady-2'),
      ],
    });
    // "failed" and not "delayed": BullMQ gave up at the first attempt, of the 500 a usage job has.
    const failed = await waitFor(async () => ((await usage.getJobState(job.id!)) === 'failed' ? usage.getJob(job.id!) : undefined), 'the job to fail');
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.opts.attempts).toBe(500);
    expect(failed?.failedReason).toMatch(/spend-held broke a ledger invariant/);
    // Its neighbours settled before it failed.
    for (const key of ['steady-1', 'steady-2']) expect(await settled(engine, key)).toMatchObject({ status: 'applied', cost: 3 });

    const { rows } = await sql<{ n: number }>`select count(*) as n from usage_events where idempotency_key = 'spend-held'`.execute(db);
    expect(rows[0]!.n).toBe(0); // unsettled, for an operator to replay once the account is repaired
    expect((await engine.api('GET', '/v1/accounts/corrupted')).body).toMatchObject({ balance: 92, held: 0, usedThisPeriod: 0 });
    expect((await engine.api('GET', '/v1/accounts/steady')).body).toMatchObject({ balance: 94, usedThisPeriod: 6 });
    const counted = await engine.running.engine.metrics.ledgerInvariantViolations.get();
    expect(counted.values).toEqual([expect.objectContaining({ labels: { queue: 'usage' }, value: 1 })]);
  });
});
