import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.js';
import { renewAt } from './cycle.js';

describe('PUT /admin/api/plans/{id}: admin-editable allocations, prices and rollover', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2027-01-01T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  const monthlyPro = async () => (await engine.api('GET', '/v1/plans')).body.plans.find((p: any) => p.id === 'monthly_pro');

  it('a change is audited and applies from each account’s next renewal', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'pia', plan: 'monthly_pro' });
    const changed = await engine.admin('PUT', '/admin/api/plans/monthly_pro', { monthlyTokens: 120, priceCents: 2400, rolloverMax: 20 });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({
      id: 'monthly_pro',
      name: 'Monthly Pro',
      monthlyTokens: 120,
      priceCents: 2400,
      currency: 'usd',
      billingInterval: 'month',
      rolloverMax: 20,
      stripePrices: [],
    });
    expect(await monthlyPro()).toMatchObject({ monthlyTokens: 120, rolloverMax: 20 });
    const [entry] = (await engine.admin('GET', '/admin/api/audit')).body.entries;
    expect(entry).toMatchObject({
      action: 'plan.update',
      subject: 'plan:monthly_pro',
      actor: expect.stringMatching(/^admin-key:/),
      before: { monthlyTokens: 100, priceCents: 1900, rolloverMax: 0 },
      after: { monthlyTokens: 120, priceCents: 2400, rolloverMax: 20 },
      at: '2027-01-01T00:00:00.000Z',
    });
    expect((await engine.api('GET', '/v1/accounts/pia')).body).toMatchObject({ balance: 100, plan: { monthlyTokens: 120 } });

    const [pia] = await renewAt(engine, '2027-02-01T00:00:00Z', 'pia');
    expect(pia).toMatchObject({ balance: 20 + 120, allocatedThisPeriod: 140 });
  });

  it('bad input is a 400 naming what is wrong, an unknown plan a 404, and neither changes anything', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /at least one/],
      [{ monthlyTokens: -1 }, /monthlyTokens/],
      [{ monthlyTokens: 1.5 }, /monthlyTokens/],
      [{ rolloverMax: 'ten' }, /rolloverMax/],
      [{ priceCents: -100 }, /priceCents/],
      [{ currency: 'dollars' }, /currency/],
      [{ name: '' }, /name/],
      [{ color: 'gold' }, /color/],
    ];
    for (const [body, mentions] of cases) {
      const r = await engine.admin('PUT', '/admin/api/plans/monthly_pro', body);
      expect([r.status, r.body.error.code]).toEqual([400, 'validation_failed']);
      expect(JSON.stringify(r.body.error)).toMatch(mentions);
    }
    const unknown = await engine.admin('PUT', '/admin/api/plans/platinum', { monthlyTokens: 5 });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    const asService = await engine.api('PUT', '/admin/api/plans/monthly_pro', { monthlyTokens: 5 });
    expect(asService.status).toBe(401);
    expect(await monthlyPro()).toMatchObject({ monthlyTokens: 120, priceCents: 2400, rolloverMax: 20 });
  });
});
