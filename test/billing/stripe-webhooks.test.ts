import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET, deliver, outcomeOf, planCheckout, stripeEvent, tokenCheckout } from './stripe.js';
import { charge } from './stripe-objects.js';

describe('Stripe webhooks: signed, stored once, applied once', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-02-01T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'sam' });
  });
  afterAll(async () => engine?.stop());

  const balance = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body.balance;
  const storedEvents = async () => (await engine.admin('GET', '/admin/api/stripe/events?limit=500')).body.events;

  it('a forged, tampered, stale or missing signature is refused with 400 and nothing is stored', async () => {
    const event = tokenCheckout({ userId: 'sam', tokens: 5000, amount: 100 });
    const forged = await deliver(engine, event, { secret: 'whsec_someone_else' });
    const tampered = await deliver(engine, event, { body: JSON.stringify({ ...event, id: 'evt_other' }) });
    const stale = await deliver(engine, event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    const missing = await deliver(engine, event, { signature: null });
    for (const answer of [forged, tampered, stale, missing]) {
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('invalid_signature');
    }
    expect(missing.body.error.message).toMatch(/Stripe-Signature/);
    expect(await storedEvents()).toEqual([]);
    expect(await balance('sam')).toBe(10);
  });

  it('the same event delivered three times, and another twice at once, each allocates once', async () => {
    const pack = tokenCheckout({ userId: 'sam', tokens: 40, amount: 400 });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await deliver(engine, pack));
    expect(answers.map((a) => [a.status, a.body.duplicate])).toEqual([
      [200, false],
      [200, true],
      [200, true],
    ]);
    expect(await outcomeOf(engine, pack.id)).toMatchObject({ status: 'applied', code: 'tokens_added', userId: 'sam' });

    const racing = tokenCheckout({ userId: 'sam', tokens: 25, amount: 250 });
    const both = await Promise.all([deliver(engine, racing), deliver(engine, racing)]);
    expect(both.map((a) => a.status)).toEqual([200, 200]);
    expect(both.filter((a) => a.body.duplicate)).toHaveLength(1);
    await outcomeOf(engine, racing.id);

    expect(await balance('sam')).toBe(10 + 40 + 25);
    const entries = (await engine.api('GET', '/v1/accounts/sam/ledger')).body.entries;
    expect(entries.filter((e: any) => e.source?.startsWith('purchase:')).map((e: any) => e.amount)).toEqual([25, 40]);
    const billing = (await engine.api('GET', '/v1/accounts/sam/billing')).body;
    expect(billing.payments.map((p: any) => [p.kind, p.tokens, p.amountCents, p.currency])).toEqual([
      ['topup', 40, 400, 'usd'],
      ['topup', 25, 250, 'usd'],
    ]);
  });

  it('an event type the engine does not use is recorded and answered 200', async () => {
    const other = stripeEvent('charge.succeeded', charge({ paymentIntent: 'pi_other', amount: 500, refunded: 0, at: '2027-02-01T00:00:00Z' }));
    expect((await deliver(engine, other)).status).toBe(200);
    expect(await outcomeOf(engine, other.id)).toMatchObject({ type: 'charge.succeeded', status: 'ignored', code: 'unhandled_type' });
  });

  it('an event for an unknown user or plan is recorded as failed with its reason, answered 200, and not retried', async () => {
    const ghost = tokenCheckout({ userId: 'ghost', tokens: 30, amount: 300 });
    const platinum = planCheckout({ userId: 'sam', plan: 'platinum', amount: 9900 });
    expect((await deliver(engine, ghost)).status).toBe(200);
    expect((await deliver(engine, platinum)).status).toBe(200);
    expect(await outcomeOf(engine, ghost.id)).toMatchObject({ status: 'failed', code: 'account_not_found', message: expect.stringContaining('"ghost"') });
    expect(await outcomeOf(engine, platinum.id)).toMatchObject({ status: 'failed', code: 'unknown_plan', message: expect.stringContaining('"platinum"') });

    const failed = (await engine.admin('GET', '/admin/api/stripe/events?status=failed')).body.events;
    expect(failed.map((e: any) => e.id).sort()).toEqual([ghost.id, platinum.id].sort());
    const job = await engine.running.engine.queues.payment.getJob(`stripe-${ghost.id}`);
    expect(await job!.getState()).toBe('completed');
    expect(job!.attemptsMade).toBe(1);
    expect(await balance('sam')).toBe(75);

    // Once the account exists, the admin replays the event and the purchase is applied.
    await engine.api('POST', '/v1/accounts', { userId: 'ghost' });
    expect((await engine.admin('POST', `/admin/api/stripe/events/${ghost.id}/replay`)).status).toBe(202);
    await waitFor(async () => (await outcomeOf(engine, ghost.id)).status === 'applied', 'the replayed event');
    expect(await balance('ghost')).toBe(40);
    const again = await engine.admin('POST', `/admin/api/stripe/events/${ghost.id}/replay`);
    expect([again.status, again.body.error.code]).toEqual([409, 'event_not_failed']);
  });
});

describe('Stripe webhooks without STRIPE_WEBHOOK_SECRET', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(async () => engine?.stop());

  it('answer 503 webhook_not_configured and store nothing', async () => {
    const answer = await deliver(engine, tokenCheckout({ userId: 'sam', tokens: 5, amount: 50 }));
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('webhook_not_configured');
    expect((await engine.admin('GET', '/admin/api/stripe/events')).body.events).toEqual([]);
  });
});
