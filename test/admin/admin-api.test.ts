import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ADMIN_KEY, settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { openSse } from '../support/sse.js';
import { deliverAndApply, tokenCheckout, WEBHOOK_SECRET } from '../billing/stripe.js';
import { adminAccountsApi } from '../../src/http/routes/admin/accounts.js';
import { adminFeaturesApi } from '../../src/http/routes/admin/features.js';
import { liveBatchSchema } from '../../src/http/routes/admin/live.js';
import { keyFingerprint } from '../../src/http/auth.js';

/** The event as the test helper delivered it: stamped with the engine's time where it said `created: 0`. */
function asDelivered(event: any, delivered: any): unknown {
  const sent = structuredClone(event);
  sent.created = delivered.created;
  if (sent.data.object.created === 0) sent.data.object.created = delivered.data.object.created;
  return sent;
}

/** The answer is exactly what the route's answer schema documents: nothing missing, nothing extra. */
function documented(schema: z.ZodType, body: unknown): void {
  expect(schema.parse(body)).toEqual(body);
}

describe('the admin API the console is built on', () => {
  let engine: TestEngine;
  const audit = async () => (await engine.admin('GET', '/admin/api/audit?limit=5')).body.entries;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('finds accounts by userId prefix and plan, a page at a time, without gaps or repeats', async () => {
    for (let i = 0; i < 7; i++) await engine.api('POST', '/v1/accounts', { userId: `team.a${i}`, plan: i % 2 ? 'monthly_pro' : 'free_starter' });
    await engine.api('POST', '/v1/accounts', { userId: 'teal', plan: 'monthly_pro' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: any = await engine.admin('GET', `/admin/api/accounts?prefix=team.&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      documented(adminAccountsApi.search.answer, r.body);
      expect(r.body.accounts.length).toBeLessThanOrEqual(3);
      seen.push(...r.body.accounts.map((a: any) => a.userId));
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['team.a0', 'team.a1', 'team.a2', 'team.a3', 'team.a4', 'team.a5', 'team.a6']);

    const pro = await engine.admin('GET', '/admin/api/accounts?prefix=tea&plan=monthly_pro');
    expect(pro.body.accounts.map((a: any) => a.userId)).toEqual(['teal', 'team.a1', 'team.a3', 'team.a5']);
    expect(pro.body.accounts[0]).toMatchObject({ plan: 'monthly_pro', balance: 100, held: 0, usedThisPeriod: 0, allocatedThisPeriod: 100, percentUsed: 0 });

    for (const [query, path] of [
      ['prefix=a%25b', 'prefix'],
      ['cursor=bm9wZQ', '(body)'],
      ['limit=0', 'limit'],
      ['sort=balance', 'sort'],
    ] as const) {
      const bad = await engine.admin('GET', `/admin/api/accounts?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error.code).toBe('validation_failed');
      if (path !== '(body)') expect(bad.body.error.details[0].path).toBe(path);
    }
  });

  it('lists the users near their limit, most used first, paged', async () => {
    // free_starter holds 10: 9, 10 and 9 used (90, 100, 90 percent); one at 50 is not near
    const uses: Record<string, number> = { 'near.x': 3, 'near.y': 2, 'near.z': 3, 'near.w': 1 };
    const costs: Record<string, string> = { 'near.x': 'resume_upload', 'near.y': 'cv_generator', 'near.z': 'resume_upload', 'near.w': 'cv_generator' };
    for (const [userId, n] of Object.entries(uses)) {
      await engine.api('POST', '/v1/accounts', { userId });
      for (let i = 0; i < n; i++) {
        await engine.api('POST', '/v1/usage', { userId, feature: costs[userId], idempotencyKey: `${userId}-${i}` });
        await settled(engine, `${userId}-${i}`);
      }
    }
    const first = await engine.admin('GET', '/admin/api/accounts?nearLimit=true&sort=percentUsed&limit=2');
    expect(first.body.accounts.map((a: any) => [a.userId, a.percentUsed])).toEqual([
      ['near.y', 100],
      ['near.x', 90],
    ]);
    const second = await engine.admin('GET', `/admin/api/accounts?nearLimit=true&sort=percentUsed&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.accounts.map((a: any) => [a.userId, a.percentUsed])).toEqual([['near.z', 90]]);
    expect(second.body.nextCursor).toBeNull();
  });

  it("shows an account's whole picture: plan, balance, period, loyalty, billing status and payments", async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'payer', plan: 'monthly_pro' });
    expect((await deliverAndApply(engine, tokenCheckout({ userId: 'payer', tokens: 50, amount: 500 }))).status).toBe('applied');
    const r = await engine.admin('GET', '/admin/api/accounts/payer');
    expect(r.status).toBe(200);
    documented(adminAccountsApi.overview.answer, r.body);
    expect(r.body).toMatchObject({
      userId: 'payer',
      plan: { id: 'monthly_pro', monthlyTokens: 100 },
      balance: 150,
      held: 0,
      period: { start: '2026-12-01T09:00:00.000Z' },
      loyalty: { months: 0 },
      billing: { status: null, pendingPlan: null },
      payments: [{ kind: 'topup', tokens: 50, amountCents: 500, currency: 'usd' }],
    });
    const missing = await engine.admin('GET', '/admin/api/accounts/nobody');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'account_not_found' } } });
  });

  it('pages the ledger newest first', async () => {
    const first = await engine.admin('GET', '/admin/api/accounts/near.x/ledger?limit=2');
    documented(adminAccountsApi.ledger.answer, first.body);
    expect(first.body.entries.map((e: any) => [e.kind, e.idempotencyKey])).toEqual([
      ['use', 'near.x-2'],
      ['use', 'near.x-1'],
    ]);
    const rest = await engine.admin('GET', `/admin/api/accounts/near.x/ledger?limit=5&cursor=${first.body.nextCursor}`);
    expect(rest.body.entries.map((e: any) => e.kind)).toEqual(['use', 'grant']);
    expect(rest.body.nextCursor).toBeNull();
  });

  it("lists an account's open holds and releases one, audited; another account's hold is not found", async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'holder', plan: 'monthly_pro' });
    const a = await engine.api('POST', '/v1/check', { userId: 'holder', feature: 'ai_interview_coach', reserve: true });
    const b = await engine.api('POST', '/v1/check', { userId: 'holder', feature: 'cv_generator', reserve: true, ttlSeconds: 30 });
    const listed = await engine.admin('GET', '/admin/api/accounts/holder/holds');
    documented(adminAccountsApi.holds.answer, listed.body);
    expect(listed.body.holds.map((h: any) => [h.reservationId, h.feature, h.cost])).toEqual([
      [b.body.reservationId, 'cv_generator', 5],
      [a.body.reservationId, 'ai_interview_coach', 8],
    ]);

    expect((await engine.admin('DELETE', `/admin/api/accounts/payer/holds/${a.body.reservationId}`)).body.error.code).toBe('reservation_not_found');
    const released = await engine.admin('DELETE', `/admin/api/accounts/holder/holds/${a.body.reservationId}`);
    expect(released).toMatchObject({ status: 200, body: { reservationId: a.body.reservationId, status: 'released' } });
    expect((await engine.admin('GET', '/admin/api/accounts/holder')).body).toMatchObject({ balance: 95, held: 5 });
    expect((await audit())[0]).toMatchObject({ action: 'hold.release', subject: 'account:holder', after: { reservationId: a.body.reservationId, status: 'released' } });
    // Again: answered as released, not audited twice.
    expect((await engine.admin('DELETE', `/admin/api/accounts/holder/holds/${a.body.reservationId}`)).status).toBe(200);
    expect((await audit()).filter((e: any) => e.action === 'hold.release')).toHaveLength(1);

    // A hold past its ttl holds nothing from that instant: it is not listed, whether or not the sweep ran.
    await engine.advance(31);
    expect((await engine.admin('GET', '/admin/api/accounts/holder/holds')).body.holds).toEqual([]);
  });

  it('moves an account to another plan by the engine rule, audited', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'mover' });
    const up = await engine.admin('PUT', '/admin/api/accounts/mover/plan', { plan: 'monthly_pro' });
    expect(up.status).toBe(200);
    documented(adminAccountsApi.changePlan.answer, up.body);
    expect(up.body).toMatchObject({ change: 'upgrade', pendingPlan: null, account: { plan: { id: 'monthly_pro' } } });
    expect(up.body.tokensGranted).toBeGreaterThan(80); // 90 more a month, most of the period left
    expect((await audit())[0]).toMatchObject({
      action: 'account.plan_change',
      subject: 'account:mover',
      before: { plan: 'free_starter', pendingPlan: null },
      after: { change: 'upgrade', plan: 'monthly_pro', tokensGranted: up.body.tokensGranted },
    });
    const down = await engine.admin('PUT', '/admin/api/accounts/mover/plan', { plan: 'free_starter' });
    expect(down.body).toMatchObject({ change: 'downgrade', pendingPlan: 'free_starter', account: { plan: { id: 'monthly_pro' } } });
    expect((await engine.admin('GET', '/admin/api/accounts/mover')).body.billing.pendingPlan).toBe('free_starter');

    expect((await engine.admin('PUT', '/admin/api/accounts/mover/plan', { plan: 'gold' })).body.error.code).toBe('unknown_plan');
    expect((await engine.admin('PUT', '/admin/api/accounts/ghost/plan', { plan: 'monthly_pro' })).status).toBe(404);
    expect((await engine.admin('PUT', '/admin/api/accounts/mover/plan', { plan: 'monthly_pro', tokens: 5 })).status).toBe(400);
  });

  it('adds a feature for a new page: its tier follows from the cost, a use is charged it, a retry changes nothing', async () => {
    const body = { key: '40_Salary_Negotiator.py', name: 'Salary Negotiator', cost: 7 };
    const added = await engine.admin('POST', '/admin/api/features', body);
    expect(added.status).toBe(201);
    documented(adminFeaturesApi.add.answer, added.body);
    expect(added.body).toMatchObject({ ...body, tier: 'ADVANCED', enabled: true, created: true, effectiveFrom: expect.any(String) });
    expect((await audit())[0]).toMatchObject({ action: 'feature.create', subject: 'feature:40_Salary_Negotiator.py', after: { cost: 7, tier: 'ADVANCED' } });

    expect(await engine.admin('POST', '/admin/api/features', body)).toMatchObject({ status: 200, body: { created: false, cost: 7 } });
    const clash = await engine.admin('POST', '/admin/api/features', { ...body, cost: 9 });
    expect(clash).toMatchObject({ status: 409, body: { error: { code: 'feature_exists' } } });

    const listed = await engine.admin('GET', '/admin/api/features?q=salary');
    documented(adminFeaturesApi.list.answer, listed.body);
    expect(listed.body.features).toEqual([{ key: body.key, name: body.name, enabled: true, baseCost: 7, cost: 7, tier: 'ADVANCED' }]);
    const mega = await engine.admin('GET', '/admin/api/features?tier=MEGA');
    expect(mega.body.features.length).toBeGreaterThan(0);
    expect(mega.body.features.every((f: any) => f.cost >= 51)).toBe(true);

    await engine.api('POST', '/v1/accounts', { userId: 'negotiator', plan: 'monthly_pro' });
    await engine.api('POST', '/v1/usage', { userId: 'negotiator', feature: body.key, idempotencyKey: 'neg-1' });
    expect(await settled(engine, 'neg-1')).toMatchObject({ status: 'applied', cost: 7, balanceAfter: 93 });

    for (const bad of [{ ...body, key: 'bad key' }, { ...body, key: 'x1', cost: -1 }, { ...body, key: 'x2', name: ' ' }, { key: 'x3', name: 'X', cost: 1, tier: 'MEGA' }]) {
      const r = await engine.admin('POST', '/admin/api/features', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
    }
  });

  it("keeps a feature's price history, newest first", async () => {
    await engine.advance(60);
    await engine.admin('PUT', '/admin/api/features/40_Salary_Negotiator.py', { cost: 12 });
    const r = await engine.admin('GET', '/admin/api/features/40_Salary_Negotiator.py/prices');
    documented(adminFeaturesApi.prices.answer, r.body);
    expect(r.body.prices.map((p: any) => [p.cost, p.tier, p.changedBy])).toEqual([
      [12, 'PREMIUM', `admin-key:${keyFingerprint(ADMIN_KEY)}`],
      [7, 'ADVANCED', `admin-key:${keyFingerprint(ADMIN_KEY)}`],
    ]);
    expect((await engine.admin('GET', '/admin/api/features/nope/prices')).status).toBe(404);
  });

  it('reads a stored Stripe event as Stripe sent it', async () => {
    const event = tokenCheckout({ userId: 'payer', tokens: 5, amount: 100 });
    await deliverAndApply(engine, event);
    const r = await engine.admin('GET', `/admin/api/stripe/events/${event.id}/payload`);
    expect(r).toMatchObject({ status: 200, body: { id: event.id } });
    expect(r.body.payload).toEqual(asDelivered(event, r.body.payload));
    expect((await engine.admin('GET', '/admin/api/stripe/events/evt_nope/payload')).status).toBe(404);
  });

  it('streams uses and rejections as they are applied, and resumes after the last event seen', async () => {
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const feed = await openSse(`${engine.baseUrl}/admin/api/live?recent=0`, headers);
    expect(feed.status).toBe(200);
    expect(feed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await engine.api('POST', '/v1/accounts', { userId: 'streamer' });
    await engine.api('POST', '/v1/usage/batch', {
      events: [
        { userId: 'streamer', feature: 'cv_generator', idempotencyKey: 'st-1' },
        { userId: 'streamer', feature: 'cv_generator', idempotencyKey: 'st-2' },
        { userId: 'streamer', feature: 'cv_generator', idempotencyKey: 'st-3' },
      ],
    });
    const uses = new Map<string, any>();
    await feed.next((e) => {
      for (const u of e.data.uses) uses.set(u.idempotencyKey, u);
      return uses.size === 3;
    });
    expect([...uses.values()].sort((x, y) => (x.idempotencyKey < y.idempotencyKey ? -1 : 1))).toEqual([
      { idempotencyKey: 'st-1', userId: 'streamer', feature: 'cv_generator', status: 'applied', cost: 5, balanceAfter: 5, reason: null },
      { idempotencyKey: 'st-2', userId: 'streamer', feature: 'cv_generator', status: 'applied', cost: 5, balanceAfter: 0, reason: null },
      { idempotencyKey: 'st-3', userId: 'streamer', feature: 'cv_generator', status: 'rejected', cost: 5, balanceAfter: 0, reason: 'insufficient_tokens' },
    ]);
    for (const e of feed.events) {
      expect(e.event).toBe('usage');
      expect(e.data.id).toBe(e.id);
      documented(liveBatchSchema, e.data);
    }
    const lastSeen = feed.events.at(-1)!.id!;
    feed.close();

    // Missed while away: a console reconnecting with Last-Event-ID gets them first.
    await engine.api('POST', '/v1/usage', { userId: 'streamer', feature: 'cv_generator', idempotencyKey: 'st-4' });
    await settled(engine, 'st-4');
    const resumed = await openSse(`${engine.baseUrl}/admin/api/live`, { ...headers, 'last-event-id': lastSeen });
    const missed = await resumed.next((e) => e.data.uses.some((u: any) => u.idempotencyKey === 'st-4'));
    expect(resumed.events.indexOf(missed)).toBe(0);
    resumed.close();

    const refused = await fetch(`${engine.baseUrl}/admin/api/live`);
    expect(refused.status).toBe(401);
  });
});

describe('the live feed and a draining engine', () => {
  it('ends the open streams when the engine stops, so the drain does not wait for them', async () => {
    const engine = await startTestEngine();
    const feed = await openSse(`${engine.baseUrl}/admin/api/live`, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(feed.status).toBe(200);
    await engine.stop();
    expect(await feed.ended).toBe(true);
  });
});
