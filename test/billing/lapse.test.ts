import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { renewAt } from './cycle.js';
import { WEBHOOK_SECRET, deliverAndApply, invoiceEvent, planCheckout, subscriptionDeleted } from './stripe.js';

describe('paid plans renew while paid: an unpaid or cancelled subscription ends on Free Starter', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-05-01T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  const billing = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}/billing`)).body;

  it('a failed payment keeps the plan through the grace; still unpaid after it, the period falls back to Free Starter', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'pat' });
    await deliverAndApply(engine, planCheckout({ userId: 'pat', plan: 'monthly_pro', amount: 1900, subscription: 'sub_pat' }));
    // Stripe bills June after it starts: the renewal allocates it on Monthly Pro, within the grace.
    const [june] = await renewAt(engine, '2027-06-01T00:00:00Z', 'pat');
    expect(june).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });

    const failed = invoiceEvent('invoice.payment_failed', {
      userId: 'pat',
      subscription: 'sub_pat',
      amount: 1900,
      period: { start: '2027-06-01T00:00:00Z', end: '2027-07-01T00:00:00Z' },
    });
    expect(await deliverAndApply(engine, failed)).toMatchObject({ status: 'applied', code: 'payment_failed', message: expect.stringContaining('2027-06-04T00:00:00.000Z') });
    expect(await billing('pat')).toMatchObject({ status: 'lapsing', lapseReason: 'payment_failed', paidThrough: '2027-06-01T00:00:00.000Z', graceUntil: '2027-06-04T00:00:00.000Z' });
    expect((await engine.api('GET', '/v1/accounts/pat')).body).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });

    // Stripe's retries fail too: at the grace's end the period is Free Starter's, with its 10 tokens.
    await engine.setClock('2027-06-04T00:00:00Z');
    await runJob(engine, 'renewals');
    const lapsed = await waitFor(async () => {
      const a = (await engine.api('GET', '/v1/accounts/pat')).body;
      return a.plan.id === 'free_starter' ? a : undefined;
    }, 'pat to lapse');
    expect(lapsed).toMatchObject({ balance: 10, allocatedThisPeriod: 10, period: { start: '2027-06-01T00:00:00.000Z' } });
    expect(await billing('pat')).toMatchObject({ status: 'lapsed', lapseReason: 'unpaid', graceUntil: null });

    const [july] = await renewAt(engine, '2027-07-01T00:00:00Z', 'pat');
    expect(july).toMatchObject({ plan: { id: 'free_starter' }, balance: 10, allocatedThisPeriod: 10 });
  });

  it('a paid invoice (either metadata shape) moves the paid-through date on and cancels a lapse', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'quinn' });
    await deliverAndApply(engine, planCheckout({ userId: 'quinn', plan: 'monthly_pro', amount: 1900, subscription: 'sub_quinn' }));
    const period = { start: '2027-08-01T00:00:00Z', end: '2027-09-01T00:00:00Z' };
    await deliverAndApply(engine, invoiceEvent('invoice.payment_failed', { userId: 'quinn', subscription: 'sub_quinn', amount: 1900, period, shape: 'legacy' }));
    expect((await billing('quinn')).status).toBe('lapsing');

    const retried = invoiceEvent('invoice.paid', { userId: 'quinn', subscription: 'sub_quinn', amount: 1900, period, shape: 'legacy' });
    expect(await deliverAndApply(engine, retried)).toMatchObject({ status: 'applied', code: 'period_paid' });
    expect(await billing('quinn')).toMatchObject({ status: 'active', lapseReason: null, paidThrough: '2027-09-01T00:00:00.000Z' });

    const [august] = await renewAt(engine, '2027-08-01T00:00:00Z', 'quinn');
    expect(august).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });
    const next = { start: '2027-09-01T00:00:00Z', end: '2027-10-01T00:00:00Z' };
    await deliverAndApply(engine, invoiceEvent('invoice.paid', { userId: 'quinn', subscription: 'sub_quinn', amount: 1900, period: next }));
    const [september] = await renewAt(engine, '2027-09-01T00:00:00Z', 'quinn');
    expect(september).toMatchObject({ plan: { id: 'monthly_pro' }, balance: 100 });
    expect((await billing('quinn')).payments.map((p: any) => [p.amountCents, p.period.end])).toEqual([
      [1900, '2027-08-01T00:00:00.000Z'],
      [1900, '2027-09-01T00:00:00.000Z'],
      [1900, '2027-10-01T00:00:00.000Z'],
    ]);
  });

  it('an account a service opened on a paid plan renews until its subscription is cancelled, then ends on Free Starter', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'rae', plan: 'enterprise_pro' }); // 2027-09-01 to 2027-10-01
    const [october] = await renewAt(engine, '2027-10-01T00:00:00Z', 'rae');
    expect(october).toMatchObject({ plan: { id: 'enterprise_pro' }, balance: 1000 });

    await engine.setClock('2027-10-20T00:00:00Z');
    expect(await deliverAndApply(engine, subscriptionDeleted({ userId: 'rae', subscription: 'sub_rae' }))).toMatchObject({
      status: 'applied',
      code: 'lapse_scheduled',
      message: expect.stringContaining('2027-11-01T00:00:00.000Z'),
    });
    const [november] = await renewAt(engine, '2027-11-01T00:00:00Z', 'rae');
    expect(november).toMatchObject({ plan: { id: 'free_starter' }, balance: 10 });
  });
});
