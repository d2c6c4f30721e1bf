import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsageProducer, type UsageProducer } from '../../src/index.js';
import { settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { engineState } from '../support/state.js';

const DAY = 86_400_000;

describe('occurredAt lies within TOKENS_USAGE_MAX_AGE_DAYS and never before its account', () => {
  let engine: TestEngine;
  let producer: UsageProducer;
  const now = Date.parse('2026-12-10T12:00:00Z');
  const at = (ms: number) => new Date(ms).toISOString();

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-06-01T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'veteran', plan: 'enterprise_pro' });
    await engine.setClock(at(now - 2 * 3_600_000));
    await engine.api('POST', '/v1/accounts', { userId: 'newcomer', plan: 'monthly_pro' });
    await engine.setClock(at(now));
    // The veteran's first allocation expired long ago; these tokens do not.
    await engine.admin('POST', '/admin/api/accounts/veteran/grants', { tokens: 50, reason: 'test' });
    producer = await createUsageProducer({ databaseUrl: engine.databaseUrl, queuePrefix: engine.prefix });
  });
  afterAll(async () => {
    await producer?.close();
    await engine?.stop();
  });

  const use = (userId: string, idempotencyKey: string, occurredAt: string) => ({ userId, feature: 'resume_upload', idempotencyKey, occurredAt });

  it('a use dated 1990, 36 days back, or before its account was opened is a 400 that changes nothing', async () => {
    const before = await engineState(engine);
    for (const [userId, key, occurredAt] of [
      ['veteran', 'in-1990', '1990-01-01T00:00:00Z'],
      ['veteran', 'too-old', at(now - 36 * DAY)],
      ['newcomer', 'before-account', at(now - 3 * 3_600_000)],
    ] as const) {
      const r = await engine.api('POST', '/v1/usage', use(userId, key, occurredAt));
      expect([key, r.status, r.body.error.code]).toEqual([key, 400, 'occurred_at_out_of_range']);
      expect(r.body.error.details).toEqual([expect.objectContaining({ idempotencyKey: key, earliest: expect.any(String) })]);
    }
    const batch = await engine.api('POST', '/v1/usage/batch', { events: [use('veteran', 'fine-in-batch', at(now - DAY)), use('veteran', 'old-in-batch', at(now - 40 * DAY))] });
    expect([batch.status, batch.body.error.code]).toEqual([400, 'occurred_at_out_of_range']);
    expect(batch.body.error.details.map((d: any) => d.idempotencyKey)).toEqual(['old-in-batch']);
    // The in-process producer follows the same rule (it runs on the real clock: 1990 is out of range on any).
    await expect(producer.enqueueUsage(use('veteran', 'old-in-process', '1990-01-01T00:00:00Z'))).rejects.toMatchObject({ code: 'occurred_at_out_of_range' });
    expect(await engineState(engine)).toEqual(before);
    for (const key of ['in-1990', 'too-old', 'before-account', 'fine-in-batch', 'old-in-process']) {
      expect((await engine.api('GET', `/v1/usage/${key}`)).status).toBe(404);
    }
  });

  it('a use within the window is accepted: 34 days back for an old account, the instant of opening for a new one', async () => {
    expect((await engine.api('POST', '/v1/usage', use('veteran', 'late-report', at(now - 34 * DAY)))).status).toBe(202);
    expect((await engine.api('POST', '/v1/usage', use('newcomer', 'first-minute', at(now - 2 * 3_600_000)))).status).toBe(202);
    expect(await settled(engine, 'late-report')).toMatchObject({ status: 'applied', cost: 3, occurredAt: at(now - 34 * DAY) });
    expect(await settled(engine, 'first-minute')).toMatchObject({ status: 'applied', cost: 3 });
  });
});
