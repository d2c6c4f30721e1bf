import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET, PRICES, deliverAndApply, outcomeOf } from './stripe.js';
import {
  account,
  billing,
  deliverInOrder,
  ledgerRows,
  openAccount,
  chargeRefundedEvent,
  deliveryOrders,
  expectNothingFailed,
  playFlow,
  renewalEvents,
  subscribeEvents,
  subscriptionEvent,
  use,
} from './stripe-flows.js';
import type { Shape } from './stripe-objects.js';

/** Runs the renewals schedule at `at` and waits until every renewal and grace job it queued is done. */
async function runRenewals(engine: TestEngine, at: string): Promise<void> {
  await engine.setClock(at);
  await runJob(engine, 'renewals');
  const queue = engine.running.engine.queues.renewal;
  await waitFor(async () => {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).every((n) => n === 0);
  }, 'renewal jobs to finish');
}

describe('the subscription lifecycle as Stripe sends it, in both API shapes, any order, twice', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-01-01T00:00:00Z');
    for (const [plan, price] of [['monthly_pro', PRICES.monthly], ['annual_pro', PRICES.annual], ['enterprise_pro', PRICES.enterprise]] as const) {
      expect((await engine.admin('PUT', `/admin/api/plans/${plan}`, { stripePrices: [price.lookupKey] })).status).toBe(200);
    }
  });
  afterAll(async () => engine?.stop());

  const start = '2027-01-05T10:00:00Z';
  const end = '2027-02-05T10:00:00Z';
  const subscribe = (userId: string, shape: Shape, extra: Partial<Parameters<typeof subscribeEvents>[0]> = {}) =>
    subscribeEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period: { start, end }, ...extra });

  it('a Checkout subscription, its five events in any order and twice, starts Monthly Pro once, on Stripe’s billing dates', async () => {
    await engine.setClock('2027-01-05T10:00:30Z');
    const runs = await playFlow(
      engine,
      'buy',
      { count: 4 },
      (userId) => openAccount(engine, userId),
      ({ userId, shape }) => subscribe(userId, shape).events,
      async ({ userId }) => {
        expect(await account(engine, userId)).toMatchObject({
          plan: { id: 'monthly_pro' },
          balance: 100,
          usedThisPeriod: 0,
          allocatedThisPeriod: 100,
          period: { start: '2027-01-05T10:00:00.000Z', end: '2027-02-05T10:00:00.000Z' },
        });
        expect(await ledgerRows(engine, userId)).toEqual([
          ['grant', 10, 'plan:free_starter'],
          ['expiry', -10, 'plan'],
          ['grant', 100, 'plan:monthly_pro'],
        ]);
        const b = await billing(engine, userId);
        expect(b).toMatchObject({ status: 'active', paidThrough: '2027-02-05T10:00:00.000Z', subscription: { id: `sub_${userId}`, status: 'active', plan: 'monthly_pro' } });
        expect(b.payments.map((p: any) => [p.kind, p.plan, p.amountCents, p.tokens, p.period])).toEqual([
          ['plan', 'monthly_pro', 1900, 100, { start: '2027-01-05T10:00:00.000Z', end: '2027-02-05T10:00:00.000Z' }],
        ]);
      },
    );
    expect(runs).toBe(8);
  });

  it('the first webhooks arrive 2 h late: the period is Stripe’s, not the arrival’s, and a refund takes from that period’s grant', async () => {
    await engine.setClock('2027-01-05T12:00:00Z');
    const bought = new Map<string, ReturnType<typeof subscribe>>();
    await playFlow(
      engine,
      'late',
      { count: 3 },
      (userId) => openAccount(engine, userId),
      ({ userId, shape }) => {
        const b = subscribe(userId, shape);
        bought.set(userId, b);
        return b.events;
      },
      async ({ userId, shape }) => {
        expect(await account(engine, userId)).toMatchObject({ balance: 100, period: { start: '2027-01-05T10:00:00.000Z', end: '2027-02-05T10:00:00.000Z' } });
        expect(await use(engine, userId, 'enhanced_job_match', `${userId}-u1`)).toMatchObject({ status: 'applied', cost: 8 });
        const b = bought.get(userId)!;
        const refund = chargeRefundedEvent({ charge: b.charge, paymentIntent: b.paymentIntent, amount: 1900, refunded: 950, at: '2027-01-05T12:00:00Z', shape });
        expect(await deliverAndApply(engine, refund)).toMatchObject({ status: 'applied', code: 'refund_reversed', message: expect.stringContaining('took back 50 of 50 tokens') });
        expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 42, usedThisPeriod: 8, allocatedThisPeriod: 50 });
        expect((await ledgerRows(engine, userId)).slice(-2)).toEqual([
          ['use', -8, null],
          ['reversal', -50, `refund:${b.charge}`],
        ]);
      },
    );
  });

  it('no payment after the paid period: the renewal keeps Monthly Pro through the grace, then the account is on Free Starter with nothing of the unpaid period left', async () => {
    await engine.setClock('2027-03-05T10:00:30Z');
    const users: Array<{ userId: string; shape: Shape }> = [];
    await playFlow(
      engine,
      'unpaid',
      { count: 2 },
      (userId) => openAccount(engine, userId),
      ({ userId, shape }) => subscribe(userId, shape, { period: { start: '2027-03-05T10:00:00Z', end: '2027-04-05T10:00:00Z' } }).events,
      async ({ userId, shape }) => {
        users.push({ userId, shape });
      },
    );
    // The card is gone: Stripe sends nothing more (or a failure). The renewal is within the grace.
    await runRenewals(engine, '2027-04-05T10:00:00Z');
    for (const { userId } of users) {
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100, period: { start: '2027-04-05T10:00:00.000Z' } });
      expect(await billing(engine, userId)).toMatchObject({ graceUntil: '2027-04-08T10:00:00.000Z' });
    }
    await engine.setClock('2027-04-06T09:00:00Z');
    for (const { userId } of users) {
      expect(await use(engine, userId, 'personal_branding', `${userId}-grace`)).toMatchObject({ status: 'applied', cost: 15, balanceAfter: 85 });
    }
    const { userId: failing, shape } = users[0]!;
    const failure = renewalEvents({ userId: failing, shape, subscription: `sub_${failing}`, price: PRICES.monthly, period: { start: '2027-04-05T10:00:00Z', end: '2027-05-05T10:00:00Z' }, paid: false, at: '2027-04-06T09:00:00Z' });
    await deliverInOrder(engine, failure.events, [1, 0]);

    await runRenewals(engine, '2027-04-08T10:00:00Z');
    for (const { userId } of users) {
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'free_starter' }, balance: 0, usedThisPeriod: 15, allocatedThisPeriod: 15, period: { start: '2027-04-05T10:00:00.000Z' } });
      expect((await ledgerRows(engine, userId)).slice(3)).toEqual([
        ['expiry', -100, 'plan'],
        ['grant', 100, 'plan:monthly_pro'],
        ['use', -15, null],
        ['reversal', -85, 'lapse:unpaid'],
      ]);
      expect(await billing(engine, userId)).toMatchObject({ status: 'lapsed', lapseReason: 'unpaid', graceUntil: null, paidThrough: '2027-04-05T10:00:00.000Z' });
    }
    // Stripe's retry succeeds after the grace for one customer of each shape: April is paid, its plan restored,
    // its allocation given once in all (85 more: 15 were spent in the grace).
    await engine.setClock('2027-04-10T10:00:00Z');
    const late = users.filter((_, i) => i % 2 === 1);
    const paidLate = (userId: string, shape: Shape, period: { start: string; end: string }, at: string) =>
      renewalEvents({ userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period, paid: true, at }).events.slice(1);
    for (const { userId, shape } of late) {
      const april = paidLate(userId, shape, { start: '2027-04-05T10:00:00Z', end: '2027-05-05T10:00:00Z' }, '2027-04-10T10:00:00Z');
      await deliverInOrder(engine, april, [...april.keys(), 0]);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 85, usedThisPeriod: 15, allocatedThisPeriod: 100 });
      expect((await ledgerRows(engine, userId)).slice(-1)).toEqual([['grant', 85, 'plan:monthly_pro']]);
      expect(await billing(engine, userId)).toMatchObject({ status: 'active', lapseReason: null, paidThrough: '2027-05-05T10:00:00.000Z' });
    }
    // The renewals run late, after May's grace: May opens on Free Starter for all; paid late again, it is restored whole.
    await runRenewals(engine, '2027-05-09T10:00:00Z');
    for (const { userId } of users) expect(await account(engine, userId)).toMatchObject({ plan: { id: 'free_starter' }, balance: 10, period: { start: '2027-05-05T10:00:00.000Z' } });
    await engine.setClock('2027-05-10T10:00:00Z');
    for (const { userId, shape } of late) {
      const may = paidLate(userId, shape, { start: '2027-05-05T10:00:00Z', end: '2027-06-05T10:00:00Z' }, '2027-05-10T10:00:00Z');
      await deliverInOrder(engine, may, [...may.keys()].reverse());
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100, allocatedThisPeriod: 100 });
      expect((await ledgerRows(engine, userId)).slice(-4)).toEqual([
        ['expiry', -85, 'plan'],
        ['grant', 10, 'plan:free_starter'],
        ['reversal', -10, 'restore:free_plan'],
        ['grant', 100, 'plan:monthly_pro'],
      ]);
    }
  });

  const shapes: Shape[] = ['current', 'legacy'];
  async function buyAll(prefix: string, count: number, period: { start: string; end: string }, extra: Partial<Parameters<typeof subscribeEvents>[0]> = {}) {
    const users: Array<{ userId: string; shape: Shape; k: number }> = [];
    for (const shape of shapes) {
      for (let k = 0; k < count; k++) {
        const userId = `${prefix}-${shape}-${k}`;
        await openAccount(engine, userId);
        const bought = subscribe(userId, shape, { period, ...extra });
        await deliverInOrder(engine, bought.events, bought.events.map((_, i) => i));
        users.push({ userId, shape, k });
      }
    }
    return users;
  }

  it('a stale invoice.payment_failed delivered after the invoice.paid of the same invoice changes nothing ({userId}-only metadata)', async () => {
    await engine.setClock('2027-06-01T00:00:30Z');
    const users = await buyAll('stale', 3, { start: '2027-06-01T00:00:00Z', end: '2027-07-01T00:00:00Z' });
    await runRenewals(engine, '2027-07-01T00:00:00Z');
    await engine.setClock('2027-07-01T02:00:00Z');
    for (const { userId, shape, k } of users) {
      const july = { start: '2027-07-01T00:00:00Z', end: '2027-08-01T00:00:00Z' };
      const base = { userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period: july, invoice: `in_july_${userId}` };
      const failed = renewalEvents({ ...base, paid: false, at: '2027-07-01T00:30:00Z' }).events[1]!;
      const paid = renewalEvents({ ...base, paid: true, at: '2027-07-01T01:30:00Z' }).events.slice(1);
      const events = [...paid, failed];
      const order = deliveryOrders(events.length, 3, 7, true)[k]!;
      await deliverInOrder(engine, events, order);
      await expectNothingFailed(engine, events, userId);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100, period: { start: '2027-07-01T00:00:00.000Z' } });
      expect(await billing(engine, userId)).toMatchObject({ status: 'active', lapseReason: null, graceUntil: null, paidThrough: '2027-08-01T00:00:00.000Z' });
      if (order.indexOf(events.length - 1) > order.indexOf(0)) {
        expect(await outcomeOf(engine, failed.id)).toMatchObject({ status: 'ignored', code: 'invoice_already_paid' });
      }
    }
    // The grace ends: nothing lapses, every later invoice.paid still applies.
    await runRenewals(engine, '2027-07-04T00:00:00Z');
    for (const { userId } of users) expect(await account(engine, userId)).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });
  });

  it('the old subscription’s customer.subscription.deleted, arriving after the customer subscribed anew, changes nothing', async () => {
    await engine.setClock('2027-08-01T00:00:30Z');
    const users = await buyAll('anew', 3, { start: '2027-08-01T00:00:00Z', end: '2027-09-01T00:00:00Z' });
    await engine.setClock('2027-08-15T00:05:00Z');
    for (const { userId, shape, k } of users) {
      const old = { userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period: { start: '2027-08-01T00:00:00Z', end: '2027-09-01T00:00:00Z' } };
      const deleted = subscriptionEvent('customer.subscription.deleted', old, { status: 'canceled', canceledAt: '2027-08-15T00:01:00Z', endedAt: '2027-08-15T00:01:00Z' }, '2027-08-15T00:01:00Z');
      const renewed = subscribeEvents({ userId, shape, subscription: `sub_new_${userId}`, price: PRICES.enterprise, period: { start: '2027-08-15T00:00:00Z', end: '2027-09-15T00:00:00Z' } });
      const events = [...renewed.events, deleted];
      const order = k === 0 ? [...events.keys()] : deliveryOrders(events.length, 3, 21, true)[k]!;
      await deliverInOrder(engine, events, order);
      await expectNothingFailed(engine, events, userId);
      expect(await account(engine, userId)).toMatchObject({
        plan: { id: 'enterprise_pro' },
        balance: 1000,
        period: { start: '2027-08-15T00:00:00.000Z', end: '2027-09-15T00:00:00.000Z' },
      });
      expect((await ledgerRows(engine, userId)).slice(3)).toEqual([
        ['expiry', -100, 'plan'],
        ['grant', 1000, 'plan:enterprise_pro'],
      ]);
      expect(await billing(engine, userId)).toMatchObject({ status: 'active', subscription: { id: `sub_new_${userId}`, plan: 'enterprise_pro' } });
    }
    await runRenewals(engine, '2027-09-01T00:00:00Z');
    for (const { userId } of users) expect(await account(engine, userId)).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000 });
  });

  it('customer.subscription.deleted delivered 10 minutes after the period ended: the paid plan ends at the period end', async () => {
    await engine.setClock('2027-10-01T00:00:30Z');
    const period = { start: '2027-10-01T00:00:00Z', end: '2027-11-01T00:00:00Z' };
    const users = await buyAll('ended', 2, period);
    // One customer of each shape said so in the portal (cancel_at_period_end); the others' end is only told by the deletion.
    await engine.setClock('2027-10-20T00:00:00Z');
    for (const { userId, shape, k } of users.filter((u) => u.k === 0)) {
      const p = { userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period };
      expect(await deliverAndApply(engine, subscriptionEvent('customer.subscription.updated', p, { cancelAtPeriodEnd: true }, '2027-10-20T00:00:00Z'))).toMatchObject({
        status: 'applied',
        code: 'lapse_scheduled',
      });
      void k;
    }
    await runRenewals(engine, '2027-11-01T00:00:00Z');
    await engine.setClock('2027-11-01T00:10:00Z');
    for (const { userId, shape } of users) {
      const p = { userId, shape, subscription: `sub_${userId}`, price: PRICES.monthly, period };
      const deleted = subscriptionEvent('customer.subscription.deleted', p, { status: 'canceled', canceledAt: period.end, endedAt: period.end }, '2027-11-01T00:10:00Z');
      await deliverInOrder(engine, [deleted], [0, 0]);
      expect(await account(engine, userId)).toMatchObject({ plan: { id: 'free_starter' }, balance: 10, allocatedThisPeriod: 10, period: { start: '2027-11-01T00:00:00.000Z' } });
      expect(await billing(engine, userId)).toMatchObject({ status: 'lapsed', subscription: { status: 'canceled' } });
    }
    const [told, untold] = [users.find((u) => u.k === 0)!, users.find((u) => u.k === 1)!];
    expect((await ledgerRows(engine, told.userId)).slice(3)).toEqual([
      ['expiry', -100, 'plan'],
      ['grant', 10, 'plan:free_starter'],
    ]);
    expect((await ledgerRows(engine, untold.userId)).slice(3)).toEqual([
      ['expiry', -100, 'plan'],
      ['grant', 100, 'plan:monthly_pro'],
      ['reversal', -100, 'lapse:subscription_ended'],
      ['grant', 10, 'plan:free_starter'],
    ]);
  });
});

describe('a year of a monthly subscription with one failed-then-paid month, in both API shapes', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2028-01-01T00:00:00Z');
    await engine.admin('PUT', '/admin/api/plans/monthly_pro', { stripePrices: [PRICES.monthly.id] });
  });
  afterAll(async () => engine?.stop());

  const month = (k: number) => new Date(Date.UTC(2028, k, 1)).toISOString();

  it('twelve renewals on Monthly Pro, each paid once; the June payment fails, Stripe’s retry succeeds within the grace; loyalty counts again from the failure', async () => {
    const users = ['year-current', 'year-legacy'];
    const shapeOf = (u: string): Shape => (u.endsWith('legacy') ? 'legacy' : 'current');
    for (const userId of users) {
      await openAccount(engine, userId);
      const bought = subscribeEvents({ userId, shape: shapeOf(userId), subscription: `sub_${userId}`, price: PRICES.monthly, period: { start: month(0), end: month(1) } });
      await deliverInOrder(engine, bought.events, deliveryOrders(bought.events.length, 3, 5, true)[2]!);
    }
    const balances: Record<string, number[]> = { 'year-current': [], 'year-legacy': [] };
    for (let k = 1; k <= 12; k++) {
      await engine.setClock(new Date(new Date(month(k)).getTime() + 60_000).toISOString());
      for (const userId of users) {
        const p = { userId, shape: shapeOf(userId), subscription: `sub_${userId}`, price: PRICES.monthly, period: { start: month(k), end: month(k + 1) }, invoice: `in_${userId}_${k}` };
        if (k === 5) {
          await deliverInOrder(engine, renewalEvents({ ...p, paid: false }).events, [1, 0]);
          expect(await billing(engine, userId)).toMatchObject({ status: 'lapsing', lapseReason: 'payment_failed', graceUntil: '2028-06-04T00:00:00.000Z' });
        } else {
          const renewal = renewalEvents({ ...p, paid: true });
          await deliverInOrder(engine, renewal.events, deliveryOrders(renewal.events.length, 3, k, true)[k % 3]!);
        }
        balances[userId]!.push((await account(engine, userId)).balance);
      }
      if (k === 5) {
        await engine.setClock('2028-06-03T09:00:00Z');
        for (const userId of users) {
          const p = { userId, shape: shapeOf(userId), subscription: `sub_${userId}`, price: PRICES.monthly, period: { start: month(5), end: month(6) }, invoice: `in_${userId}_5` };
          const retried = renewalEvents({ ...p, paid: true, at: '2028-06-03T09:00:00Z' });
          const paid = retried.events.slice(1);
          await deliverInOrder(engine, paid, [...paid.keys(), 0]);
          expect(await billing(engine, userId)).toMatchObject({ status: 'active', graceUntil: null, lapseReason: null });
        }
        await runRenewals(engine, '2028-06-04T00:00:00Z');
      }
    }
    for (const userId of users) {
      // +5% from 3 paid months, +10% from 6; the failure on June 1 starts the count again.
      expect(balances[userId]).toEqual([100, 100, 105, 105, 105, 100, 100, 105, 105, 105, 110, 110]);
      const entries = (await engine.api('GET', `/v1/accounts/${userId}/ledger?limit=500`)).body.entries;
      expect(entries.filter((e: any) => e.kind === 'grant' && e.source === 'plan:monthly_pro')).toHaveLength(13);
      expect(entries.filter((e: any) => e.kind === 'reversal')).toEqual([]);
      const payments = (await billing(engine, userId)).payments;
      expect(payments).toHaveLength(13);
      expect(new Set(payments.map((p: any) => p.period.start)).size).toBe(13);
    }
  });
});
