import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, settled, startTestEngine, type TestEngine } from '../support/engine.js';

describe('pricing rules: honest prices that follow time windows and demand', () => {
  let engine: TestEngine;
  const quote = async (feature: string, userId = 'shopper') =>
    (await engine.api('POST', '/v1/check', { userId, feature })).body as { cost: number; allowed: boolean };
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T08:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'shopper', plan: 'enterprise_pro' });
  });
  afterAll(async () => engine?.stop());

  it('a window rule doubling resume_upload quotes 6 inside the window and 3 outside', async () => {
    const put = await engine.admin('PUT', '/admin/api/pricing-rules/peak-uploads', {
      match: { features: ['resume_upload'] },
      multiplier: 2,
      startsAt: '2026-12-01T09:00:00Z',
      endsAt: '2026-12-01T10:00:00Z',
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: 'peak-uploads', version: 1, multiplier: 2 });
    expect((await quote('resume_upload')).cost).toBe(3);
    await engine.setClock('2026-12-01T09:00:00Z');
    expect((await quote('resume_upload')).cost).toBe(6);
    const features = (await engine.api('GET', '/v1/features')).body.features;
    expect(features.find((f: any) => f.key === 'resume_upload')).toMatchObject({ baseCost: 3, cost: 6, tier: 'ADVANCED' });
    expect((await quote('resume_analysis')).cost).toBe(3);
  });

  it('a hold taken inside the window and used after it is charged 6; a late report from inside the window is charged 6', async () => {
    const hold = await engine.api('POST', '/v1/check', { userId: 'shopper', feature: 'resume_upload', reserve: true, ttlSeconds: 7200 });
    expect(hold.body).toMatchObject({ allowed: true, cost: 6 });
    await engine.setClock('2026-12-01T10:30:00Z');
    expect((await quote('resume_upload')).cost).toBe(3);
    await engine.api('POST', '/v1/usage', { userId: 'shopper', feature: 'resume_upload', idempotencyKey: 'held-1', reservationId: hold.body.reservationId });
    expect(await settled(engine, 'held-1')).toMatchObject({ status: 'applied', cost: 6 });
    await engine.api('POST', '/v1/usage', { userId: 'shopper', feature: 'resume_upload', idempotencyKey: 'late-1', occurredAt: '2026-12-01T09:45:00Z' });
    expect(await settled(engine, 'late-1')).toMatchObject({ status: 'applied', cost: 6 });
    await engine.api('POST', '/v1/usage', { userId: 'shopper', feature: 'resume_upload', idempotencyKey: 'now-1' });
    expect(await settled(engine, 'now-1')).toMatchObject({ status: 'applied', cost: 3 });

    const entries = (await engine.api('GET', '/v1/accounts/shopper/ledger')).body.entries;
    const late = engine.running.engine.db.selectFrom('ledger_entries').select(['usage_key', 'cost', 'pricing']).where('kind', '=', 'use');
    const rows = Object.fromEntries((await late.execute()).map((r) => [r.usage_key, r]));
    expect(rows['late-1']).toMatchObject({ cost: 6, pricing: { baseCost: 3, rules: [{ id: 'peak-uploads', version: 1, multiplier: 2 }] } });
    expect(rows['held-1']).toMatchObject({ cost: 6, pricing: { baseCost: 3, rules: [{ id: 'peak-uploads' }] } });
    expect(rows['now-1']).toMatchObject({ cost: 3, pricing: { baseCost: 3, rules: [] } });
    expect(entries.filter((e: any) => e.kind === 'use')).toHaveLength(3);
  });

  it('a demand rule raises the quote after a burst, never above maxMultiplier or maxCost, and quiet brings it back', async () => {
    await engine.setClock('2026-12-02T12:00:00Z');
    await engine.admin('PUT', '/admin/api/pricing-rules/hot-coach', {
      match: { tiers: ['ADVANCED'] },
      demand: { windowMinutes: 10, baselineUsesPerMinute: 1, maxMultiplier: 3 },
      maxCost: 20,
    });
    await runJob(engine, 'pricing');
    expect((await quote('ai_interview_coach')).cost).toBe(8);

    // 60 uses in ten minutes: 6 a minute against a baseline of 1, capped at 3x, and 8x3=24 capped at 20.
    const burst = Array.from({ length: 60 }, (_, i) => ({
      userId: 'shopper',
      feature: 'ai_insights',
      idempotencyKey: `burst-${i}`,
      occurredAt: new Date(Date.parse('2026-12-02T11:52:00Z') + i * 8000).toISOString(),
    }));
    await engine.api('POST', '/v1/usage/batch', { events: burst });
    await Promise.all(burst.map((e) => settled(engine, e.idempotencyKey)));
    expect((await quote('ai_interview_coach')).cost).toBe(8); // not until the next demand computation
    await engine.advance(60);
    const levels = (await runJob(engine, 'pricing')) as { levels: Record<string, number> };
    expect(levels.levels['hot-coach']).toBe(3);
    expect((await quote('ai_interview_coach')).cost).toBe(20);
    expect((await quote('ai_insights')).cost).toBe(20); // 7 x 3 = 21, clamped
    expect((await quote('24_Geo_Career_Finder.py')).cost).toBe(20);
    expect((await quote('resume_analysis')).cost).toBe(3); // STANDARD: not matched

    await engine.advance(20 * 60);
    await runJob(engine, 'pricing');
    expect((await quote('ai_interview_coach')).cost).toBe(8);
  });

  it('lists rules, audits every change, and a deleted rule stops pricing', async () => {
    const list = await engine.admin('GET', '/admin/api/pricing-rules');
    expect(list.body.rules.map((r: any) => r.id)).toEqual(['hot-coach', 'peak-uploads']);
    expect((await engine.admin('DELETE', '/admin/api/pricing-rules/hot-coach')).status).toBe(200);
    expect((await engine.admin('DELETE', '/admin/api/pricing-rules/hot-coach')).status).toBe(404);
    const audit = (await engine.admin('GET', '/admin/api/audit')).body.entries.map((e: any) => e.action);
    expect(audit.slice(0, 3)).toEqual(['pricing_rule.delete', 'pricing_rule.create', 'pricing_rule.create']);
  });

  it.each([
    ['a negative multiplier', { match: { features: ['resume_upload'] }, multiplier: -2 }, 'validation_failed'],
    ['a window that ends before it starts', { match: { features: ['resume_upload'] }, multiplier: 2, startsAt: '2026-12-05T10:00:00Z', endsAt: '2026-12-05T09:00:00Z' }, 'validation_failed'],
    ['an unknown feature', { match: { features: ['teleport'] }, multiplier: 2 }, 'unknown_feature'],
    ['an unknown tier', { match: { tiers: ['GIGA'] }, multiplier: 2 }, 'validation_failed'],
    ['no multiplier nor demand', { match: { tiers: ['BASIC'] } }, 'validation_failed'],
    ['minCost above maxCost', { match: { tiers: ['BASIC'] }, multiplier: 2, minCost: 9, maxCost: 3 }, 'validation_failed'],
  ])('refuses %s with a 400 that changes nothing', async (_name, body, code) => {
    const before = (await engine.admin('GET', '/admin/api/pricing-rules')).body.rules;
    const r = await engine.admin('PUT', '/admin/api/pricing-rules/bad-rule', body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(code);
    expect((await engine.admin('GET', '/admin/api/pricing-rules')).body.rules).toEqual(before);
  });
});
