import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET, PRICES, stripeEvent } from './stripe.js';
import { account, billing, deliverInOrder, ledgerRows, openAccount, playFlow, renewalEvents, subscribeEvents, subscriptionEvent, use, type Subscribing } from './stripe-flows.js';
import { invoice, invoicePayment, stripeId, type PriceSpec, type Shape } from './stripe-objects.js';

async function runRenewals(engine: TestEngine, at: string): Promise<void> {
  await engine.setClock(at);
  await runJob(engine, 'renewals');
  const queue = engine.running.engine.queues.renewal;
  await waitFor(async () => Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((n) => n === 0), 'renewal jobs');
}

describe('plans map to Stripe prices: PUT /admin/api/plans/{id} {stripePrices}', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-01-01T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  const plans = async () => (await engine.admin('GET', '/admin/api/plans')).body.plans;

  it('prices (ids or lookup keys) are set, listed, audited; a price on another plan is a 409 and changes nothing', async () => {
    const set = await engine.admin('PUT', '/admin/api/plans/monthly_pro', { stripePrices: ['price_monthly_pro', 'monthly_pro_usd'] });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: 'monthly_pro', monthlyTokens: 100, stripePrices: ['monthly_pro_usd', 'price_monthly_pro'] });
    expect((await plans()).map((p: any) => [p.id, p.stripePrices])).toEqual([
      ['free_starter', []],
      ['monthly_pro', ['monthly_pro_usd', 'price_monthly_pro']],
      ['annual_pro', []],
      ['enterprise_pro', []],
    ]);
    const [entry] = (await engine.admin('GET', '/admin/api/audit')).body.entries;
    expect(entry).toMatchObject({ action: 'plan.update', subject: 'plan:monthly_pro', before: { stripePrices: [] }, after: { stripePrices: ['monthly_pro_usd', 'price_monthly_pro'] } });

    const taken = await engine.admin('PUT', '/admin/api/plans/enterprise_pro', { stripePrices: ['price_enterprise_pro', 'monthly_pro_usd'], monthlyTokens: 1200 });
    expect([taken.status, taken.body.error.code]).toEqual([409, 'stripe_price_taken']);
    expect(taken.body.error.message).toContain('"monthly_pro_usd" (monthly_pro)');
    expect((await plans()).find((p: any) => p.id === 'enterprise_pro')).toMatchObject({ monthlyTokens: 1000, stripePrices: [] });
    expect((await engine.admin('GET', '/admin/api/audit')).body.entries).toHaveLength(1);

    // Replacing the list moves a price off a plan; an empty list clears it.
    expect((await engine.admin('PUT', '/admin/api/plans/monthly_pro', { stripePrices: ['price_monthly_pro'] })).body.stripePrices).toEqual(['price_monthly_pro']);
    expect((await engine.admin('PUT', '/admin/api/plans/enterprise_pro', { stripePrices: ['monthly_pro_usd'] })).body.stripePrices).toEqual(['monthly_pro_usd']);
    expect((await engine.admin('PUT', '/admin/api/plans/enterprise_pro', { stripePrices: [] })).body.stripePrices).toEqual([]);
  });

  it('bad prices are a 400 naming what is wrong', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ stripePrices: [''] }, /empty/],
      [{ stripePrices: ['price_a', 'price_a'] }, /once/],
      [{ stripePrices: ['price\u0000a'] }, /control/],
      [{ stripePrices: ['price_\ud800'] }, /surrogate/],
      [{ stripePrices: ['x'.repeat(201)] }, /200/],
      [{ stripePrices: 'price_a' }, /stripePrices/],
    ];
    for (const [body, mentions] of cases) {
      const r = await engine.admin('PUT', '/admin/api/plans/annual_pro', body);
      expect([r.status, r.body.error.code]).toEqual([400, 'validation_failed']);
      expect(JSON.stringify(r.body.error)).toMatch(mentions);
    }
    expect((await plans()).find((p: any) => p.id === 'annual_pro').stripePrices).toEqual([]);
  });
});

describe('plan changes in Stripe’s customer portal follow the price, by the engine’s own rule', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-01-01T00:00:00Z');
    await engine.admin('PUT', '/admin/api/plans/monthly_pro', { stripePrices: [PRICES.monthly.lookupKey] });
    await engine.admin('PUT', '/admin/api/plans/enterprise_pro', { stripePrices: [PRICES.enterprise.id] });
  });
  afterAll(async () => engine?.stop());

  const period = { start: '2027-01-05T10:00:00Z', end: '2027-02-05T10:00:00Z' }; // 31 days

  /** The events of a mid-period price change: the subscription updated, and (for an upgrade) the proration invoice paid now. */
  function changeEvents(p: Subscribing, to: PriceSpec, from: PriceSpec, metadata?: Record<string, string>, changedAt = '2027-01-15T10:00:00Z') {
    const upgrade = to.amount > from.amount;
    const updated = subscriptionEvent('customer.subscription.updated', { ...p, price: to }, metadata ? { metadata } : {}, changedAt);
    if (!upgrade) return [updated];
    const invoiceId = stripeId('in');
    const pi = stripeId('pi');
    const left = { start: changedAt, end: p.period.end };
    const proration = invoice({
      id: invoiceId,
      subscription: p.subscription,
      metadata: metadata ?? { userId: p.userId },
      billingReason: 'subscription_update',
      paid: true,
      lines: [
        { amount: -Math.round((from.amount * 21) / 31), price: from, period: left, proration: true },
        { amount: Math.round((to.amount * 21) / 31), price: to, period: left, proration: true },
      ],
      created: changedAt,
      paymentIntent: pi,
      charge: stripeId('ch'),
      shape: p.shape,
    });
    return [
      updated,
      stripeEvent('invoice.paid', proration, { at: changedAt, shape: p.shape }),
      ...(p.shape === 'current' ? [stripeEvent('invoice_payment.paid', invoicePayment({ invoice: invoiceId, paymentIntent: pi, amount: 5419, at: changedAt }), { at: changedAt })] : []),
    ];
  }

  const bought = async (userId: string, shape: Shape, price: PriceSpec, metadata?: Record<string, string>) => {
    await openAccount(engine, userId);
    const sub: Subscribing = { userId, shape, subscription: `sub_${userId}`, price, period, ...(metadata?.plan ? { plan: metadata.plan } : {}) };
    const events = subscribeEvents(sub).events;
    await deliverInOrder(engine, events, [...events.keys()]);
    return sub;
  };

  it('an upgrade mid-period grants ceil(900 × 21/31) = 610 tokens at once; the proration invoice buys no period and keeps the anchor; the next period is Enterprise', async () => {
    await engine.setClock('2027-01-15T10:00:30Z');
    const users: string[] = [];
    await playFlow(
      engine,
      'up',
      { count: 4 },
      async () => {},
      async ({ userId, shape }) => {
        if (userId === 'sample') return changeEvents({ userId, shape, subscription: 'sub_sample', price: PRICES.monthly, period }, PRICES.enterprise, PRICES.monthly);
        const sub = await bought(userId, shape, PRICES.monthly);
        expect(await use(engine, userId, 'enhanced_job_match', `${userId}-1`)).toMatchObject({ status: 'applied', cost: 8 });
        return changeEvents(sub, PRICES.enterprise, PRICES.monthly);
      },
      async ({ userId }) => {
        users.push(userId);
        expect(await account(engine, userId)).toMatchObject({
          plan: { id: 'enterprise_pro' },
          balance: 92 + 610,
          usedThisPeriod: 8,
          allocatedThisPeriod: 710,
          period: { start: '2027-01-05T10:00:00.000Z', end: '2027-02-05T10:00:00.000Z' },
        });
        expect((await ledgerRows(engine, userId)).slice(-2)).toEqual([
          ['use', -8, null],
          ['grant', 610, 'plan:enterprise_pro'],
        ]);
        const payments = (await billing(engine, userId)).payments;
        expect(payments.map((p: any) => [p.kind, p.plan, p.tokens, p.period])).toEqual([
          ['plan', 'monthly_pro', 100, { start: '2027-01-05T10:00:00.000Z', end: '2027-02-05T10:00:00.000Z' }],
          ['proration', 'enterprise_pro', 610, null],
        ]);
      },
    );
    await runRenewals(engine, '2027-02-05T10:00:00Z');
    for (const userId of users) {
      const shape: Shape = userId.includes('legacy') ? 'legacy' : 'current';
      const next = renewalEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.enterprise, period: { start: period.end, end: '2027-03-05T10:00:00Z' }, paid: true });
      await deliverInOrder(engine, next.events, [...next.events.keys()]);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000, period: { start: '2027-02-05T10:00:00.000Z' } });
    }
  });

  it('a downgrade keeps Enterprise Pro and its tokens until the period end, then the renewal is Monthly Pro', async () => {
    await engine.setClock('2027-03-15T10:00:30Z');
    const p3 = { start: '2027-03-05T10:00:00Z', end: '2027-04-05T10:00:00Z' };
    const users: string[] = [];
    for (const shape of ['current', 'legacy'] as const) {
      const userId = `down-${shape}`;
      await openAccount(engine, userId);
      const sub: Subscribing = { userId, shape, subscription: `sub_${userId}`, price: PRICES.enterprise, period: p3 };
      await deliverInOrder(engine, subscribeEvents(sub).events, [0, 1, 2, 3, 2].filter((i) => i < subscribeEvents(sub).events.length));
      const updated = subscriptionEvent('customer.subscription.updated', { ...sub, price: PRICES.monthly }, {}, '2027-03-15T10:00:00Z');
      await deliverInOrder(engine, [updated], [0, 0]);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000 });
      expect(await billing(engine, userId)).toMatchObject({ pendingPlan: 'monthly_pro' });
      users.push(userId);
    }
    await runRenewals(engine, '2027-04-05T10:00:00Z');
    for (const userId of users) {
      const shape: Shape = userId.includes('legacy') ? 'legacy' : 'current';
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });
      const next = renewalEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period: { start: p3.end, end: '2027-05-05T10:00:00Z' }, paid: true });
      await deliverInOrder(engine, next.events, [...next.events.keys()].reverse());
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100, period: { start: '2027-04-05T10:00:00.000Z' } });
      expect(await billing(engine, userId)).toMatchObject({ pendingPlan: null, status: 'active' });
    }
  });

  it('with no price mapped, an edited metadata.plan and its proration charge upgrade by the same rule: no fresh period, no new anchor', async () => {
    await engine.setClock('2027-05-15T10:00:30Z');
    const p5 = { start: '2027-05-05T10:00:00Z', end: '2027-06-05T10:00:00Z' }; // 31 days, 21 left at the 15th
    const unmapped = (spec: PriceSpec): PriceSpec => ({ ...spec, id: `${spec.id}_legacy_catalog`, lookupKey: null });
    for (const shape of ['current', 'legacy'] as const) {
      const userId = `meta-${shape}`;
      await openAccount(engine, userId);
      const sub: Subscribing = { userId, shape, subscription: `sub_${userId}`, price: unmapped(PRICES.monthly), period: p5, plan: 'monthly_pro' };
      const events = subscribeEvents(sub).events;
      await deliverInOrder(engine, events, [...events.keys()]);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });
      const change = changeEvents(sub, unmapped(PRICES.enterprise), unmapped(PRICES.monthly), { userId, plan: 'enterprise_pro' }, '2027-05-15T10:00:00Z');
      await deliverInOrder(engine, change, [...change.keys()].reverse().concat([0]));
      expect(await account(engine, userId)).toMatchObject({
        plan: { id: 'enterprise_pro' },
        balance: 100 + 610,
        period: { start: '2027-05-05T10:00:00.000Z', end: '2027-06-05T10:00:00.000Z' },
      });
      expect((await ledgerRows(engine, userId)).slice(-1)).toEqual([['grant', 610, 'plan:enterprise_pro']]);
    }
  });
});
