import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.js';
import { ledger, renewAt } from './cycle.js';
import { WEBHOOK_SECRET, deliverAndApply, planCheckout } from './stripe.js';

describe('Annual Pro: billed once a year, 250 tokens every month', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-01-10T08:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('one payment, then 13 monthly allocations of 250 across 13 months', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'ana' });
    await engine.setClock('2027-01-20T12:00:00Z');
    await deliverAndApply(engine, planCheckout({ userId: 'ana', plan: 'annual_pro', amount: 19900, subscription: 'sub_ana' }));
    const billing = (await engine.api('GET', '/v1/accounts/ana/billing')).body;
    expect(billing).toMatchObject({ plan: 'annual_pro', status: 'active', paidThrough: '2028-01-20T12:00:00.000Z' });

    const months = ['02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'].map((m) => `2027-${m}-20T12:00:00Z`);
    // Each month of the paid year also counts for loyalty: +5% (12) from the 3rd month, +10% (25) from the 6th, +20% (50) at the 12th.
    const loyaltyBonus = [0, 0, 12, 12, 12, 25, 25, 25, 25, 25, 25, 50];
    for (const [i, at] of [...months, '2028-01-20T12:00:00Z'].entries()) {
      const [ana] = await renewAt(engine, at, 'ana');
      expect(ana).toMatchObject({ plan: { id: 'annual_pro', monthlyTokens: 250 }, balance: 250 + loyaltyBonus[i]!, allocatedThisPeriod: 250 + loyaltyBonus[i]! });
    }

    const allocations = (await ledger(engine, 'ana')).filter((e) => e.kind === 'grant' && e.source === 'plan:annual_pro');
    expect(allocations).toHaveLength(13);
    expect(allocations.every((e) => e.amount === 250)).toBe(true);
    expect(allocations.map((e) => e.occurredAt.slice(0, 7))).toEqual([
      '2027-01', '2027-02', '2027-03', '2027-04', '2027-05', '2027-06', '2027-07',
      '2027-08', '2027-09', '2027-10', '2027-11', '2027-12', '2028-01',
    ]);
    const payments = (await engine.api('GET', '/v1/accounts/ana/billing')).body.payments;
    expect(payments).toEqual([
      expect.objectContaining({ kind: 'plan', plan: 'annual_pro', amountCents: 19900, currency: 'usd', period: { start: '2027-01-20T12:00:00.000Z', end: '2028-01-20T12:00:00.000Z' } }),
    ]);
  });
});
