import { once } from 'node:events';
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';
import { runToExit, spawnEngine, type EngineProcess } from '../support/processes.js';
import { closedPort } from '../support/ports.js';

/**
 * A POST whose body waits: `received` resolves once the engine has read the headers and answered
 * 100 Continue (the request is in flight there), `finish` sends the body and resolves with the answer.
 */
function heldRequest(port: number, path: string, body: unknown) {
  const json = JSON.stringify(body);
  const req = request({
    host: '127.0.0.1',
    port,
    path,
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), expect: '100-continue' },
  });
  const answer = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.once('error', reject);
  });
  req.flushHeaders();
  return {
    received: Promise.race([once(req, 'continue'), answer.then((a) => Promise.reject(new Error(`answered before the body: ${JSON.stringify(a)}`)))]),
    finish: () => {
      req.end(json);
      return answer;
    },
  };
}

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

  it('SIGTERM drains: a request in flight is finished, and every event answered 202 is applied exactly once', async () => {
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
    // A request the engine cannot finish until the test lets it: its headers are sent, its body is not.
    const held = heldRequest(engine.port!, '/v1/usage', { userId: 'drain', feature: 'profile_basic', idempotencyKey: 'held' });
    await held.received; // the engine answered 100 Continue: the request is in its hands

    const exit = engine.stop('SIGTERM');
    await waitFor(async () => engine.output.some((line) => line.includes('draining')), 'the engine to start draining');
    // It has stopped taking connections, and it waits for the request it holds.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    expect(engine.child.exitCode).toBeNull();
    const answer = await held.finish();
    expect(answer).toMatchObject({ status: 202, body: { status: 'queued', idempotencyKey: 'held' } });
    expect(await exit).toBe(0);
    await Promise.all(sends);
    accepted.push('held');

    // Whatever was accepted but not yet applied waits in Redis for the next worker.
    const next = await spawnEngine(iso.env);
    started.push(next);
    const base2 = `http://127.0.0.1:${next.port}`;
    const account = await waitFor(async () => {
      const r = await call<any>(base2, API_KEY, 'GET', '/v1/accounts/drain');
      return r.body.usedThisPeriod === accepted.length ? r.body : undefined;
    }, `${accepted.length} accepted uses to be applied`);
    expect(account.balance).toBe(1000 - accepted.length);
    expect((await call<any>(base2, API_KEY, 'GET', '/v1/usage/held')).body).toMatchObject({ status: 'applied' });
  });
});
