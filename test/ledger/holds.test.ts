import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

describe('reservations hold tokens until used, released or expired', () => {
  let engine: TestEngine;
  const account = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('a hold moves tokens from balance to held, and a use naming it spends them at the quoted price', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'coach', plan: 'monthly_pro' });
    const hold = await engine.api('POST', '/v1/check', { userId: 'coach', feature: 'ai_interview_coach', reserve: true });
    expect(hold.body).toMatchObject({ allowed: true, cost: 8, balance: 92 });
    expect(await account('coach')).toMatchObject({ balance: 92, held: 8 });

    // The price rises after the quote; the hold keeps its price.
    await engine.admin('PUT', '/admin/api/features/ai_interview_coach', { cost: 12 });
    await engine.api('POST', '/v1/usage', { userId: 'coach', feature: 'ai_interview_coach', idempotencyKey: 'coach-1', reservationId: hold.body.reservationId });
    expect(await settled(engine, 'coach-1')).toMatchObject({ status: 'applied', cost: 8 });
    expect(await account('coach')).toMatchObject({ balance: 92, held: 0, usedThisPeriod: 8 });

    const again = await engine.api('DELETE', `/v1/reservations/${hold.body.reservationId}`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('reservation_closed');
  });

  it('a released hold gives its tokens back, once', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'releaser' });
    const hold = await engine.api('POST', '/v1/check', { userId: 'releaser', feature: 'cv_generator', reserve: true });
    expect(await account('releaser')).toMatchObject({ balance: 5, held: 5 });
    const released = await engine.api('DELETE', `/v1/reservations/${hold.body.reservationId}`);
    expect(released.body).toEqual({ reservationId: hold.body.reservationId, status: 'released' });
    expect((await engine.api('DELETE', `/v1/reservations/${hold.body.reservationId}`)).status).toBe(200);
    expect(await account('releaser')).toMatchObject({ balance: 10, held: 0 });
    const kinds = (await engine.api('GET', '/v1/accounts/releaser/ledger')).body.entries.map((e: any) => [e.kind, e.amount, e.balanceAfter, e.heldAfter]);
    expect(kinds).toEqual([
      ['release', 5, 10, 0],
      ['hold', -5, 5, 5],
      ['grant', 10, 10, 0],
    ]);
    expect((await engine.api('DELETE', '/v1/reservations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('an unused hold expires after its ttl, and no other use could spend it meanwhile', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'sleeper' });
    const hold = await engine.api('POST', '/v1/check', { userId: 'sleeper', feature: '23_Tailored_CV_Generator.py', reserve: true, ttlSeconds: 60 });
    expect(hold.body.allowed).toBe(true);
    const blocked = await engine.api('POST', '/v1/check', { userId: 'sleeper', feature: '10_AI_Insights.py', reserve: true });
    expect(blocked.body).toMatchObject({ allowed: false, reason: 'insufficient_tokens', balance: 5 });
    await engine.advance(61);
    expect((await engine.admin('POST', '/admin/api/jobs/holds/run', {})).status).toBe(202);
    await waitFor(async () => (await account('sleeper')).held === 0, 'hold to expire');
    expect(await account('sleeper')).toMatchObject({ balance: 10, held: 0 });
    // A use that names the expired hold is charged like any other use, at the price in force.
    await engine.api('POST', '/v1/usage', { userId: 'sleeper', feature: '23_Tailored_CV_Generator.py', idempotencyKey: 'late', reservationId: hold.body.reservationId });
    expect(await settled(engine, 'late')).toMatchObject({ status: 'applied', cost: 5, balanceAfter: 5 });
  });

  it('a use naming a hold for another feature is rejected and leaves the hold in place', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'mixer' });
    const hold = await engine.api('POST', '/v1/check', { userId: 'mixer', feature: 'resume_upload', reserve: true });
    await engine.api('POST', '/v1/usage', { userId: 'mixer', feature: 'profile_basic', idempotencyKey: 'mix-1', reservationId: hold.body.reservationId });
    expect(await settled(engine, 'mix-1')).toMatchObject({ status: 'rejected', reason: 'reservation_mismatch' });
    expect(await account('mixer')).toMatchObject({ balance: 7, held: 3 });
  });
});
