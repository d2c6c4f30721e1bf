import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, type TestEngine } from '../support/engine.js';

describe("the user's token dashboard (the seed's Monthly Pro example)", () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-11-01T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'maya', plan: 'monthly_pro' });
    await engine.setClock('2026-11-10T00:00:00Z');
    const uses = [
      ...Array.from({ length: 15 }, (_, i) => ({ feature: 'resume_analysis', key: `ra-${i}` })),
      ...Array.from({ length: 5 }, (_, i) => ({ feature: '06_Job_Match.py', key: `jm-${i}` })),
      { feature: '07_AI_Interview_Coach_INTEGRATED.py', key: 'coach-0' },
    ];
    await engine.api('POST', '/v1/usage/batch', { events: uses.map((u) => ({ userId: 'maya', feature: u.feature, idempotencyKey: u.key })) });
    await Promise.all(uses.map((u) => settled(engine, u.key)));
    await engine.setClock('2026-11-19T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('shows 75/100 used, 12 days to renewal and the most used features with their tokens', async () => {
    const r = await engine.api('GET', '/v1/accounts/maya/dashboard');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      plan: { id: 'monthly_pro', name: 'Monthly Pro', monthlyTokens: 100 },
      used: 75,
      allocated: 100,
      percentUsed: 75,
      balance: 25,
      daysUntilRenewal: 12,
      warning: null,
    });
    expect(r.body.mostUsedFeatures.map((f: any) => [f.name, f.tokens])).toEqual([
      ['Resume Analysis', 45],
      ['Job Match', 20],
      ['AI Interview Coach INTEGRATED', 10],
    ]);
  });

  it('projects the pace: 125 tokens by the period end, the balance running out on 25 November', async () => {
    const r = await engine.api('GET', '/v1/accounts/maya/dashboard');
    expect(r.body.projectedUse).toBe(125);
    expect(r.body.runsOutAt).toBe('2026-11-25T00:00:00.000Z');
  });

  it('recommends Annual Pro for +150 tokens/month, and a mix of her usual features that fits the 25 left', async () => {
    const { recommendations } = (await engine.api('GET', '/v1/accounts/maya/dashboard')).body;
    expect(recommendations.upgrade).toMatchObject({
      plan: 'annual_pro',
      monthlyTokens: 250,
      extraTokensPerMonth: 150,
      message: 'Upgrade to Annual Pro for +150 tokens/month',
    });
    expect(recommendations.combo).toEqual({
      items: [
        { feature: 'resume_analysis', name: 'Resume Analysis', cost: 3, uses: 7, tokens: 21 },
        { feature: '06_Job_Match.py', name: 'Job Match', cost: 4, uses: 1, tokens: 4 },
      ],
      tokens: 25,
      leftover: 0,
    });
    expect(recommendations.fitsRemaining).toContainEqual({ feature: '07_AI_Interview_Coach_INTEGRATED.py', name: 'AI Interview Coach INTEGRATED', cost: 10, uses: 2 });
  });

  it('an unknown user has no dashboard', async () => {
    expect((await engine.api('GET', '/v1/accounts/nobody/dashboard')).status).toBe(404);
  });
});
