import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET, PRICES, deliverAndApply, outcomeOf, stripeEvent } from './stripe.js';
import { account, billing, ledgerRows, openAccount, playFlow, subscribeEvents } from './stripe-flows.js';
import { checkoutSession, stripeId, type PriceSpec } from './stripe-objects.js';

describe('delayed payment methods, one-time checkouts and early invoices', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-03-01T09:00:00Z');
    await engine.admin('PUT', '/admin/api/plans/monthly_pro', { stripePrices: [PRICES.monthly.id] });
  });
  afterAll(async () => engine?.stop());

  const packSession = (userId: string, status: 'paid' | 'unpaid') =>
    checkoutSession({
      id: `cs_pack_${userId}`,
      mode: 'payment',
      metadata: { userId, tokens: '40' },
      amount: 400,
      paymentIntent: `pi_pack_${userId}`,
      paymentStatus: status,
      created: '2027-03-01T08:50:00Z',
    });

  it('a SEPA token pack: completed unpaid, then checkout.session.async_payment_succeeded allocates it once, in any order', async () => {
    await playFlow(
      engine,
      'sepa-pack',
      { count: 3 },
      (userId) => openAccount(engine, userId),
      ({ userId, shape }) => [
        stripeEvent('checkout.session.completed', packSession(userId, 'unpaid'), { at: '2027-03-01T08:51:00Z', shape }),
        stripeEvent('checkout.session.async_payment_succeeded', packSession(userId, 'paid'), { at: '2027-03-01T08:59:00Z', shape }),
      ],
      async ({ userId, events }) => {
        expect(await account(engine, userId)).toMatchObject({ balance: 10 + 40, allocatedThisPeriod: 50 });
        expect((await ledgerRows(engine, userId)).slice(1)).toEqual([['grant', 40, `purchase:cs_pack_${userId}`]]);
        expect(await outcomeOf(engine, events[0]!.id)).toMatchObject({ status: 'ignored', code: 'paid_later' });
        expect(await outcomeOf(engine, events[1]!.id)).toMatchObject({ status: 'applied', code: 'tokens_added' });
      },
    );
  });

  it('an unpaid session waits (not ignored) until its payment clears; async_payment_failed allocates nothing', async () => {
    await openAccount(engine, 'sepa-fails');
    const completed = stripeEvent('checkout.session.completed', packSession('sepa-fails', 'unpaid'), { at: '2027-03-01T08:51:00Z' });
    expect(await deliverAndApply(engine, completed)).toMatchObject({ status: 'waiting', code: 'not_paid', waitingFor: 'checkout:cs_pack_sepa-fails' });
    expect((await engine.admin('GET', '/admin/api/stripe/events?status=waiting')).body.events.map((e: any) => e.id)).toContain(completed.id);
    const failedPayment = stripeEvent('checkout.session.async_payment_failed', packSession('sepa-fails', 'unpaid'), { at: '2027-03-01T08:59:00Z' });
    expect(await deliverAndApply(engine, failedPayment)).toMatchObject({ status: 'applied', code: 'async_payment_failed' });
    expect(await outcomeOf(engine, completed.id)).toMatchObject({ status: 'ignored', code: 'async_payment_failed' });
    expect(await account(engine, 'sepa-fails')).toMatchObject({ balance: 10 });
    expect((await billing(engine, 'sepa-fails')).payments).toEqual([]);
  });

  it('a SEPA subscription with its metadata on the Checkout session only: the plan is allocated once, when paid, whatever the order', async () => {
    const period = { start: '2027-03-01T08:50:00Z', end: '2027-04-01T08:50:00Z' };
    await playFlow(
      engine,
      'sepa-sub',
      { count: 4 },
      (userId) => openAccount(engine, userId),
      ({ userId, shape }) => subscribeEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period, metadataOn: 'session', delayed: true }).events,
      async ({ userId, events }) => {
        expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100, period: { start: '2027-03-01T08:50:00.000Z' } });
        expect((await ledgerRows(engine, userId)).filter(([kind]) => kind === 'grant')).toEqual([
          ['grant', 10, 'plan:free_starter'],
          ['grant', 100, 'plan:monthly_pro'],
        ]);
        const left = (await engine.admin('GET', '/admin/api/stripe/events?status=waiting&limit=500')).body.events.filter((e: any) => events.some((x) => x.id === e.id));
        expect(left).toEqual([]);
      },
    );
  });

  it('a one-time checkout (mode=payment) naming metadata.plan is refused as failed, with a reason an admin can act on, and changes nothing', async () => {
    await openAccount(engine, 'one-time');
    const session = checkoutSession({ mode: 'payment', metadata: { userId: 'one-time', plan: 'monthly_pro' }, amount: 1900, paymentIntent: stripeId('pi'), created: '2027-03-01T09:00:00Z' });
    const outcome = await deliverAndApply(engine, stripeEvent('checkout.session.completed', session, { at: '2027-03-01T09:00:00Z' }));
    expect(outcome).toMatchObject({ status: 'failed', code: 'one_time_plan', message: expect.stringContaining('mode=subscription') });
    expect((await engine.admin('GET', '/admin/api/stripe/events?status=failed')).body.events.map((e: any) => e.id)).toEqual([outcome.id]);
    expect(await account(engine, 'one-time')).toMatchObject({ plan: { id: 'free_starter' }, balance: 10 });
    expect(await billing(engine, 'one-time')).toMatchObject({ status: null, payments: [] });
  });

  it('{userId}-only subscription metadata and the invoice.paid before its checkout: a normal purchase, nothing for an admin to do', async () => {
    const unmapped: PriceSpec = { ...PRICES.monthly, id: 'price_not_mapped', lookupKey: null };
    const period = { start: '2027-03-01T08:55:00Z', end: '2027-04-01T08:55:00Z' };
    await playFlow(
      engine,
      'early-invoice',
      { count: 4 },
      (userId) => openAccount(engine, userId),
      ({ userId, shape }) => {
        const events = subscribeEvents({ userId, shape, subscription: `sub_${userId}`, price: unmapped, period }).events;
        // The session names the plan (metadata.plan); the subscription, so its invoices, only the userId.
        return events.map((e) =>
          e.type === 'checkout.session.completed' ? { ...e, data: { object: { ...(e.data.object as object), metadata: { userId, plan: 'monthly_pro' } } } } : e,
        );
      },
      async ({ userId }) => {
        expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100, period: { start: '2027-03-01T08:55:00.000Z' } });
        expect((await billing(engine, userId)).payments).toHaveLength(1);
      },
    );
  });

  it('a second subscription bought with a delayed method replaces the current one only once it is paid', async () => {
    await engine.admin('PUT', '/admin/api/plans/enterprise_pro', { stripePrices: [PRICES.enterprise.id] });
    for (const shape of ['current', 'legacy'] as const) {
      const userId = `switch-${shape}`;
      await openAccount(engine, userId);
      const first = subscribeEvents({ userId, shape, subscription: `sub_a_${userId}`, price: PRICES.monthly, period: { start: '2027-03-01T08:00:00Z', end: '2027-04-01T08:00:00Z' } });
      for (const e of first.events) await deliverAndApply(engine, e);
      const second = subscribeEvents({ userId, shape, subscription: `sub_b_${userId}`, price: PRICES.enterprise, period: { start: '2027-03-01T08:58:00Z', end: '2027-04-01T08:58:00Z' }, delayed: true });
      const [created, completed, ...paid] = second.events;
      for (const e of [created!, completed!]) await deliverAndApply(engine, e);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });
      expect(await billing(engine, userId)).toMatchObject({ subscription: { id: `sub_a_${userId}` } });
      for (const e of paid) await deliverAndApply(engine, e);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000, period: { start: '2027-03-01T08:58:00.000Z' } });
      expect(await billing(engine, userId)).toMatchObject({ subscription: { id: `sub_b_${userId}`, status: 'active' } });
    }
  });
});
