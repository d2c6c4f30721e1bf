import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { runJob, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

const features = ['resume_upload', '06_Job_Match.py', 'profile_basic', 'ai_insights', '00_Home.py', 'personal_branding'];
const plans = ['free_starter', 'monthly_pro', 'annual_pro', 'enterprise_pro'];

describe('analytics read the rollups, and the rollups equal the ledger', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-10-01T00:00:00Z');
    for (let u = 0; u < 12; u++) await engine.api('POST', '/v1/accounts', { userId: `u${u}`, plan: plans[u % 4] });
    await engine.setClock('2026-10-31T12:00:00Z');
    // A month of traffic, reported with the time each use occurred; some are rejected for lack of tokens.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const events = Array.from({ length: 900 }, (_, i) => ({
      userId: `u${Math.floor(random() * 12)}`,
      feature: features[Math.floor(random() * features.length)]!,
      idempotencyKey: `m-${i}`,
      occurredAt: new Date(Date.parse('2026-10-01T00:00:00Z') + Math.floor(random() * 30 * 86_400_000)).toISOString(),
    }));
    for (let i = 0; i < events.length; i += 300) {
      expect((await engine.api('POST', '/v1/usage/batch', { events: events.slice(i, i + 300) })).status).toBe(202);
    }
    const db = engine.running.engine.db;
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`select count(*) as n from usage_events`.execute(db);
      return rows[0]!.n === 900;
    }, 'all events settled');
  });
  afterAll(async () => engine?.stop());

  async function ledgerPerDay() {
    const { rows } = await sql<{ day: string; tokens: number; uses: number }>`
      select (occurred_at at time zone 'UTC')::date::text as day, coalesce(sum(cost), 0) as tokens, count(*) as uses
      from ledger_entries where kind = 'use' group by 1 order by 1`.execute(engine.running.engine.db);
    return rows;
  }

  it('tokens per day, totals and features equal the ledger, and stay equal when the rollup reruns', async () => {
    await runJob(engine, 'rollups');
    const expected = await ledgerPerDay();
    expect(expected.length).toBeGreaterThan(20);
    for (let run = 0; run < 2; run++) {
      if (run === 1) await runJob(engine, 'rollups');
      const r = await engine.admin('GET', '/admin/api/analytics?from=2026-10-01&to=2026-10-31');
      expect(r.status).toBe(200);
      const perDay = r.body.tokensPerDay.filter((d: any) => d.uses > 0).map((d: any) => ({ day: d.day, tokens: d.tokens, uses: d.uses }));
      expect(perDay).toEqual(expected);
      expect(r.body.totals.tokens).toBe(expected.reduce((s, d) => s + d.tokens, 0));
      const byFeature = Object.fromEntries(r.body.mostUsedFeatures.byUses.map((f: any) => [f.feature, f.uses]));
      const { rows } = await sql<{ feature_key: string; uses: number }>`
        select feature_key, count(*) as uses from ledger_entries where kind = 'use' group by 1`.execute(engine.running.engine.db);
      for (const row of rows) expect(byFeature[row.feature_key]).toBe(row.uses);
      const planSum = r.body.tokensPerPlan.reduce((s: number, p: any) => s + p.tokens, 0);
      expect(planSum).toBe(r.body.totals.tokens);
    }
  });

  it('a use reported late for an earlier day is counted in that day at the next rollup', async () => {
    await engine.api('POST', '/v1/usage', { userId: 'u3', feature: 'personal_branding', idempotencyKey: 'late-1', occurredAt: '2026-10-02T08:00:00Z' });
    await waitFor(async () => (await engine.api('GET', '/v1/usage/late-1')).body.status === 'applied', 'late use applied');
    await runJob(engine, 'rollups');
    const r = await engine.admin('GET', '/admin/api/analytics?from=2026-10-02&to=2026-10-02');
    const expected = (await ledgerPerDay()).find((d) => d.day === '2026-10-02')!;
    expect(r.body.tokensPerDay[0]).toMatchObject({ day: '2026-10-02', tokens: expected.tokens, uses: expected.uses });
  });

  it('lists users near their limit and recommends upgrades to those projected past their plan', async () => {
    const r = await engine.admin('GET', '/admin/api/analytics');
    for (const u of r.body.usersNearLimit) expect(u.percentUsed).toBeGreaterThanOrEqual(90);
    const accounts = await engine.running.engine.db.selectFrom('accounts').selectAll().execute();
    const near = accounts.filter((a) => a.period_used * 100 >= 90 * a.period_allocated).map((a) => a.user_id).sort();
    expect(r.body.usersNearLimit.map((u: any) => u.userId).sort()).toEqual(near);
    for (const rec of r.body.upgradeRecommendations) expect(rec.projectedUse).toBeGreaterThan(rec.monthlyTokens);
    expect(r.body.today.day).toBe('2026-10-31');
  });

  it('refuses a range that ends before it starts', async () => {
    const r = await engine.admin('GET', '/admin/api/analytics?from=2026-10-05&to=2026-10-01');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
  });
});
