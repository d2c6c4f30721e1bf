import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { ADMIN_KEY, API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { faultTimeouts } from './settlement.js';

describe('PostgreSQL unable to serve: out of connections, or away while a scheduled job runs', faultTimeouts, () => {
  const iso = isolation();
  let postgres: PrivatePostgres;
  let running: RunningEngine;
  let base = '';
  let databaseUrl = '';
  const hogs: pg.Client[] = [];
  const api = (method: string, path: string, body?: unknown) => call<any>(base, API_KEY, method, path, body);
  const admin = (method: string, path: string, body?: unknown) => call<any>(base, ADMIN_KEY, method, path, body);

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    databaseUrl = postgres.url('tokens_unavailable');
    running = await runEngine(loadConfig({ ...iso.env, DATABASE_URL: databaseUrl }), createLogger('error'));
    base = `http://127.0.0.1:${running.port}`;
    await admin('POST', '/admin/api/clock', { now: '2026-12-01T00:00:00Z' });
    expect((await api('POST', '/v1/accounts', { userId: 'steady', plan: 'monthly_pro' })).status).toBe(201);
  });
  afterAll(async () => {
    await Promise.all(hogs.map((c) => c.end().catch(() => undefined)));
    await running?.stop();
    await postgres?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  /** Opens connections until PostgreSQL refuses one with 53300 (too many connections). */
  async function takeEveryConnection(): Promise<void> {
    for (;;) {
      const client = new pg.Client({ connectionString: databaseUrl, application_name: 'hog' });
      // A hog left behind by a failed test is cut off when PostgreSQL stops: that is no error of the engine's.
      client.on('error', () => undefined);
      try {
        await client.connect();
        hogs.push(client);
      } catch (error) {
        expect((error as { code?: string }).code).toBe('53300');
        return;
      }
    }
  }

  it('out of connections (SQLSTATE 53300), a request is a 503 naming PostgreSQL, not a 500', async () => {
    await takeEveryConnection();
    // The engine's own connections go too, so that its next request must open one; one it opened while
    // the slots were freed goes the same way, until a pass finds none of its connections left.
    for (;;) {
      const { rows } = await hogs[0]!.query<{ cut: number }>(
        `select count(pg_terminate_backend(pid))::int as cut from pg_stat_activity where datname = current_database() and application_name <> 'hog' and pid <> pg_backend_pid()`,
      );
      await takeEveryConnection();
      if (rows[0]!.cut === 0) break;
    }

    const account = await api('GET', '/v1/accounts/steady');
    expect([account.status, account.body.error?.code, account.body.error?.details]).toEqual([503, 'dependency_unavailable', { dependency: 'postgres' }]);
    const usage = await api('POST', '/v1/usage', { userId: 'steady', feature: 'resume_upload', idempotencyKey: 'crowded-1' });
    expect([usage.status, usage.body.error?.code]).toEqual([503, 'dependency_unavailable']);

    await Promise.all(hogs.splice(0).map((c) => c.end()));
    await waitFor(async () => (await api('GET', '/v1/accounts/steady')).status === 200, 'the engine to be served again');
    expect((await api('GET', '/v1/usage/crowded-1')).status).toBe(404);
  });

  it('a scheduled job whose attempts fail while PostgreSQL is down is retried, and done, once it is back', async () => {
    const hold = await api('POST', '/v1/check', { userId: 'steady', feature: 'resume_upload', reserve: true, ttlSeconds: 60 });
    expect(hold.body).toMatchObject({ allowed: true });
    await admin('POST', '/admin/api/clock', { advanceSeconds: 120 });

    await postgres.stop();
    const run = await admin('POST', '/admin/api/jobs/holds/run', {});
    expect(run.status).toBe(202);
    const queue = running.engine.queues.scheduled;
    await waitFor(async () => ((await queue.getJob(run.body.jobId))?.attemptsMade ?? 0) >= 1, 'an attempt to fail while PostgreSQL is down');
    expect(await queue.getJobState(run.body.jobId)).not.toBe('failed');
    await postgres.start();

    const done = await waitFor(async () => {
      const state = await queue.getJobState(run.body.jobId);
      if (state === 'failed') throw new Error(`the holds job failed for good: ${(await queue.getJob(run.body.jobId))?.failedReason}`);
      return state === 'completed' ? (await queue.getJob(run.body.jobId))?.returnvalue : undefined;
    }, 'the holds job to complete', 60_000);
    expect(done).toMatchObject({ holdsExpired: 1 });
    const ledger = await waitFor(async () => {
      const r = await api('GET', '/v1/accounts/steady/ledger');
      return r.status === 200 ? r.body.entries : undefined;
    }, 'the ledger');
    expect(ledger.map((e: any) => e.kind)).toEqual(['release', 'hold', 'grant']);
  });
});
