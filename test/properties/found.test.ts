import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET, chargeRefunded, deliverAndApply, tokenCheckout } from '../billing/stripe.js';

// What the property tests found, kept as plain stories: between the moment tokens expire and the sweep
// that removes them, the engine must answer as if the sweep had run.
describe('expired tokens the sweep has not removed yet', () => {
  let engine: TestEngine;
  const account = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-02-01T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('a refund of a pack that expired takes nothing back: its tokens were gone (expiries and renewals, seed 1349939189)', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'late-refund' });
    await deliverAndApply(engine, tokenCheckout({ userId: 'late-refund', tokens: 40, amount: 400, paymentIntent: 'pi_late', expiresInDays: 2 }));
    expect(await account('late-refund')).toMatchObject({ balance: 50, allocatedThisPeriod: 50 });
    await engine.advance(3 * 86_400); // the pack has expired; no sweep has run

    const refund = await deliverAndApply(engine, chargeRefunded({ paymentIntent: 'pi_late', amount: 400, refunded: 400 }));
    expect(refund).toMatchObject({ code: 'refund_reversed', message: expect.stringContaining('took back 0 of 40 tokens (40 already spent or expired)') });
    expect(await account('late-refund')).toMatchObject({ balance: 10, allocatedThisPeriod: 50 });
    expect((await engine.api('GET', '/v1/accounts/late-refund/billing')).body.payments[0]).toMatchObject({ refundedCents: 400, tokensReversed: 0 });
    expect(((await runJob(engine, 'reconcile')) as { violations: unknown[] }).violations).toEqual([]);
  });

  it('an admin grant answers the balance that can be spent, without the expired plan tokens', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'late-grant' });
    await engine.advance(31 * 86_400); // past the period's end: its 10 plan tokens expired, not yet swept or renewed
    const granted = await engine.admin('POST', '/admin/api/accounts/late-grant/grants', { tokens: 1, reason: 'goodwill' });
    expect(granted.body).toMatchObject({ duplicate: false, balance: 1 });
    expect(await account('late-grant')).toMatchObject({ balance: 1 });
  });
});
