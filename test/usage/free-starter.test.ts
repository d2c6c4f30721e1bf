import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, type TestEngine } from '../support/engine.js';

describe('a Free Starter account (the seed story)', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(async () => engine?.stop());

  it('opens with 10 tokens, runs three resume analyses, and is refused a 4-token job match', async () => {
    const created = await engine.api('POST', '/v1/accounts', { userId: 'starter-1' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ plan: { id: 'free_starter', monthlyTokens: 10 }, balance: 10, allocatedThisPeriod: 10 });

    // One use after another, as a person works through the pages.
    for (const n of [1, 2, 3]) {
      const r = await engine.api('POST', '/v1/usage', { userId: 'starter-1', feature: 'resume_analysis', idempotencyKey: `analysis-${n}` });
      expect(r.status).toBe(202);
      expect(r.body).toEqual({ status: 'queued', idempotencyKey: `analysis-${n}` });
      expect(await settled(engine, `analysis-${n}`)).toMatchObject({ status: 'applied', cost: 3, balanceAfter: 10 - 3 * n });
    }
    const match = await engine.api('POST', '/v1/usage', { userId: 'starter-1', feature: '06_Job_Match.py', idempotencyKey: 'match-1' });
    expect(match.status).toBe(202);
    expect(await settled(engine, 'match-1')).toMatchObject({ status: 'rejected', reason: 'insufficient_tokens', cost: 4, balanceAfter: 1 });

    const account = await engine.api('GET', '/v1/accounts/starter-1');
    expect(account.body).toMatchObject({ balance: 1, held: 0, usedThisPeriod: 9, allocatedThisPeriod: 10, percentUsed: 90 });
    expect(account.body.warning).toEqual({ level: 90, message: '⚠️ You have 10% tokens remaining' });

    const ledger = await engine.api('GET', '/v1/accounts/starter-1/ledger');
    expect(ledger.body.entries.map((e: any) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      ['use', -3, 1],
      ['use', -3, 4],
      ['use', -3, 7],
      ['grant', 10, 10],
    ]);
  });

  it('re-creating an existing account answers 200 and grants nothing more', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'starter-2' });
    const again = await engine.api('POST', '/v1/accounts', { userId: 'starter-2', plan: 'enterprise_pro' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ plan: { id: 'free_starter' }, balance: 10 });
  });

  it('lists the catalog with tiers derived from cost, and the four plans', async () => {
    const features = await engine.api('GET', '/v1/features');
    const byKey = new Map(features.body.features.map((f: any) => [f.key, f]));
    expect(features.body.features).toHaveLength(70);
    expect(byKey.get('06_Job_Match.py')).toMatchObject({ cost: 4, baseCost: 4, tier: 'STANDARD', enabled: true });
    expect(byKey.get('custom_ai_training')).toMatchObject({ cost: 100, tier: 'MEGA' });
    expect(byKey.get('00_Home.py')).toMatchObject({ cost: 0, tier: 'FREE' });
    expect(byKey.get('22_Mentorship_Marketplace.py')).toMatchObject({ cost: 30, tier: 'ENTERPRISE' });
    const plans = await engine.api('GET', '/v1/plans');
    expect(plans.body.plans.map((p: any) => [p.id, p.monthlyTokens])).toEqual([
      ['free_starter', 10],
      ['monthly_pro', 100],
      ['annual_pro', 250],
      ['enterprise_pro', 1000],
    ]);
  });
});
