import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, call, startTestEngine, type TestEngine } from '../support/engine.js';

describe('bad input gets a 400 (or 404) naming what is wrong, and changes nothing', () => {
  let engine: TestEngine;
  const valid = { userId: 'careful', feature: 'resume_upload', idempotencyKey: 'k-1' };
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'careful', plan: 'monthly_pro' });
  });
  afterAll(async () => engine?.stop());

  const cases: Array<[string, string, string, unknown, number, string, RegExp?]> = [
    ['account without userId', 'POST', '/v1/accounts', {}, 400, 'validation_failed', /userId/],
    ['account with a bad userId', 'POST', '/v1/accounts', { userId: 'has space' }, 400, 'validation_failed', /userId/],
    ['account with a too long userId', 'POST', '/v1/accounts', { userId: 'x'.repeat(129) }, 400, 'validation_failed', /userId/],
    ['account on an unknown plan', 'POST', '/v1/accounts', { userId: 'new-one', plan: 'platinum' }, 400, 'unknown_plan', /platinum/],
    ['usage without feature', 'POST', '/v1/usage', { userId: 'careful', idempotencyKey: 'k' }, 400, 'validation_failed', /feature/],
    ['usage of an unknown feature', 'POST', '/v1/usage', { ...valid, feature: 'teleport' }, 400, 'unknown_feature', /teleport/],
    ['usage for an unknown account', 'POST', '/v1/usage', { ...valid, userId: 'ghost' }, 404, 'account_not_found', /ghost/],
    ['usage with an empty idempotencyKey', 'POST', '/v1/usage', { ...valid, idempotencyKey: '' }, 400, 'validation_failed', /idempotencyKey/],
    ['usage with a malformed occurredAt', 'POST', '/v1/usage', { ...valid, occurredAt: 'yesterday' }, 400, 'validation_failed', /occurredAt/],
    ['usage that occurs in the future', 'POST', '/v1/usage', { ...valid, occurredAt: '2099-01-01T00:00:00Z' }, 400, 'validation_failed', /future/],
    ['usage with a reservationId that is not a UUID', 'POST', '/v1/usage', { ...valid, reservationId: '42' }, 400, 'validation_failed', /reservationId/],
    ['usage with an unknown field', 'POST', '/v1/usage', { ...valid, tokens: 1 }, 400, 'validation_failed', /tokens/],
    ['usage with metadata too large', 'POST', '/v1/usage', { ...valid, metadata: { blob: 'x'.repeat(5000) } }, 400, 'validation_failed', /metadata/],
    ['usage as a string', 'POST', '/v1/usage', 'not json', 400, 'validation_failed'],
    ['an empty batch', 'POST', '/v1/usage/batch', { events: [] }, 400, 'validation_failed', /events/],
    ['a batch over 1000 events', 'POST', '/v1/usage/batch', { events: Array.from({ length: 1001 }, (_, i) => ({ ...valid, idempotencyKey: `b${i}` })) }, 400, 'validation_failed', /1000/],
    ['a batch with one bad event', 'POST', '/v1/usage/batch', { events: [valid, { ...valid, idempotencyKey: 'k-2', userId: '' }] }, 400, 'validation_failed', /none was queued/],
    ['a batch with an unknown feature', 'POST', '/v1/usage/batch', { events: [valid, { ...valid, idempotencyKey: 'k-3', feature: 'nope' }] }, 400, 'unknown_feature', /nope/],
    ['check without feature', 'POST', '/v1/check', { userId: 'careful' }, 400, 'validation_failed', /feature/],
    ['check with a negative ttl', 'POST', '/v1/check', { userId: 'careful', feature: 'resume_upload', reserve: true, ttlSeconds: -5 }, 400, 'validation_failed', /ttlSeconds/],
    ['check with reserve as a string', 'POST', '/v1/check', { userId: 'careful', feature: 'resume_upload', reserve: 'yes' }, 400, 'validation_failed', /reserve/],
    ['ledger with limit 0', 'GET', '/v1/accounts/careful/ledger?limit=0', undefined, 400, 'validation_failed', /limit/],
    ['ledger with a forged cursor', 'GET', '/v1/accounts/careful/ledger?cursor=zzz', undefined, 400, 'validation_failed', /cursor/],
    ['an unknown account', 'GET', '/v1/accounts/ghost', undefined, 404, 'account_not_found'],
    ['an unknown usage key', 'GET', '/v1/usage/never-sent', undefined, 404, 'usage_not_found'],
    ['releasing an unknown reservation', 'DELETE', '/v1/reservations/not-a-uuid', undefined, 404, 'reservation_not_found'],
  ];

  it.each(cases)('%s', async (_name, method, path, body, status, code, message) => {
    const r = await engine.api(method, path, body);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    if (message) expect(`${r.body.error.message} ${JSON.stringify(r.body.error.details ?? '')}`).toMatch(message);
    expect(JSON.stringify(r.body)).not.toMatch(/\bat .*\.ts:\d+|select |insert into/i);
  });

  const adminCases: Array<[string, string, string, unknown, number, string]> = [
    ['a negative cost', 'PUT', '/admin/api/features/resume_upload', { cost: -1 }, 400, 'validation_failed'],
    ['a fractional cost', 'PUT', '/admin/api/features/resume_upload', { cost: 1.5 }, 400, 'validation_failed'],
    ['a cost for an unknown feature', 'PUT', '/admin/api/features/teleport', { cost: 3 }, 400, 'unknown_feature'],
    ['a grant of zero tokens', 'POST', '/admin/api/accounts/careful/grants', { tokens: 0, reason: 'x' }, 400, 'validation_failed'],
    ['a grant without reason', 'POST', '/admin/api/accounts/careful/grants', { tokens: 5 }, 400, 'validation_failed'],
    ['a grant already expired', 'POST', '/admin/api/accounts/careful/grants', { tokens: 5, reason: 'x', expiresAt: '2000-01-01T00:00:00Z' }, 400, 'validation_failed'],
    ['a grant to an unknown account', 'POST', '/admin/api/accounts/ghost/grants', { tokens: 5, reason: 'x' }, 404, 'account_not_found'],
    ['moving the clock backwards', 'POST', '/admin/api/clock', { now: '2000-01-01T00:00:00Z' }, 400, 'clock_backwards'],
    ['moving the clock by a negative amount', 'POST', '/admin/api/clock', { advanceSeconds: -1 }, 400, 'validation_failed'],
    ['running an unknown job', 'POST', '/admin/api/jobs/teleport/run', {}, 404, 'unknown_job'],
  ];

  it.each(adminCases)('admin: %s', async (_name, method, path, body, status, code) => {
    const r = await engine.admin(method, path, body);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
  });

  it('after all of that, nothing changed: balance, ledger, audit log and queue are as they were', async () => {
    const account = await engine.api('GET', '/v1/accounts/careful');
    expect(account.body).toMatchObject({ balance: 100, held: 0, usedThisPeriod: 0 });
    expect((await engine.api('GET', '/v1/accounts/careful/ledger')).body.entries).toHaveLength(1);
    expect((await engine.admin('GET', '/admin/api/audit')).body.entries).toHaveLength(0);
    expect((await engine.api('GET', '/v1/accounts/new-one')).status).toBe(404);
    const counts = await engine.running.engine.queues.usage.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    const features = (await engine.api('GET', '/v1/features')).body.features;
    expect(features.find((f: any) => f.key === 'resume_upload').cost).toBe(3);
  });

  it('a body that is not JSON is a 400 with the contract shape', async () => {
    const r = await fetch(`${engine.baseUrl}/v1/usage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{"userId": ',
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('an unknown route is a 404 in the contract shape', async () => {
    const r = await call<any>(engine.baseUrl, API_KEY, 'GET', '/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});
