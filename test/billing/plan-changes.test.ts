import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { ledger, renewAt } from './cycle.js';

describe('plan changes: an upgrade at once, prorated; a downgrade at the next renewal', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2027-01-01T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  const changePlan = (userId: string, plan: string) => engine.api('PUT', `/v1/accounts/${userId}/plan`, { plan });

  it('Monthly Pro to Enterprise Pro with 21 of 31 days left grants ceil(900 × 21/31) = 610 tokens, expiring with the period', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'ugo', plan: 'monthly_pro' }); // 2027-01-01 to 2027-02-01
    await engine.api('POST', '/v1/usage', { userId: 'ugo', feature: 'cv_generator', idempotencyKey: 'ugo-1' });
    await settled(engine, 'ugo-1');
    await engine.setClock('2027-01-11T00:00:00Z');

    const upgraded = await changePlan('ugo', 'enterprise_pro');
    expect(upgraded.status).toBe(200);
    expect(upgraded.body).toMatchObject({
      change: 'upgrade',
      effectiveAt: '2027-01-11T00:00:00.000Z',
      tokensGranted: 610,
      pendingPlan: null,
      account: { plan: { id: 'enterprise_pro' }, balance: 95 + 610, usedThisPeriod: 5, allocatedThisPeriod: 710, percentUsed: 0 },
    });
    const [grant] = (await ledger(engine, 'ugo')).slice(-1);
    expect(grant).toMatchObject({ kind: 'grant', amount: 610, source: 'plan:enterprise_pro' });

    const [renewed] = await renewAt(engine, '2027-02-01T00:00:00Z', 'ugo');
    expect(renewed).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000, allocatedThisPeriod: 1000 });
  });

  it('Enterprise Pro to Monthly Pro keeps Enterprise until the renewal, then allocates 100', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'dora', plan: 'enterprise_pro' }); // 2027-02-01 to 2027-03-01
    await engine.setClock('2027-02-15T00:00:00Z');
    const downgraded = await changePlan('dora', 'monthly_pro');
    expect(downgraded.body).toMatchObject({
      change: 'downgrade',
      effectiveAt: '2027-03-01T00:00:00.000Z',
      tokensGranted: 0,
      pendingPlan: 'monthly_pro',
      account: { plan: { id: 'enterprise_pro' }, balance: 1000 },
    });
    expect((await engine.api('GET', '/v1/accounts/dora/billing')).body.pendingPlan).toBe('monthly_pro');

    const [dora] = await renewAt(engine, '2027-03-01T00:00:00Z', 'dora');
    expect(dora).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100, allocatedThisPeriod: 100 });
    expect((await engine.api('GET', '/v1/accounts/dora/billing')).body.pendingPlan).toBeNull();
  });

  it('asking for the current plan again cancels a pending downgrade', async () => {
    await changePlan('ugo', 'free_starter');
    const kept = await changePlan('ugo', 'enterprise_pro');
    expect(kept.body).toMatchObject({ change: 'none', pendingPlan: null, tokensGranted: 0 });
    const [ugo] = await renewAt(engine, '2027-04-01T00:00:00Z', 'ugo');
    expect(ugo).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000 });
  });

  it('an unknown plan is a 400 and an unknown account a 404, changing nothing', async () => {
    const unknownPlan = await changePlan('ugo', 'platinum');
    expect([unknownPlan.status, unknownPlan.body.error.code]).toEqual([400, 'unknown_plan']);
    const noAccount = await changePlan('nobody', 'monthly_pro');
    expect([noAccount.status, noAccount.body.error.code]).toEqual([404, 'account_not_found']);
    const badBody = await engine.api('PUT', '/v1/accounts/ugo/plan', { plan: 'monthly_pro', tokens: 5 });
    expect([badBody.status, badBody.body.error.code]).toEqual([400, 'validation_failed']);
    expect((await engine.api('GET', '/v1/accounts/ugo')).body).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000 });
  });
});
