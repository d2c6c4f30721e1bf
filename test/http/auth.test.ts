import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, call, startTestEngine, type TestEngine } from '../support/engine.js';

describe('keys: services use API keys, admins use admin keys', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(async () => engine?.stop());

  const serviceRoutes: Array<[string, string, unknown?]> = [
    ['POST', '/v1/accounts', { userId: 'x' }],
    ['GET', '/v1/accounts/x'],
    ['POST', '/v1/check', { userId: 'x', feature: 'resume_upload' }],
    ['POST', '/v1/usage', { userId: 'x', feature: 'resume_upload', idempotencyKey: 'a' }],
    ['GET', '/v1/features'],
    ['GET', '/v1/plans'],
    ['GET', '/v1/accounts/x/ledger'],
    ['GET', '/v1/accounts/x/dashboard'],
    ['GET', '/v1/usage/a'],
    ['DELETE', '/v1/reservations/00000000-0000-4000-8000-000000000000'],
  ];
  const adminRoutes: Array<[string, string, unknown?]> = [
    ['GET', '/admin/api/clock'],
    ['POST', '/admin/api/clock', { advanceSeconds: 1 }],
    ['PUT', '/admin/api/features/resume_upload', { cost: 9 }],
    ['POST', '/admin/api/accounts/x/grants', { tokens: 5, reason: 'x' }],
    ['POST', '/admin/api/jobs/holds/run', {}],
    ['GET', '/admin/api/audit'],
    ['GET', '/admin/api/analytics'],
    ['GET', '/admin/api/queues'],
    ['GET', '/admin'],
    ['GET', '/admin/assets/admin.js'],
    ['GET', '/admin/queues'],
    ['GET', '/admin/queues/api/queues'],
  ];

  it.each(serviceRoutes)('%s %s refuses no key, a wrong key and an admin key with 401', async (method, path, body) => {
    for (const key of [null, 'wrong', ADMIN_KEY, API_KEY.slice(0, -1)]) {
      const r = await call<any>(engine.baseUrl, key, method, path, body);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
    }
  });

  it.each(adminRoutes)('%s %s refuses no key, a wrong key and a service key', async (method, path, body) => {
    for (const key of [null, 'wrong', API_KEY]) {
      const r = await call<any>(engine.baseUrl, key, method, path, body);
      expect(r.status).toBe(401);
    }
  });

  it('nothing was changed by the refused calls', async () => {
    expect((await engine.api('GET', '/v1/accounts/x')).status).toBe(404);
    expect((await engine.admin('GET', '/admin/api/audit')).body.entries).toHaveLength(0);
  });

  it('an admin key also opens the admin API with HTTP Basic (for browsers)', async () => {
    const r = await fetch(`${engine.baseUrl}/admin/api/clock`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` },
    });
    expect(r.status).toBe(200);
  });

  it('/health needs no key and names both services', async () => {
    const r = await call<any>(engine.baseUrl, null, 'GET', '/health');
    expect(r).toEqual({ status: 200, body: { postgres: 'ok', redis: 'ok' } });
  });
});
