import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.js';
import { ledger, renewAt } from '../billing/cycle.js';
import { WEBHOOK_SECRET, deliverAndApply, invoiceEvent, planCheckout } from '../billing/stripe.js';

const month = (k: number) => new Date(Date.UTC(2027, k, 1)).toISOString();

describe('loyalty rewards: consecutive paid months earn a bonus at each renewal', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock(month(0));
  });
  afterAll(async () => engine?.stop());

  it('a Monthly Pro account paid for 12 months gets +5% from the 3rd renewal, +10% from the 6th, +20% from the 12th', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'loyal' });
    await deliverAndApply(engine, planCheckout({ userId: 'loyal', plan: 'monthly_pro', amount: 1900, subscription: 'sub_loyal' }));
    const bonuses: number[] = [];
    for (let k = 1; k <= 12; k++) {
      await deliverAndApply(engine, invoiceEvent('invoice.paid', { userId: 'loyal', subscription: 'sub_loyal', amount: 1900, period: { start: month(k), end: month(k + 1) } }));
      const [account] = await renewAt(engine, month(k), 'loyal');
      bonuses.push(account.balance - 100);
      expect(account.loyalty.months).toBe(k);
    }
    expect(bonuses).toEqual([0, 0, 5, 5, 5, 10, 10, 10, 10, 10, 10, 20]);
    const entries = await ledger(engine, 'loyal');
    expect(entries.filter((e) => e.source === 'bonus:loyalty').map((e) => e.amount)).toEqual([5, 5, 5, 10, 10, 10, 10, 10, 10, 20]);
    const view = (await engine.api('GET', '/v1/accounts/loyal')).body.loyalty;
    expect(view).toEqual({ months: 12, bonusPercent: 20, next: null });
    const dashboard = (await engine.api('GET', '/v1/accounts/loyal/dashboard')).body;
    expect(dashboard.loyalty).toEqual(view);
  });

  it('a renewal job replayed grants the loyalty bonus once', async () => {
    const before = (await engine.api('GET', '/v1/accounts/loyal')).body.balance;
    await renewAt(engine, month(12), 'loyal');
    expect((await engine.api('GET', '/v1/accounts/loyal')).body.balance).toBe(before);
  });

  it('a failed payment resets the count: it starts again from the failure', async () => {
    // In month 12 the payment for month 13 fails; Stripe's retry then succeeds.
    await deliverAndApply(engine, invoiceEvent('invoice.payment_failed', { userId: 'loyal', subscription: 'sub_loyal', amount: 1900, period: { start: month(13), end: month(14) } }));
    expect((await engine.api('GET', '/v1/accounts/loyal')).body.loyalty).toEqual({ months: 0, bonusPercent: 0, next: { months: 3, bonusPercent: 5 } });
    const balances: number[] = [];
    for (let k = 13; k <= 15; k++) {
      await deliverAndApply(engine, invoiceEvent('invoice.paid', { userId: 'loyal', subscription: 'sub_loyal', amount: 1900, period: { start: month(k), end: month(k + 1) } }));
      const [account] = await renewAt(engine, month(k), 'loyal');
      balances.push(account.balance);
      expect(account.loyalty.months).toBe(k - 12);
    }
    expect(balances).toEqual([100, 100, 105]);
  });

  it('admins set the tiers (audited); bad tiers are refused', async () => {
    expect((await engine.admin('GET', '/admin/api/loyalty')).body.tiers).toEqual([
      { months: 3, bonusPercent: 5 },
      { months: 6, bonusPercent: 10 },
      { months: 12, bonusPercent: 20 },
    ]);
    const put = await engine.admin('PUT', '/admin/api/loyalty', { tiers: [{ months: 2, bonusPercent: 7 }] });
    expect(put.body.tiers).toEqual([{ months: 2, bonusPercent: 7 }]);
    expect((await engine.admin('PUT', '/admin/api/loyalty', { tiers: [{ months: 0, bonusPercent: 5 }] })).status).toBe(400);
    expect((await engine.admin('PUT', '/admin/api/loyalty', { tiers: [{ months: 3, bonusPercent: -1 }] })).status).toBe(400);
    const audit = (await engine.admin('GET', '/admin/api/audit')).body.entries;
    expect(audit[0]).toMatchObject({ action: 'loyalty.update', after: { tiers: [{ months: 2, bonusPercent: 7 }] } });
  });
});
