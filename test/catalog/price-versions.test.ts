import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, type TestEngine } from '../support/engine.js';

describe('prices are versioned: a use pays the price in force when it occurred', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T10:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'pricey', plan: 'monthly_pro' });
  });
  afterAll(async () => engine?.stop());

  it('a price change between two uses charges each at its own time, even when the first is reported late', async () => {
    const before = '2026-12-01T10:00:00.000Z';
    await engine.advance(60);
    const change = await engine.admin('PUT', '/admin/api/features/resume_upload', { cost: 5 });
    expect(change.status).toBe(200);
    expect(change.body).toMatchObject({ key: 'resume_upload', cost: 5, enabled: true });
    await engine.advance(60);

    await engine.api('POST', '/v1/usage', { userId: 'pricey', feature: 'resume_upload', idempotencyKey: 'after-change' });
    await engine.api('POST', '/v1/usage', { userId: 'pricey', feature: 'resume_upload', idempotencyKey: 'late-report', occurredAt: before });
    expect(await settled(engine, 'after-change')).toMatchObject({ status: 'applied', cost: 5 });
    expect(await settled(engine, 'late-report')).toMatchObject({ status: 'applied', cost: 3 });
    expect((await engine.api('GET', '/v1/accounts/pricey')).body.balance).toBe(92);

    const features = await engine.api('GET', '/v1/features');
    expect(features.body.features.find((f: any) => f.key === 'resume_upload')).toMatchObject({ cost: 5, tier: 'STANDARD' });
    const check = await engine.api('POST', '/v1/check', { userId: 'pricey', feature: 'resume_upload' });
    expect(check.body).toMatchObject({ allowed: true, cost: 5, balance: 92 });
  });

  it('the change is audited with who, when, before and after', async () => {
    const audit = await engine.admin('GET', '/admin/api/audit');
    expect(audit.body.entries[0]).toMatchObject({
      action: 'feature.update',
      subject: 'feature:resume_upload',
      before: { cost: 3, enabled: true },
      after: { cost: 5, enabled: true },
      at: '2026-12-01T10:01:00.000Z',
    });
    expect(audit.body.entries[0].actor).toMatch(/^admin-key:/);
  });

  it('a disabled feature is refused by check and rejected by usage, charging nothing', async () => {
    await engine.admin('PUT', '/admin/api/features/ai_insights', { enabled: false });
    const check = await engine.api('POST', '/v1/check', { userId: 'pricey', feature: 'ai_insights' });
    expect(check.body).toMatchObject({ allowed: false, reason: 'feature_disabled' });
    await engine.api('POST', '/v1/usage', { userId: 'pricey', feature: 'ai_insights', idempotencyKey: 'disabled-1' });
    expect(await settled(engine, 'disabled-1')).toMatchObject({ status: 'rejected', reason: 'feature_disabled' });
    expect((await engine.api('GET', '/v1/accounts/pricey')).body.balance).toBe(92);
  });

  it('a catalog change written by any hand reaches the very next check, and a scheduled price takes over at its time', async () => {
    const db = engine.running.engine.db;
    const check = async () => (await engine.api('POST', '/v1/check', { userId: 'pricey', feature: 'resume_upload' })).body;
    expect(await check()).toMatchObject({ allowed: true, cost: 5 });
    await sql`update features set enabled = false where key = 'resume_upload'`.execute(db);
    expect(await check()).toMatchObject({ allowed: false, reason: 'feature_disabled' });
    await sql`update features set enabled = true where key = 'resume_upload'`.execute(db);
    const now = await engine.advance(0);
    await sql`insert into feature_prices (feature_key, cost, effective_from, changed_by)
      values ('resume_upload', 7, ${new Date(now.getTime() + 60_000)}, 'test')`.execute(db);
    expect(await check()).toMatchObject({ allowed: true, cost: 5 });
    await engine.advance(59);
    expect(await check()).toMatchObject({ allowed: true, cost: 5 });
    await engine.advance(1);
    expect(await check()).toMatchObject({ allowed: true, cost: 7 });
    await sql`insert into features (key, name) values ('fresh_feature', 'Fresh')`.execute(db);
    expect((await engine.api('POST', '/v1/check', { userId: 'pricey', feature: 'fresh_feature' })).body).toMatchObject({ allowed: false, reason: 'unknown_feature' });
    await sql`insert into feature_prices (feature_key, cost, effective_from, changed_by) values ('fresh_feature', 2, ${await engine.advance(0)}, 'test')`.execute(db);
    expect((await engine.api('POST', '/v1/check', { userId: 'pricey', feature: 'fresh_feature' })).body).toMatchObject({ allowed: true, cost: 2 });
  });
});
