import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDefaultUser } from '../../src/db/database.js';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

// A check read alone goes on a connection of its own beside the pool (src/db/sole-connection.ts). These
// hold it to what the pool promises: a connection PostgreSQL cuts off is replaced, and stopping the engine
// leaves no session behind.
describe("the lone check's own connection", () => {
  let engine: TestEngine;
  let observer: pg.Client;
  const sessions = async () =>
    (await observer.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows;

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
    observer = new pg.Client({ connectionString: withDefaultUser(engine.databaseUrl) });
    await observer.connect();
    expect((await engine.api('POST', '/v1/accounts', { userId: 'alone', plan: 'monthly_pro' })).status).toBe(201);
  });
  afterAll(async () => {
    await observer?.end();
    await engine?.stop();
  });

  it('is replaced when PostgreSQL cuts it off: the next checks are answered, at most one of them 503', async () => {
    expect((await engine.api('POST', '/v1/check', { userId: 'alone', feature: 'profile_basic' })).body).toMatchObject({ allowed: true, balance: 100 });
    const cut = await observer.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    expect(cut.rowCount).toBeGreaterThan(0);

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await engine.api('POST', '/v1/check', { userId: 'alone', feature: 'profile_basic' });
      statuses.push(answer.status);
      if (answer.status === 503) expect(answer.body.error).toMatchObject({ code: 'dependency_unavailable', details: { dependency: 'postgres' } });
      else expect(answer.body).toMatchObject({ allowed: true, cost: 1, balance: 100 });
    }
    expect(statuses.filter((s) => s === 503).length).toBeLessThanOrEqual(1);
    expect(statuses.slice(1)).toEqual([200, 200, 200, 200]);
  });

  it('is closed with the engine: once stopped, it has no session left on the database', async () => {
    expect((await engine.api('POST', '/v1/check', { userId: 'alone', feature: 'profile_basic' })).status).toBe(200);
    expect((await sessions()).length).toBeGreaterThan(0);
    await engine.running.stop();
    // A backend leaves pg_stat_activity a moment after its client says goodbye; one left open stays.
    await waitFor(async () => (await sessions()).length === 0, 'no session of the stopped engine', 5000);
  });
});
