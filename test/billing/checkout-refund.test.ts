import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { ledger } from './cycle.js';
import { WEBHOOK_SECRET, chargeRefunded, deliverAndApply, invoiceEvent, planCheckout, tokenCheckout } from './stripe.js';

describe('paying through Stripe: a plan, a token pack, and a refund of what was not spent', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-02-01T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  const account = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body;
  const billing = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}/billing`)).body;
  async function use(userId: string, feature: string, key: string) {
    await engine.api('POST', '/v1/usage', { userId, feature, idempotencyKey: key });
    return settled(engine, key);
  }

  it('checkout for Monthly Pro, a 50-token pack, 115 tokens spent, then the pack refunded: only its 35 unspent tokens are taken back', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'lee' }); // Free Starter, 10 tokens
    await engine.setClock('2027-02-10T12:00:00Z');

    const plan = planCheckout({ userId: 'lee', plan: 'monthly_pro', amount: 1900, subscription: 'sub_lee', invoice: 'in_lee_1' });
    expect(await deliverAndApply(engine, plan)).toMatchObject({ status: 'applied', code: 'plan_started' });
    // The plan starts now: Lee renews on the 10th from here on; the Free Starter tokens ended with their period.
    expect(await account('lee')).toMatchObject({
      plan: { id: 'monthly_pro' },
      balance: 100,
      allocatedThisPeriod: 100,
      period: { start: '2027-02-10T12:00:00.000Z', end: '2027-03-10T12:00:00.000Z' },
    });

    // Stripe also announces the subscription's first invoice: it is the same payment, allocated once.
    const firstInvoice = invoiceEvent('invoice.paid', {
      id: 'in_lee_1',
      userId: 'lee',
      subscription: 'sub_lee',
      amount: 1900,
      period: { start: '2027-02-10T12:00:00Z', end: '2027-03-10T12:00:00Z' },
    });
    expect(await deliverAndApply(engine, firstInvoice)).toMatchObject({ status: 'ignored', code: 'already_recorded' });

    const pack = tokenCheckout({ userId: 'lee', tokens: 50, amount: 500, paymentIntent: 'pi_lee_pack' });
    expect(await deliverAndApply(engine, pack)).toMatchObject({ status: 'applied', code: 'tokens_added' });
    expect(await account('lee')).toMatchObject({ balance: 150, allocatedThisPeriod: 150 });

    // Plan tokens expire first, so they are spent first: 100 of them, then 15 of the pack.
    expect(await use('lee', 'custom_ai_training', 'lee-1')).toMatchObject({ status: 'applied', cost: 100 });
    expect(await use('lee', 'personal_branding', 'lee-2')).toMatchObject({ status: 'applied', cost: 15, balanceAfter: 35 });

    const refund = chargeRefunded({ charge: 'ch_lee_pack', paymentIntent: 'pi_lee_pack', amount: 500, refunded: 500 });
    expect(await deliverAndApply(engine, refund)).toMatchObject({ status: 'applied', code: 'refund_reversed', message: expect.stringContaining('took back 35 of 50 tokens') });
    expect(await account('lee')).toMatchObject({ balance: 0, usedThisPeriod: 115, allocatedThisPeriod: 115 });
    const [reversal] = (await ledger(engine, 'lee')).slice(-1);
    expect(reversal).toMatchObject({
      kind: 'reversal',
      amount: -35,
      balanceAfter: 0,
      source: 'refund:ch_lee_pack',
      metadata: { reason: 'refund', tokensRefunded: 50, tokensTakenBack: 35, tokensAlreadySpent: 15, refundedCents: 500 },
    });

    // Stripe sends another event for the same refund: nothing more is taken.
    const again = chargeRefunded({ charge: 'ch_lee_pack', paymentIntent: 'pi_lee_pack', amount: 500, refunded: 500 });
    expect(await deliverAndApply(engine, again)).toMatchObject({ status: 'ignored', code: 'already_refunded' });

    expect((await billing('lee')).payments.map((p: any) => [p.kind, p.plan, p.amountCents, p.currency, p.tokens, p.refundedCents, p.tokensReversed])).toEqual([
      ['plan', 'monthly_pro', 1900, 'usd', 100, 0, 0],
      ['topup', null, 500, 'usd', 50, 500, 35],
    ]);
  });

  it('a partial refund takes back its share of the pack; a pack configured to expire keeps that expiry', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'kai' });
    const pack = tokenCheckout({ userId: 'kai', tokens: 40, amount: 400, paymentIntent: 'pi_kai', expiresInDays: 20 });
    await deliverAndApply(engine, pack);
    const [grant] = (await ledger(engine, 'kai')).slice(-1);
    expect(grant).toMatchObject({ kind: 'grant', amount: 40, source: `purchase:${(pack.data.object as { id: string }).id}` });

    await deliverAndApply(engine, chargeRefunded({ paymentIntent: 'pi_kai', amount: 400, refunded: 100 }));
    expect(await account('kai')).toMatchObject({ balance: 10 + 30 });

    await engine.setClock('2027-03-05T12:00:00Z'); // past the pack's 20 days, within Kai's first period
    expect(await account('kai')).toMatchObject({ balance: 10 });
  });
});
