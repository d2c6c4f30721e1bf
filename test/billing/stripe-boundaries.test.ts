import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { WEBHOOK_SECRET, deliver, deliverAndApply, outcomeOf, tokenCheckout } from './stripe.js';

const storedEvents = async (engine: TestEngine) => (await engine.admin('GET', '/admin/api/stripe/events?limit=500')).body.events;

describe('the Stripe route’s boundaries: body size, signature times, what can be stored', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-02-01T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'bea' });
  });
  afterAll(async () => engine?.stop());

  it('a body over 1 MB is refused with 413 payload_too_large before any signature work, with or without a Content-Length', async () => {
    const big = JSON.stringify({ ...tokenCheckout({ userId: 'bea', tokens: 5, amount: 50 }), padding: 'x'.repeat(1_100_000) });
    const signed = Stripe.webhooks.generateTestHeaderString({ payload: big, secret: WEBHOOK_SECRET });
    const declared = await fetch(`${engine.baseUrl}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signed }, body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as any).error).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 1_048_576 } });

    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 12; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(100_000)));
        controller.close();
      },
    });
    const streamed = await fetch(`${engine.baseUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as any).error.code).toBe('payload_too_large');

    // Just under the limit is read and checked as usual.
    const fine = tokenCheckout({ userId: 'bea', tokens: 5, amount: 50 });
    expect((await deliver(engine, { ...fine, padding: 'z'.repeat(900_000) } as typeof fine)).status).toBe(200);
    expect(await outcomeOf(engine, fine.id)).toMatchObject({ status: 'applied', code: 'tokens_added' });
    expect((await storedEvents(engine)).map((e: any) => e.id)).toEqual([fine.id]);
  });

  it('a signature timestamped more than 5 minutes in the future is refused like a stale one; within the tolerance it is accepted', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ahead = tokenCheckout({ userId: 'bea', tokens: 7, amount: 70 });
    const refused = await deliver(engine, ahead, { timestamp: now + 600 });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'invalid_signature']);
    expect(refused.body.error.message).toMatch(/future/);
    const stale = await deliver(engine, ahead, { timestamp: now - 600 });
    expect([stale.status, stale.body.error.code]).toEqual([400, 'invalid_signature']);
    expect((await storedEvents(engine)).some((e: any) => e.id === ahead.id)).toBe(false);

    const nearly = tokenCheckout({ userId: 'bea', tokens: 3, amount: 30 });
    expect((await deliver(engine, nearly, { timestamp: now + 120 })).status).toBe(200);
    expect(await outcomeOf(engine, nearly.id)).toMatchObject({ status: 'applied' });
  });

  it('a signed event with U+0000 or a lone surrogate is a 400 in the error shape (never a 500 Stripe would retry), and nothing is stored', async () => {
    const before = (await engine.api('GET', '/v1/accounts/bea')).body.balance;
    for (const bad of ['a\u0000b', 'half \ud800 a pair', 'tail \udc00']) {
      const event = tokenCheckout({ userId: 'bea', tokens: 9, amount: 90 });
      const object = event.data.object as { metadata: Record<string, string> };
      const poisoned = { ...event, data: { object: { ...object, metadata: { ...object.metadata, note: bad } } } };
      const answer = await deliver(engine, poisoned);
      expect([answer.status, answer.body.error.code]).toEqual([400, 'validation_failed']);
      expect(answer.body.error.message).toMatch(/U\+0000|lone surrogate/);
      const keyed = { ...event, id: `${event.id}_key`, data: { object: { ...object, [`k${bad}`]: 1 } } };
      expect((await deliver(engine, keyed)).status).toBe(400);
    }
    const ids = (await storedEvents(engine)).map((e: any) => e.id);
    expect(ids).toHaveLength(2);
    expect((await engine.api('GET', '/v1/accounts/bea')).body.balance).toBe(before);
  });
});

describe('replays of Stripe events: audited, and never left unqueued when Redis refuses the job', () => {
  let redis: PrivateRedis;
  let engine: TestEngine;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    // The system clock: the test clock lives in Redis, and this test takes Redis away.
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, REDIS_URL: redis.url, TOKENS_TEST_CLOCK: 'off' });
  });
  afterAll(async () => {
    if (redis && !redis.running()) await redis.start();
    await engine?.stop();
    await redis?.remove();
  });

  it('a replay is audited; one whose enqueue fails leaves the event received, and the sweep or a second replay applies it once', async () => {
    const early = [tokenCheckout({ userId: 'gus', tokens: 30, amount: 300 }), tokenCheckout({ userId: 'gus', tokens: 20, amount: 200 })];
    for (const e of early) expect(await deliverAndApply(engine, e)).toMatchObject({ status: 'failed', code: 'account_not_found' });
    await engine.api('POST', '/v1/accounts', { userId: 'gus' });

    await redis.kill();
    for (const e of early) {
      const replay = await engine.admin('POST', `/admin/api/stripe/events/${e.id}/replay`);
      expect([replay.status, replay.body.error?.code]).toEqual([503, 'dependency_unavailable']);
      expect((await engine.admin('GET', `/admin/api/stripe/events/${e.id}`)).body).toMatchObject({ status: 'received' });
    }
    await redis.start();
    await waitFor(async () => (await fetch(`${engine.baseUrl}/health`)).status === 200, 'the engine to see Redis again');

    // The first: the sweep finds it received without a job and queues it.
    expect(await runJob(engine, 'stripe-events')).toMatchObject({ enqueued: 2 });
    for (const e of early) expect(await outcomeOf(engine, e.id)).toMatchObject({ status: 'applied', code: 'tokens_added' });
    expect((await engine.api('GET', '/v1/accounts/gus')).body.balance).toBe(10 + 30 + 20);

    // A second replay of an applied event is refused; of a received one (its job lost), it works.
    const applied = await engine.admin('POST', `/admin/api/stripe/events/${early[0]!.id}/replay`);
    expect([applied.status, applied.body.error.code]).toEqual([409, 'event_not_failed']);

    const audit = (await engine.admin('GET', '/admin/api/audit')).body.entries.filter((a: any) => a.action === 'stripe_event.replay');
    expect(audit.map((a: any) => [a.subject, a.before.status, a.after.status])).toEqual([
      [`stripe_event:${early[1]!.id}`, 'failed', 'received'],
      [`stripe_event:${early[0]!.id}`, 'failed', 'received'],
    ]);
    expect(audit[0].actor).toMatch(/^admin-key:/);
  });

  it('a second replay of an event whose first replay was never queued applies it', async () => {
    const lost = tokenCheckout({ userId: 'hal', tokens: 15, amount: 150 });
    expect(await deliverAndApply(engine, lost)).toMatchObject({ status: 'failed' });
    await engine.api('POST', '/v1/accounts', { userId: 'hal' });
    await redis.kill();
    expect((await engine.admin('POST', `/admin/api/stripe/events/${lost.id}/replay`)).status).toBe(503);
    await redis.start();
    await waitFor(async () => (await fetch(`${engine.baseUrl}/health`)).status === 200, 'the engine to see Redis again');
    expect((await engine.admin('POST', `/admin/api/stripe/events/${lost.id}/replay`)).status).toBe(202);
    expect(await outcomeOf(engine, lost.id)).toMatchObject({ status: 'applied', code: 'tokens_added' });
    expect((await engine.api('GET', '/v1/accounts/hal')).body.balance).toBe(25);
  });
});
