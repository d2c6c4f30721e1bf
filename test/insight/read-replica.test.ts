import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, runJob, settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { startPrimaryAndReplica, type PrimaryAndReplica } from '../support/private-replica.js';

const DAY = '2027-01-10';
const features = ['resume_upload', '06_Job_Match.py', 'profile_basic', 'ai_insights'];

function gauge(metrics: string, name: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('a streaming read replica (DATABASE_READ_URL) serves analytics; spending stays on the primary', () => {
  let pair: PrimaryAndReplica;
  let engine: TestEngine;
  const analytics = async () => {
    const r = await engine.admin('GET', `/admin/api/analytics?from=2027-01-01&to=${DAY}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const metrics = async () => (await call<string>(engine.baseUrl, null, 'GET', '/metrics')).body;

  beforeAll(async () => {
    pair = await startPrimaryAndReplica('tokens_replica');
    engine = await startTestEngine({ DATABASE_URL: pair.primaryUrl, DATABASE_READ_URL: pair.replicaUrl, TOKENS_DATABASE_READ_POOL_SIZE: '2' });
    await engine.setClock('2026-12-31T00:00:00Z');
    for (const userId of ['ana', 'ben', 'cy']) await engine.api('POST', '/v1/accounts', { userId, plan: 'enterprise_pro' });
    await engine.setClock(`${DAY}T12:00:00Z`);
    // Ten days of traffic, each use reported with the time it occurred.
    const events = Array.from({ length: 120 }, (_, i) => ({
      userId: ['ana', 'ben', 'cy'][i % 3]!,
      feature: features[i % features.length]!,
      idempotencyKey: `h-${i}`,
      occurredAt: new Date(Date.parse(`${DAY}T11:00:00Z`) - (i % 10) * 86_400_000).toISOString(),
    }));
    expect((await engine.api('POST', '/v1/usage/batch', { events })).status).toBe(202);
    await Promise.all(events.map((e) => settled(engine, e.idempotencyKey)));
    await runJob(engine, 'rollups');
  }, 240_000);
  afterAll(async () => {
    await engine?.stop();
    await pair?.remove();
  }, 60_000);

  it('analytics read from the replica equal the ledger sums of the primary once it has caught up', async () => {
    await pair.caughtUp();
    const { rows: ledger } = await sql<{ day: string; tokens: number; uses: number }>`
      select (occurred_at at time zone 'UTC')::date::text as day, sum(cost) as tokens, count(*) as uses
      from ledger_entries where kind = 'use' group by 1 order by 1`.execute(engine.running.engine.db);
    expect(ledger).toHaveLength(10);
    const body = await analytics();
    expect(body.tokensPerDay.filter((d: any) => d.uses > 0).map((d: any) => ({ day: d.day, tokens: d.tokens, uses: d.uses }))).toEqual(ledger);
    expect(body.totals.tokens).toBe(ledger.reduce((s, d) => s + d.tokens, 0));
    expect(body.today).toMatchObject({ day: DAY, tokens: ledger.at(-1)!.tokens, uses: ledger.at(-1)!.uses });
    // The replica is a standby, and the engine's read sessions are on it.
    const sessions = await pair.onReplica<{ n: number; standby: boolean }>(
      `select count(*)::int as n, pg_is_in_recovery() as standby from pg_stat_activity where application_name = 'tokens-replica-reads'`,
    );
    expect(sessions[0]).toMatchObject({ standby: true });
    expect(sessions[0]!.n).toBeGreaterThan(0);
  });

  it('while the replica replays nothing, a use is in /v1/check and the balance at once, in analytics only after replay resumes', async () => {
    await pair.caughtUp();
    const before = await analytics();
    const balance = async () => (await engine.api('POST', '/v1/check', { userId: 'ana', feature: 'resume_upload' })).body.balance as number;
    const balanceBefore = await balance();
    await pair.pauseReplay();
    try {
      await engine.api('POST', '/v1/usage', { userId: 'ana', feature: 'resume_upload', idempotencyKey: 'while-paused' });
      expect(await settled(engine, 'while-paused')).toMatchObject({ status: 'applied' });
      const cost = balanceBefore - (await balance());
      expect(cost).toBeGreaterThan(0);
      const dashboard = (await engine.api('GET', '/v1/accounts/ana/dashboard')).body;
      expect(dashboard.balance).toBe(balanceBefore - cost); // the account itself is read from the primary

      const during = await analytics();
      expect(during.today).toEqual(before.today);
      const metricsDuring = await metrics();
      expect(gauge(metricsDuring, 'tokens_database_replica_lag_bytes')).toBeGreaterThan(0);
      expect(gauge(metricsDuring, 'tokens_database_replica_lag_seconds')).toBeGreaterThan(0);

      await pair.resumeReplay();
      await pair.caughtUp();
      const after = await analytics();
      expect(after.today).toEqual({ ...before.today, tokens: before.today.tokens + cost, uses: before.today.uses + 1 });
    } finally {
      await pair.resumeReplay();
    }
  });

  it('reports no lag once the replica has replayed everything, however long ago the primary last wrote', async () => {
    await pair.caughtUp();
    // The last replayed transaction is seconds old by now; an idle primary leaves nothing to replay.
    const lag = await waitFor(async () => {
      const text = await metrics();
      const seconds = gauge(text, 'tokens_database_replica_lag_seconds');
      return seconds === 0 && gauge(text, 'tokens_database_replica_lag_bytes') === 0 ? text : undefined;
    }, 'the lag gauges to read 0');
    expect(lag).toContain('# HELP tokens_database_replica_lag_seconds');
    const [replayed] = await pair.onReplica<{ age: number }>('select extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as age');
    expect(replayed!.age).toBeGreaterThan(0);
  });

  it('reconcile checks a snapshot of the replica: an account opened while replay is paused is checked once it resumes', async () => {
    await pair.caughtUp();
    await pair.pauseReplay();
    try {
      expect((await engine.api('POST', '/v1/accounts', { userId: 'dee' })).status).toBe(201);
      expect(await runJob(engine, 'reconcile')).toMatchObject({ clean: true, accountsChecked: 3 });
    } finally {
      await pair.resumeReplay();
    }
    await pair.caughtUp();
    expect(await runJob(engine, 'reconcile')).toMatchObject({ clean: true, accountsChecked: 4 });
  });

  it('with the replica down, analytics answer 503 and /metrics says so, while checks and usage go on', async () => {
    await pair.replica.stop('fast');
    try {
      const refused = await engine.admin('GET', `/admin/api/analytics?from=2027-01-01&to=${DAY}`);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('dependency_unavailable');
      const text = await metrics();
      expect(gauge(text, 'tokens_database_replica_up')).toBe(0);
      expect(gauge(text, 'tokens_database_replica_lag_seconds')).toBeNaN();
      expect((await engine.api('POST', '/v1/check', { userId: 'ben', feature: 'resume_upload' })).body.allowed).toBe(true);
      await engine.api('POST', '/v1/usage', { userId: 'ben', feature: 'resume_upload', idempotencyKey: 'while-down' });
      expect(await settled(engine, 'while-down')).toMatchObject({ status: 'applied' });
    } finally {
      await pair.replica.start();
    }
    await pair.caughtUp();
    expect(gauge(await metrics(), 'tokens_database_replica_up')).toBe(1);
    expect((await analytics()).today.uses).toBeGreaterThan(0);
  });
});
