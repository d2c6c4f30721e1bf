import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { jobResult } from './jobs.js';
import { startWebhookReceiver, webhookSecret } from './receivers.js';

describe('unusual-usage alerts to the admin webhook', () => {
  let engine: TestEngine;
  let adminHook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const secret = webhookSecret();
  let key = 0;

  /** Reports uses in one batch and waits for all of them to settle. */
  const report = async (userId: string, feature: string, count: number, occurredAt?: (i: number) => string) => {
    const events = Array.from({ length: count }, (_, i) => ({ userId, feature, idempotencyKey: `u-${++key}`, ...(occurredAt ? { occurredAt: occurredAt(i) } : {}) }));
    expect((await engine.api('POST', '/v1/usage/batch', { events })).status).toBe(202);
    for (const e of events) await settled(engine, e.idempotencyKey);
  };
  const alerts = async () => (await engine.admin('GET', '/admin/api/alerts')).body.alerts as any[];

  beforeAll(async () => {
    adminHook = await startWebhookReceiver(secret);
    engine = await startTestEngine({
      // No scheduler: the test runs the alerts job itself, at the moments it chooses.
      TOKENS_ROLES: 'api,workers',
      TOKENS_ALERT_WEBHOOK_URL: adminHook.url,
      TOKENS_NOTIFY_WEBHOOK_SECRET: secret,
      TOKENS_ALERT_BURST_MIN_TOKENS: '50',
    });
    await engine.setClock('2026-11-27T10:00:00Z');
    for (const [userId, plan] of [['steady', 'enterprise_pro'], ['burst', 'enterprise_pro'], ['bot', 'monthly_pro'], ['broke', 'free_starter'], ['owl', 'monthly_pro'], ['ghost', 'monthly_pro']]) {
      await engine.api('POST', '/v1/accounts', { userId, plan });
    }
    // Three days of history: 'steady' works in 60-token sessions, 'burst' in 5-token ones.
    for (const day of ['2026-11-28', '2026-11-29', '2026-11-30']) {
      await engine.setClock(`${day}T10:00:00Z`);
      await report('steady', '22_Mentorship_Marketplace.py', 2);
      await report('burst', '23_Tailored_CV_Generator.py', 1);
    }
  });
  afterAll(async () => {
    await engine?.stop();
    await adminHook?.close();
  });

  it('a burst far above the account\'s own habit raises one alert; the same amount from a heavy but usual user raises none', async () => {
    await engine.setClock('2026-12-01T10:00:00Z');
    await report('steady', '22_Mentorship_Marketplace.py', 2); // 60 tokens: what it always does
    await report('burst', '06_Job_Match_INTEGRATED.py', 8); // 72 tokens against a habit of 5

    await jobResult(engine, 'alerts');
    const raised = await alerts();
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      userId: 'burst',
      rule: 'burst',
      observed: 72,
      threshold: 50,
      windowStart: '2026-12-01T09:45:00.000Z',
      windowEnd: '2026-12-01T10:00:00.000Z',
      details: { baselinePerWindow: 5 },
      message: '72 tokens in 15 minutes; this account usually uses 5 in as long',
    });

    const hook = await waitFor(async () => adminHook.acknowledged()[0], 'the alert webhook');
    expect(hook).toMatchObject({ id: raised[0].notificationId, verified: true, body: { type: 'tokens.alert', data: { userId: 'burst', rule: 'burst', observed: 72 } } });

    // Running the job again over the same window, or a few minutes on, raises nothing new.
    expect(await jobResult(engine, 'alerts')).toMatchObject({ raised: 0 });
    await engine.setClock('2026-12-01T10:05:00Z');
    expect(await jobResult(engine, 'alerts')).toMatchObject({ raised: 0 });
    expect(await alerts()).toHaveLength(1);
    expect(adminHook.requests).toHaveLength(1);
  });

  it('a run of rejections, a rate no person keeps up and use around the clock each raise their own alert', async () => {
    await engine.setClock('2026-12-01T12:00:00Z');
    await report('bot', 'profile_basic', 35); // 35 uses in one minute
    await report('broke', '23_Tailored_CV_Generator.py', 25); // 10 tokens: 2 applied, 23 refused
    await report('owl', 'profile_basic', 21, (i) => new Date(Date.parse('2026-12-01T12:00:00Z') - i * 3_600_000).toISOString());
    // The same 21 hours, but the last of them before this window: nothing it does now is unusual.
    await report('ghost', 'profile_basic', 21, (i) => new Date(Date.parse('2026-12-01T11:00:00Z') - i * 3_600_000).toISOString());

    expect(await jobResult(engine, 'alerts')).toMatchObject({ raised: 3, byRule: { rate: 1, rejections: 1, around_the_clock: 1 } });
    const latest = (await alerts()).slice(0, 3).sort((a, b) => a.userId.localeCompare(b.userId));
    expect(latest).toMatchObject([
      { userId: 'bot', rule: 'rate', observed: 35, threshold: 30 },
      { userId: 'broke', rule: 'rejections', observed: 23, threshold: 20, details: { reasons: ['insufficient_tokens'] } },
      { userId: 'owl', rule: 'around_the_clock', observed: 21, threshold: 20 },
    ]);
    await waitFor(async () => adminHook.acknowledged().length === 4, 'three more alert webhooks');
    expect(adminHook.requests.every((r) => r.verified && r.body.type === 'tokens.alert')).toBe(true);
    expect(await jobResult(engine, 'alerts')).toMatchObject({ raised: 0 });
  });
});
