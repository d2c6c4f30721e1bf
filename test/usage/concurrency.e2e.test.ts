import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';
import { spawnEngine, type EngineProcess } from '../support/processes.js';

describe('no overspend under concurrency: two API processes, two worker processes', () => {
  const iso = isolation();
  const processes: EngineProcess[] = [];
  let apis: string[] = [];
  const api = (i: number, method: string, path: string, body?: unknown) => call<any>(apis[i % apis.length]!, API_KEY, method, path, body);

  beforeAll(async () => {
    // The first process creates and migrates the database; the others then start side by side.
    processes.push(await spawnEngine({ ...iso.env, TOKENS_ROLES: 'api' }));
    processes.push(...(await Promise.all([
      spawnEngine({ ...iso.env, TOKENS_ROLES: 'api' }),
      spawnEngine({ ...iso.env, TOKENS_ROLES: 'workers' }),
      spawnEngine({ ...iso.env, TOKENS_ROLES: 'workers' }),
    ])));
    apis = processes.filter((p) => p.port).map((p) => `http://127.0.0.1:${p.port}`);
    expect(apis).toHaveLength(2);
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('300 simultaneous 3-token uses against 100 tokens: exactly 33 applied, balance 1', async () => {
    expect((await api(0, 'POST', '/v1/accounts', { userId: 'hot', plan: 'monthly_pro' })).status).toBe(201);
    // A client resends a refused request with the same key (a 503 when the machine is overloaded).
    const send = async (i: number) => {
      for (let attempt = 0; ; attempt++) {
        const r = await api(i + attempt, 'POST', '/v1/usage', { userId: 'hot', feature: 'resume_upload', idempotencyKey: `use-${i}` });
        if (r.status !== 503 || attempt >= 5) return r;
      }
    };
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => send(i)));
    expect(answers.map((a) => a.status).filter((s) => s !== 202)).toEqual([]);
    const statuses = await waitFor(async () => {
      const all = await Promise.all(Array.from({ length: 300 }, (_, i) => api(i, 'GET', `/v1/usage/use-${i}`)));
      return all.every((r) => r.body.status !== 'queued') ? all.map((r) => r.body) : undefined;
    }, 'all 300 uses to settle', 30_000);
    expect(statuses.filter((s) => s.status === 'applied')).toHaveLength(33);
    expect(statuses.filter((s) => s.status === 'rejected' && s.reason === 'insufficient_tokens')).toHaveLength(267);
    const account = await api(1, 'GET', '/v1/accounts/hot');
    expect(account.body).toMatchObject({ balance: 1, held: 0, usedThisPeriod: 99 });
    const ledger = await api(0, 'GET', '/v1/accounts/hot/ledger?limit=500');
    expect(ledger.body.entries.filter((e: any) => e.kind === 'use')).toHaveLength(33);
  });

  it('60 simultaneous reservations of 3 tokens out of 10: exactly 3 granted', async () => {
    await api(0, 'POST', '/v1/accounts', { userId: 'reserver' });
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => api(i, 'POST', '/v1/check', { userId: 'reserver', feature: 'resume_upload', reserve: true })),
    );
    const granted = answers.filter((a) => a.body.allowed);
    expect(granted).toHaveLength(3);
    expect(new Set(granted.map((a) => a.body.reservationId)).size).toBe(3);
    expect(answers.filter((a) => a.body.reason === 'insufficient_tokens')).toHaveLength(57);
    const account = await api(1, 'GET', '/v1/accounts/reserver');
    expect(account.body).toMatchObject({ balance: 1, held: 9 });
  });

  it('the test clock moved through one process is the time of every process', async () => {
    const moved = await call<any>(apis[0]!, ADMIN_KEY, 'POST', '/admin/api/clock', { advanceSeconds: 3600 });
    const seen = await call<any>(apis[1]!, ADMIN_KEY, 'GET', '/admin/api/clock');
    expect(seen.body.now).toBe(moved.body.now);
  });
});
