import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';
import { spawnEngine, type EngineProcess } from '../support/processes.js';

describe('two scheduler processes: each renewal is allocated once', () => {
  const iso = isolation();
  const processes: EngineProcess[] = [];
  let urls: string[] = [];
  const api = (i: number, method: string, path: string, body?: unknown) => call<any>(urls[i % 2]!, API_KEY, method, path, body);
  const users = ['ivy', 'jon', 'kim', 'lou', 'max', 'ned'];

  beforeAll(async () => {
    // Both run every role: API, workers and a scheduler whose cron fires at the same second in each.
    const env = { ...iso.env, TOKENS_ROLES: 'api,workers,scheduler' };
    processes.push(await spawnEngine(env));
    processes.push(await spawnEngine(env));
    urls = processes.map((p) => `http://127.0.0.1:${p.port}`);
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('the next minute tick of both schedulers renews every ended period once', { timeout: 150_000 }, async () => {
    await call(urls[0]!, ADMIN_KEY, 'POST', '/admin/api/clock', { now: '2027-01-05T00:00:00Z' });
    for (const [i, userId] of users.entries()) {
      expect((await api(i, 'POST', '/v1/accounts', { userId, plan: 'monthly_pro' })).status).toBe(201);
    }
    await call(urls[1]!, ADMIN_KEY, 'POST', '/admin/api/clock', { now: '2027-02-05T00:00:00Z' });

    // No operator run: only the cron schedules, at the next real minute.
    const renewed = await waitFor(
      async () => {
        const accounts = await Promise.all(users.map((u, i) => api(i, 'GET', `/v1/accounts/${u}`)));
        return accounts.every((a) => a.body.period.start === '2027-02-05T00:00:00.000Z') ? accounts.map((a) => a.body) : undefined;
      },
      'both schedulers to renew every account',
      90_000,
    );
    expect(renewed.every((a) => a.balance === 100 && a.allocatedThisPeriod === 100)).toBe(true);

    for (const [i, userId] of users.entries()) {
      const entries = (await api(i, 'GET', `/v1/accounts/${userId}/ledger`)).body.entries;
      expect(entries.filter((e: any) => e.kind === 'grant').map((e: any) => e.occurredAt)).toEqual([
        '2027-02-05T00:00:00.000Z',
        '2027-01-05T00:00:00.000Z',
      ]);
    }
    const renewals = new Queue('renewal', { connection: { url: iso.redisUrl }, prefix: iso.prefix });
    try {
      const jobs = await renewals.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
      expect(jobs.map((j) => j.id).sort()).toEqual(users.map((u) => `renewal-${u}-0`));
    } finally {
      await renewals.close();
    }
  });
});
