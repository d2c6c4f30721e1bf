import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { ledger } from './cycle.js';

describe('downtime: renewals missed while no scheduler ran are caught up, in order', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    // API and workers only: no scheduler fires while the clock moves on.
    engine = await startTestEngine({ TOKENS_ROLES: 'api,workers' });
    await engine.setClock('2027-01-15T10:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('three periods missed: three renewals, each period expiring before the next is allocated', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'dana', plan: 'monthly_pro' });
    await engine.api('POST', '/v1/usage', { userId: 'dana', feature: 'resume_upload', idempotencyKey: 'dana-1' });
    await settled(engine, 'dana-1');

    await engine.setClock('2027-04-16T00:00:00Z');
    const stale = (await engine.api('GET', '/v1/accounts/dana')).body;
    expect(stale).toMatchObject({ balance: 0, period: { start: '2027-01-15T10:00:00.000Z' } }); // expired, not renewed

    // The operator replays the missed schedule (the scheduler's next tick does the same).
    expect(await runJob(engine, 'renewals')).toEqual({ due: 1 });
    const account = await waitFor(async () => {
      const a = (await engine.api('GET', '/v1/accounts/dana')).body;
      return a.period.start === '2027-04-15T10:00:00.000Z' ? a : undefined;
    }, 'dana to be renewed three times');
    expect(account).toMatchObject({ balance: 100, usedThisPeriod: 0, allocatedThisPeriod: 100, period: { end: '2027-05-15T10:00:00.000Z' } });

    expect((await ledger(engine, 'dana')).map((e) => [e.kind, e.amount, e.balanceAfter, e.occurredAt.slice(0, 10)])).toEqual([
      ['grant', 100, 100, '2027-01-15'],
      ['use', -3, 97, '2027-01-15'],
      ['expiry', -97, 0, '2027-02-15'],
      ['grant', 100, 100, '2027-02-15'],
      ['expiry', -100, 0, '2027-03-15'],
      ['grant', 100, 100, '2027-03-15'],
      ['expiry', -100, 0, '2027-04-15'],
      ['grant', 100, 100, '2027-04-15'],
    ]);
    const jobs = await engine.running.engine.queues.renewal.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
    expect(jobs.map((j) => j.id)).toEqual(['renewal-dana-0']);
  });

  it('plan tokens the expiry sweep removed before the renewal ran still count towards the rollover', async () => {
    await engine.admin('PUT', '/admin/api/plans/monthly_pro', { rolloverMax: 25 });
    await engine.api('POST', '/v1/accounts', { userId: 'eli', plan: 'monthly_pro' }); // 2027-04-16 to 2027-05-16
    await engine.setClock('2027-05-17T00:00:00Z');
    expect(await runJob(engine, 'holds')).toMatchObject({ tokensExpired: 100 + 100 }); // eli's and dana's
    expect(await runJob(engine, 'renewals')).toEqual({ due: 2 });
    const eli = await waitFor(async () => {
      const a = (await engine.api('GET', '/v1/accounts/eli')).body;
      return a.period.start === '2027-05-16T00:00:00.000Z' ? a : undefined;
    }, 'eli to be renewed');
    expect(eli).toMatchObject({ balance: 125, allocatedThisPeriod: 125 });
    expect((await ledger(engine, 'eli')).map((e) => [e.kind, e.amount, e.source])).toEqual([
      ['grant', 100, 'plan:monthly_pro'],
      ['expiry', -100, 'plan'],
      ['grant', 25, 'rollover:monthly_pro'],
      ['grant', 100, 'plan:monthly_pro'],
    ]);
  });
});
