import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET, PRICES, deliverAndApply, outcomeOf, stripeEvent } from './stripe.js';
import {
  account,
  billing,
  chargeRefundedEvent,
  deliverInOrder,
  deliveryOrders,
  disputeClosedEvent,
  expectNothingFailed,
  ledgerRows,
  openAccount,
  playFlow,
  refundFailedEvent,
  subscribeEvents,
  subscriptionEvent,
  use,
} from './stripe-flows.js';
import { checkoutSession, stripeId, unix, type Shape } from './stripe-objects.js';

async function runRenewals(engine: TestEngine, at: string): Promise<void> {
  await engine.setClock(at);
  await runJob(engine, 'renewals');
  const queue = engine.running.engine.queues.renewal;
  await waitFor(async () => Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((n) => n === 0), 'renewal jobs');
}

describe('refunds and disputes of what Stripe took, linked in both API shapes and any order', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-01-01T00:00:00Z');
    await engine.admin('PUT', '/admin/api/plans/monthly_pro', { stripePrices: [PRICES.monthly.lookupKey] });
    await engine.admin('PUT', '/admin/api/plans/annual_pro', { stripePrices: [PRICES.annual.lookupKey] });
  });
  afterAll(async () => engine?.stop());

  it('a subscription payment refunded by half, the refund delivered anywhere among the purchase’s events: half of its period’s tokens come back out', async () => {
    await engine.setClock('2027-01-05T10:05:00Z');
    const period = { start: '2027-01-05T10:00:00Z', end: '2027-02-05T10:00:00Z' };
    const charges = new Map<string, string>();
    await playFlow(
      engine,
      'half',
      { count: 5 },
      (userId) => openAccount(engine, userId),
      ({ userId, shape }) => {
        const bought = subscribeEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period });
        charges.set(userId, bought.charge);
        return [...bought.events, chargeRefundedEvent({ charge: bought.charge, paymentIntent: bought.paymentIntent, amount: 1900, refunded: 950, at: '2027-01-05T10:04:00Z', shape })];
      },
      async ({ userId }) => {
        expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 50, allocatedThisPeriod: 50 });
        expect((await ledgerRows(engine, userId)).slice(-2)).toEqual([
          ['grant', 100, 'plan:monthly_pro'],
          ['reversal', -50, `refund:${charges.get(userId)}`],
        ]);
        expect((await billing(engine, userId)).payments.map((p: any) => [p.amountCents, p.refundedCents, p.tokens, p.tokensReversed, p.voided])).toEqual([[1900, 950, 100, 50, false]]);
      },
    );
  });

  it('an Annual Pro year refunded in full and cancelled at once: the months not begun and the month’s unspent tokens come back, and the plan ends', async () => {
    await engine.setClock('2027-01-10T08:01:00Z');
    const period = { start: '2027-01-10T08:00:00Z', end: '2028-01-10T08:00:00Z' };
    const users: Array<{ userId: string; shape: Shape; k: number; charge: string; pi: string }> = [];
    for (const shape of ['current', 'legacy'] as const) {
      for (let k = 0; k < 3; k++) {
        const userId = `annual-${shape}-${k}`;
        await openAccount(engine, userId);
        const bought = subscribeEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.annual, period });
        await deliverInOrder(engine, bought.events, [...bought.events.keys()]);
        users.push({ userId, shape, k, charge: bought.charge, pi: bought.paymentIntent });
      }
    }
    await runRenewals(engine, '2027-02-10T08:00:00Z');
    await runRenewals(engine, '2027-03-10T08:00:00Z');
    await engine.setClock('2027-03-20T12:00:00Z');
    for (const { userId, shape, k, charge, pi } of users) {
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'annual_pro' }, balance: 250 });
      for (const n of [1, 2]) expect(await use(engine, userId, 'personal_branding', `${userId}-${n}`)).toMatchObject({ status: 'applied', cost: 15 });
      const sub = { userId, shape, subscription: `sub_${userId}`, price: PRICES.annual, period };
      const events = [
        chargeRefundedEvent({ charge, paymentIntent: pi, amount: 19900, refunded: 19900, at: '2027-03-20T12:00:00Z', shape }),
        subscriptionEvent('customer.subscription.deleted', sub, { status: 'canceled', canceledAt: '2027-03-20T12:00:00Z', endedAt: '2027-03-20T12:00:00Z' }, '2027-03-20T12:00:00Z'),
      ];
      await deliverInOrder(engine, events, deliveryOrders(2, 3, 3, true)[k]!);
      await expectNothingFailed(engine, events, userId);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'free_starter' }, balance: 0, usedThisPeriod: 30, allocatedThisPeriod: 30 });
      expect((await ledgerRows(engine, userId)).slice(-3)).toEqual([
        ['use', -15, null],
        ['use', -15, null],
        ['reversal', -220, `refund:${charge}`],
      ]);
      expect(await outcomeOf(engine, events[0]!.id)).toMatchObject({ code: 'refund_reversed', message: expect.stringContaining('took back 2470 of 3000 tokens (530 already spent or expired); 2250 tokens of periods not begun cancelled') });
      expect((await billing(engine, userId)).payments.map((p: any) => [p.tokens, p.tokensCancelled, p.tokensReversed, p.voided])).toEqual([[3000, 2250, 220, true]]);
    }
    await runRenewals(engine, '2027-04-10T08:00:00Z');
    for (const { userId } of users) expect(await account(engine, userId)).toMatchObject({ plan: { id: 'free_starter' }, balance: 10 });
  });

  it('ten 1-cent partial refunds of a pack take what one 10-cent refund takes, whatever their order', async () => {
    await engine.setClock('2027-05-01T00:00:00Z');
    const pack = async (userId: string) => {
      await openAccount(engine, userId);
      const pi = stripeId('pi');
      const session = checkoutSession({ mode: 'payment', metadata: { userId, tokens: '50' }, amount: 500, paymentIntent: pi, created: '2027-05-01T00:00:00Z' });
      expect(await deliverAndApply(engine, stripeEvent('checkout.session.completed', session, { at: '2027-05-01T00:00:00Z' }))).toMatchObject({ code: 'tokens_added' });
      return pi;
    };
    const base = unix('2027-05-01T00:00:00Z');
    for (const [k, shape] of (['current', 'legacy', 'current'] as const).entries()) {
      const many = `cents-${k}`;
      const pi = await pack(many);
      const ch = stripeId('ch');
      const refunds = Array.from({ length: 10 }, (_, i) =>
        chargeRefundedEvent({ charge: ch, paymentIntent: pi, amount: 500, refunded: i + 1, at: new Date((base + 60 + i * 5) * 1000).toISOString(), shape }),
      );
      await deliverInOrder(engine, refunds, deliveryOrders(10, 3, 99, true)[k]!);
      const one = `dime-${k}`;
      const pi2 = await pack(one);
      await deliverInOrder(engine, [chargeRefundedEvent({ charge: stripeId('ch'), paymentIntent: pi2, amount: 500, refunded: 10, at: '2027-05-01T00:02:00Z', shape })], [0, 0]);
      for (const userId of [many, one]) {
        expect(await account(engine, userId)).toMatchObject({ balance: 10 + 49 });
        expect((await billing(engine, userId)).payments.map((p: any) => [p.refundedCents, p.tokensReversed])).toEqual([[10, 1]]);
        expect((await ledgerRows(engine, userId)).filter(([kind]) => kind === 'reversal').map(([, amount]) => amount)).toEqual([-1]);
      }
    }
  });

  it('refund.failed gives back what its refund took, in either order', async () => {
    await engine.setClock('2027-06-01T00:00:00Z');
    for (const [k, order] of [[0, 1], [1, 0], [0, 1, 1, 0]].entries()) {
      const userId = `failed-refund-${k}`;
      await openAccount(engine, userId);
      const pi = stripeId('pi');
      const session = checkoutSession({ mode: 'payment', metadata: { userId, tokens: '50' }, amount: 500, paymentIntent: pi, created: '2027-06-01T00:00:00Z' });
      await deliverAndApply(engine, stripeEvent('checkout.session.completed', session, { at: '2027-06-01T00:00:00Z' }));
      expect(await use(engine, userId, 'personal_branding', `${userId}-1`)).toMatchObject({ cost: 15, balanceAfter: 45 });
      const ch = stripeId('ch');
      const re = stripeId('re');
      const events = [
        chargeRefundedEvent({ charge: ch, paymentIntent: pi, amount: 500, refunded: 500, at: '2027-06-01T00:01:00Z', shape: 'current' }),
        refundFailedEvent({ refund: re, charge: ch, paymentIntent: pi, amount: 500, at: '2027-06-02T00:00:00Z', shape: 'current' }),
      ];
      await deliverInOrder(engine, events, order!);
      await expectNothingFailed(engine, events, userId);
      // 10 free tokens were spent first (they expire first), then 5 of the pack: 45 of the pack were left, all 45 come back.
      expect(await account(engine, userId)).toMatchObject({ balance: 45 });
      const reversals = (await ledgerRows(engine, userId)).filter(([kind, , source]) => kind === 'reversal' || source?.startsWith('purchase'));
      expect(reversals.reduce((s, [, amount]) => s + amount, 0)).toBe(50);
      expect((await billing(engine, userId)).payments.map((p: any) => [p.refundedCents, p.tokensReversed])).toEqual([[500, 0]]);
    }
  });

  it('a dispute lost takes back like a full refund: the period’s unspent tokens, and the plan ends; a dispute won takes nothing', async () => {
    await engine.setClock('2027-07-01T00:01:00Z');
    const period = { start: '2027-07-01T00:00:00Z', end: '2027-08-01T00:00:00Z' };
    const bought = new Map<string, { charge: string; pi: string }>();
    const users: Array<{ userId: string; shape: Shape }> = [];
    for (const shape of ['current', 'legacy'] as const) {
      for (const outcome of ['lost', 'won'] as const) {
        const userId = `dispute-${outcome}-${shape}`;
        await openAccount(engine, userId);
        const b = subscribeEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period });
        await deliverInOrder(engine, b.events, [...b.events.keys()]);
        bought.set(userId, { charge: b.charge, pi: b.paymentIntent });
        users.push({ userId, shape });
        expect(await use(engine, userId, 'personal_branding', `${userId}-1`)).toMatchObject({ cost: 15, balanceAfter: 85 });
      }
    }
    await engine.setClock('2027-07-12T00:00:00Z');
    for (const { userId, shape } of users) {
      const { charge, pi } = bought.get(userId)!;
      const lost = userId.includes('lost');
      // The current shape learns the charge id only from the dispute itself: the payment intent links it.
      const closed = disputeClosedEvent({ charge, paymentIntent: pi, amount: 1900, status: lost ? 'lost' : 'won', at: '2027-07-12T00:00:00Z', shape });
      await deliverInOrder(engine, [closed], [0, 0]);
      if (lost) {
        expect(await outcomeOf(engine, closed.id)).toMatchObject({ status: 'applied', code: 'chargeback_reversed', message: expect.stringContaining('took back 85 of 100 tokens') });
        expect(await account(engine, userId)).toMatchObject({ plan: { id: 'free_starter' }, balance: 0, usedThisPeriod: 15 });
        expect((await ledgerRows(engine, userId)).slice(-1)).toEqual([['reversal', -85, `dispute:${(closed.data.object as { id: string }).id}`]]);
        expect((await billing(engine, userId)).payments[0]).toMatchObject({ voided: true, tokensReversed: 85 });
      } else {
        expect(await outcomeOf(engine, closed.id)).toMatchObject({ status: 'ignored', code: 'dispute_not_lost' });
        expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 85 });
      }
    }
  });
});
