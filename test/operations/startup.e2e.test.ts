import { afterAll, describe, expect, it } from 'vitest';
import { API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';
import { runToExit, spawnEngine, type EngineProcess } from '../support/processes.js';
import { closedPort } from '../support/ports.js';

describe('start-up and shutdown', () => {
  const iso = isolation();
  const started: EngineProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('fails at once when PostgreSQL is unreachable, saying which, where and how to start it', async () => {
    const port = await closedPort();
    const { code, output } = await runToExit({ ...iso.env, DATABASE_URL: `postgres://127.0.0.1:${port}/tokens` });
    expect(code).toBe(1);
    expect(output).toContain(`PostgreSQL is not reachable at 127.0.0.1:${port}`);
    expect(output).toContain('pg_ctlcluster');
  });

  it('fails at once when Redis is unreachable, saying which, where and how to start it', async () => {
    const port = await closedPort();
    const { code, output } = await runToExit({ ...iso.env, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(output).toContain(`Redis is not reachable at 127.0.0.1:${port}`);
    expect(output).toContain('redis-server');
  });

  it('refuses to start in production without keys', async () => {
    const { code, output } = await runToExit({ ...iso.env, NODE_ENV: 'production', TOKENS_TEST_CLOCK: 'off', TOKENS_API_KEYS: '', TOKENS_ADMIN_KEYS: '' });
    expect(code).toBe(1);
    expect(output).toContain('TOKENS_API_KEYS and TOKENS_ADMIN_KEYS must be set in production');
  });

  it('names a bad setting instead of starting', async () => {
    const { code, output } = await runToExit({ ...iso.env, TOKENS_ROLES: 'api,cook' });
    expect(code).toBe(1);
    expect(output).toContain('TOKENS_ROLES');
  });

  it('SIGTERM drains: every event answered 202 is applied exactly once', async () => {
    const engine = await spawnEngine(iso.env);
    started.push(engine);
    const base = `http://127.0.0.1:${engine.port}`;
    await call(base, API_KEY, 'POST', '/v1/accounts', { userId: 'drain', plan: 'enterprise_pro' });
    const accepted: string[] = [];
    const sends = Array.from({ length: 20 }, (_, b) =>
      call<any>(base, API_KEY, 'POST', '/v1/usage/batch', {
        events: Array.from({ length: 25 }, (_, i) => ({ userId: 'drain', feature: 'profile_basic', idempotencyKey: `d-${b}-${i}` })),
      }).then((r) => {
        if (r.status === 202) accepted.push(...r.body.results.map((x: any) => x.idempotencyKey));
      }, () => undefined),
    );
    await new Promise((r) => setTimeout(r, 30));
    const exit = await engine.stop('SIGTERM');
    await Promise.all(sends);
    expect(exit).toBe(0);
    expect(accepted.length).toBeGreaterThan(0);

    // Whatever was accepted but not yet applied waits in Redis for the next worker.
    const next = await spawnEngine(iso.env);
    started.push(next);
    const base2 = `http://127.0.0.1:${next.port}`;
    const account = await waitFor(async () => {
      const r = await call<any>(base2, API_KEY, 'GET', '/v1/accounts/drain');
      return r.body.usedThisPeriod === accepted.length ? r.body : undefined;
    }, `${accepted.length} accepted uses to be applied`);
    expect(account.balance).toBe(1000 - accepted.length);
  });
});
