import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { engineState } from '../support/state.js';

describe("the contract's hold rules: expiry at the instant, holds listed, nothing held for free, a cap per account", () => {
  let engine: TestEngine;
  const account = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body;
  const reserve = (userId: string, feature: string, ttlSeconds?: number) =>
    engine.api('POST', '/v1/check', { userId, feature, reserve: true, ...(ttlSeconds ? { ttlSeconds } : {}) });
  const ledger = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}/ledger?limit=500`)).body.entries;

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('a hold past its ttl gives its tokens back at once: balance, check and usage see them before any sweep', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'sleeper' }); // free_starter: 10 tokens
    const hold = await reserve('sleeper', '23_Tailored_CV_Generator.py', 60);
    expect(hold.body).toMatchObject({ allowed: true, cost: 5, balance: 5 });
    await engine.advance(61);

    expect(await account('sleeper')).toMatchObject({ balance: 10, held: 0 });
    expect((await engine.api('POST', '/v1/check', { userId: 'sleeper', feature: '10_AI_Insights.py' })).body).toMatchObject({ allowed: true, balance: 10 });
    expect((await engine.api('GET', '/v1/accounts/sleeper/holds')).body).toEqual({ holds: [] });
    // A use of 7 needs the expired hold's tokens: the usage transaction gives them back first.
    await engine.api('POST', '/v1/usage', { userId: 'sleeper', feature: '10_AI_Insights.py', idempotencyKey: 'needs-them' });
    expect(await settled(engine, 'needs-them')).toMatchObject({ status: 'applied', cost: 7, balanceAfter: 3 });
    const entries = await ledger('sleeper');
    expect(entries.map((e: any) => [e.kind, e.amount, e.heldDelta])).toEqual([['use', -7, 0], ['release', 5, -5], ['hold', -5, 5], ['grant', 10, 0]]);
    // The release is dated when the hold expired, not when it was written.
    expect(entries[1].occurredAt).toBe(hold.body.expiresAt);
    // The sweep finds nothing left to do for it.
    expect(await runJob(engine, 'holds')).toMatchObject({ holdsExpired: 0 });
    // Releasing it now is too late: it expired.
    const release = await engine.api('DELETE', `/v1/reservations/${hold.body.reservationId}`);
    expect([release.status, release.body.error.details]).toEqual([409, { status: 'expired' }]);
  });

  it('the sweep writes the entries of holds nobody touched, dated when they expired', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'idle' });
    const hold = await reserve('idle', 'resume_upload', 30);
    await engine.advance(300);
    expect(await account('idle')).toMatchObject({ balance: 10, held: 0 });
    expect(await runJob(engine, 'holds')).toMatchObject({ holdsExpired: 1 });
    const [release] = await ledger('idle');
    expect(release).toMatchObject({ kind: 'release', amount: 3, occurredAt: hold.body.expiresAt });
    expect(await account('idle')).toMatchObject({ balance: 10, held: 0 });
  });

  it('GET /v1/accounts/{userId}/holds lists the open holds, soonest to expire first', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'planner', plan: 'monthly_pro' });
    const long = await reserve('planner', 'ai_interview_coach', 3600);
    const short = await reserve('planner', 'resume_upload', 120);
    const gone = await reserve('planner', 'profile_basic', 120);
    await engine.api('DELETE', `/v1/reservations/${gone.body.reservationId}`);
    const listed = await engine.api('GET', '/v1/accounts/planner/holds');
    expect(listed.status).toBe(200);
    expect(listed.body.holds).toEqual([
      { reservationId: short.body.reservationId, feature: 'resume_upload', cost: 3, expiresAt: short.body.expiresAt },
      { reservationId: long.body.reservationId, feature: 'ai_interview_coach', cost: 8, expiresAt: long.body.expiresAt },
    ]);
    const unknown = await engine.api('GET', '/v1/accounts/nobody/holds');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'account_not_found']);
  });

  it('reserving a feature that costs nothing is allowed and holds nothing', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'browser' });
    const before = await engineState(engine);
    const answers = await Promise.all(Array.from({ length: 30 }, () => reserve('browser', '00_Home.py')));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body).toEqual({ allowed: true, cost: 0, balance: 10 });
    }
    expect(await engineState(engine)).toEqual(before);
    expect((await engine.api('GET', '/v1/accounts/browser/holds')).body.holds).toEqual([]);
  });

  it('at most TOKENS_MAX_OPEN_HOLDS (100) open holds per account; the next is 409 too_many_holds until one closes', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'hoarder', plan: 'enterprise_pro' });
    const holds = [];
    for (let i = 0; i < 100; i++) holds.push(await reserve('hoarder', 'profile_basic', 86_400));
    expect(holds.every((h) => h.body.allowed)).toBe(true);
    const before = await engineState(engine);
    const refused = await reserve('hoarder', 'profile_basic', 86_400);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'too_many_holds']);
    expect(refused.body.error.details).toMatchObject({ open: 100, limit: 100 });
    expect(await engineState(engine)).toEqual(before);
    expect(await account('hoarder')).toMatchObject({ balance: 900, held: 100 });

    await engine.api('DELETE', `/v1/reservations/${holds[0]!.body.reservationId}`);
    expect((await reserve('hoarder', 'profile_basic')).body).toMatchObject({ allowed: true });
    // A plain check is never capped: it holds nothing.
    expect((await engine.api('POST', '/v1/check', { userId: 'hoarder', feature: 'profile_basic' })).body).toMatchObject({ allowed: true });
  });
});
