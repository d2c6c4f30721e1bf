import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { runJob, settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET, deliverAndApply, planCheckout, tokenCheckout } from '../billing/stripe.js';

describe('analytics: revenue per token and feature, upgrade patterns, rewards and pricing rules', () => {
  let engine: TestEngine;
  let analytics: any;
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-03-01T10:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'rita' });
    await engine.api('POST', '/v1/accounts', { userId: 'sam' });
    await deliverAndApply(engine, planCheckout({ userId: 'rita', plan: 'monthly_pro', amount: 1900 }));
    await deliverAndApply(engine, tokenCheckout({ userId: 'sam', tokens: 50, amount: 5000 }));
    await engine.admin('PUT', '/admin/api/pricing-rules/double-match', { match: { features: ['06_Job_Match.py'] }, multiplier: 2 });
    await engine.admin('PUT', '/admin/api/campaigns/spring', { name: 'Spring', startsAt: '2027-03-01T00:00:00Z', endsAt: '2027-03-08T00:00:00Z', bonus: { tokens: 5 } });
    await runJob(engine, 'campaigns');
    const events = [
      { userId: 'rita', feature: '06_Job_Match.py', idempotencyKey: 'r1' }, // 8 with the rule
      { userId: 'rita', feature: 'resume_upload', idempotencyKey: 'r2' }, // 3
      { userId: 'sam', feature: '06_Job_Match.py', idempotencyKey: 's1' }, // 8
      { userId: 'sam', feature: 'profile_basic', idempotencyKey: 's2' }, // 1
    ];
    await engine.api('POST', '/v1/usage/batch', { events });
    await Promise.all(events.map((e) => settled(engine, e.idempotencyKey)));
    await runJob(engine, 'rollups');
    analytics = (await engine.admin('GET', '/admin/api/analytics?from=2027-03-01&to=2027-03-01')).body;
  });
  afterAll(async () => engine?.stop());

  it('divides the day revenue by the tokens consumed, and spreads it over features by their tokens', async () => {
    expect(analytics.totals.tokens).toBe(20);
    expect(analytics.revenue.byCurrency).toEqual([{ currency: 'usd', revenueCents: 6900, tokens: 20, centsPerToken: 345 }]);
    expect(analytics.revenue.method).toContain('net of refunds');
    expect(analytics.revenuePerFeature[0].features).toEqual([
      { feature: '06_Job_Match.py', tokens: 16, revenueCents: 5520 },
      { feature: 'resume_upload', tokens: 3, revenueCents: 1035 },
      { feature: 'profile_basic', tokens: 1, revenueCents: 345 },
    ]);
  });

  it('shows plan moves as upgrade patterns', async () => {
    expect(analytics.upgradePatterns).toEqual([{ from: 'free_starter', to: 'monthly_pro', moves: 1, direction: 'upgrade' }]);
  });

  it('shows what campaigns granted and what each pricing rule charged above base price', async () => {
    expect(analytics.rewards.granted).toEqual([{ source: 'bonus:campaign:spring', grants: 2, tokens: 10, unspent: 10 }]);
    expect(analytics.pricingRules).toEqual([
      { rule: 'double-match', uses: 2, tokens: 16, baseTokens: 8, extraTokens: 8, revenueCents: { usd: 5520 } },
    ]);
  });

  it("reads pricing rules' effects from the daily rollup: equal to the ledger's entries, the same on rerun, a new use counted at the next run", async () => {
    const fromLedger = async () => {
      const { rows } = await sql<{ rule: string; uses: number; tokens: number; base: number }>`
        select r->>'id' as rule, count(*) as uses, sum(e.cost) as tokens, sum((e.pricing->>'baseCost')::int) as base
        from ledger_entries e cross join lateral jsonb_array_elements(e.pricing->'rules') r
        where e.kind = 'use' group by 1 order by 1`.execute(engine.running.engine.db);
      return rows.map((r) => ({ rule: r.rule, uses: r.uses, tokens: r.tokens, baseTokens: r.base, extraTokens: r.tokens - r.base }));
    };
    const effects = async () =>
      (await engine.admin('GET', '/admin/api/analytics?from=2027-03-01&to=2027-03-01')).body.pricingRules.map(({ revenueCents: _, ...r }: any) => r);
    expect(await effects()).toEqual(await fromLedger());
    await runJob(engine, 'rollups');
    expect(await effects()).toEqual(await fromLedger());

    await engine.api('POST', '/v1/usage', { userId: 'sam', feature: '06_Job_Match.py', idempotencyKey: 's3' });
    await settled(engine, 's3');
    expect(await effects()).toEqual([{ rule: 'double-match', uses: 2, tokens: 16, baseTokens: 8, extraTokens: 8 }]);
    await runJob(engine, 'rollups');
    expect(await effects()).toEqual([{ rule: 'double-match', uses: 3, tokens: 24, baseTokens: 12, extraTokens: 12 }]);
    expect(await effects()).toEqual(await fromLedger());
  });
});
