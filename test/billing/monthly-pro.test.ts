import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { ledger, renewAt } from './cycle.js';

describe('a Monthly Pro account through its months, on the test clock', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2027-03-01T09:00:00Z');
  });
  afterAll(async () => engine?.stop());

  async function spend(userId: string, feature: string, times: number) {
    for (let i = 0; i < times; i++) {
      const key = `${userId}-${feature}-${Date.now()}-${i}`;
      await engine.api('POST', '/v1/usage', { userId, feature, idempotencyKey: key });
      expect(await settled(engine, key)).toMatchObject({ status: 'applied' });
    }
  }

  it('spends 40 of its 100 tokens, and at the period end the renewal restores 100; a replayed renewal allocates nothing more', async () => {
    const created = await engine.api('POST', '/v1/accounts', { userId: 'maya', plan: 'monthly_pro' });
    expect(created.body).toMatchObject({
      balance: 100,
      period: { start: '2027-03-01T09:00:00.000Z', end: '2027-04-01T09:00:00.000Z' },
    });
    await spend('maya', 'enhanced_job_match', 5); // 8 tokens each
    expect((await engine.api('GET', '/v1/accounts/maya')).body).toMatchObject({ balance: 60, usedThisPeriod: 40, allocatedThisPeriod: 100, percentUsed: 40 });

    const [renewed] = await renewAt(engine, '2027-04-01T09:00:00Z', 'maya');
    expect(renewed).toMatchObject({
      plan: { id: 'monthly_pro' },
      balance: 100,
      usedThisPeriod: 0,
      allocatedThisPeriod: 100,
      percentUsed: 0,
      period: { start: '2027-04-01T09:00:00.000Z', end: '2027-05-01T09:00:00.000Z' },
    });
    const entries = await ledger(engine, 'maya');
    expect(entries.slice(-2).map((e) => [e.kind, e.amount, e.balanceAfter, e.source, e.occurredAt])).toEqual([
      ['expiry', -60, 0, 'plan', '2027-04-01T09:00:00.000Z'],
      ['grant', 100, 100, 'plan:monthly_pro', '2027-04-01T09:00:00.000Z'],
    ]);

    // The same renewal job again (a retry after a crash), and the schedule firing again: nothing more.
    const queue = engine.running.engine.queues.renewal;
    const replay = await queue.add('renew', { userId: 'maya', periodIndex: 0, asOf: '2027-04-01T09:00:00.000Z' }, { jobId: 'replayed-maya-0' });
    const result = await waitFor(async () => ((await replay.getState()) === 'completed' ? (await queue.getJob(replay.id!))!.returnvalue : undefined), 'the replayed renewal');
    expect(result).toEqual({ renewed: 0 });
    expect(await runJob(engine, 'renewals')).toEqual({ due: 0 });
    expect((await engine.api('GET', '/v1/accounts/maya')).body).toMatchObject({ balance: 100, allocatedThisPeriod: 100 });
    expect(await ledger(engine, 'maya')).toHaveLength(entries.length);
  });

  it('with a rollover of up to 30 tokens, the unspent plan tokens carry over, capped, and never pile up', async () => {
    const changed = await engine.admin('PUT', '/admin/api/plans/monthly_pro', { rolloverMax: 30 });
    expect(changed.body).toMatchObject({ id: 'monthly_pro', monthlyTokens: 100, rolloverMax: 30 });
    await engine.api('POST', '/v1/accounts', { userId: 'noor', plan: 'monthly_pro' }); // from 2027-04-01T09:00
    await spend('noor', 'enhanced_job_match', 10); // 80 of 100

    const [noor, maya] = await renewAt(engine, '2027-05-01T09:00:00Z', 'noor', 'maya');
    expect(noor).toMatchObject({ balance: 120, allocatedThisPeriod: 120, usedThisPeriod: 0 }); // 20 kept + 100
    expect(maya).toMatchObject({ balance: 130, allocatedThisPeriod: 130 }); // 100 unspent, 30 kept
    expect((await ledger(engine, 'maya')).slice(-3).map((e) => [e.kind, e.amount, e.source])).toEqual([
      ['expiry', -100, 'plan'],
      ['grant', 30, 'rollover:monthly_pro'],
      ['grant', 100, 'plan:monthly_pro'],
    ]);

    // Nothing spent: 130 unspent, still only 30 kept.
    const [again] = await renewAt(engine, '2027-06-01T09:00:00Z', 'maya');
    expect(again).toMatchObject({ balance: 130, allocatedThisPeriod: 130 });
  });

  it('purchased and bonus tokens keep their own expiry across renewals', async () => {
    await engine.admin('POST', '/admin/api/accounts/noor/grants', { tokens: 7, reason: 'goodwill' });
    const [noor] = await renewAt(engine, '2027-07-01T09:00:00Z', 'noor');
    // 127 unspent plan and rollover tokens: 30 kept, 100 allocated, and the 7 goodwill tokens stay.
    expect(noor).toMatchObject({ balance: 137, allocatedThisPeriod: 137 });
  });
});
