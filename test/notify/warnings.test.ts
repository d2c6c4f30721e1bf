import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { startWebhookReceiver, webhookSecret } from './receivers.js';

const messages = {
  90: '⚠️ You have 10% tokens remaining',
  95: '🚨 Only 5% tokens left - consider upgrading',
  100: '🔒 Token limit reached. Upgrade or wait for renewal',
};

describe('token warnings: 90, 95 and 100 percent, once each, as signed webhooks', () => {
  let engine: TestEngine;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const secret = webhookSecret();
  let key = 0;

  const use = async (userId: string, feature: string) => {
    const idempotencyKey = `w-${++key}`;
    const r = await engine.api('POST', '/v1/usage', { userId, feature, idempotencyKey });
    expect(r.status).toBe(202);
    return settled(engine, idempotencyKey);
  };
  const warningsTo = (userId: string) => receiver.acknowledged().filter((r) => r.body.data.userId === userId);

  beforeAll(async () => {
    // The receiver refuses the first attempt of every message: each must still arrive, once.
    receiver = await startWebhookReceiver(secret, (_id, seen) => (seen === 0 ? 500 : 204));
    engine = await startTestEngine({
      TOKENS_NOTIFY_WEBHOOK_URL: receiver.url,
      TOKENS_NOTIFY_WEBHOOK_SECRET: secret,
      TOKENS_NOTIFY_BACKOFF_MS: '50',
    });
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => {
    await engine?.stop();
    await receiver?.close();
  });

  it('a Monthly Pro account spending one token at a time hears 90, then 95, then 100, once each', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'ada', plan: 'monthly_pro' });
    for (let i = 0; i < 100; i++) expect((await use('ada', 'profile_basic')).status).toBe('applied');
    expect((await use('ada', 'profile_basic')).reason).toBe('insufficient_tokens');

    const acked = await waitFor(async () => (warningsTo('ada').length >= 3 ? warningsTo('ada') : undefined), 'three warnings');
    expect(acked.map((r) => r.body.data.level)).toEqual([90, 95, 100]);
    expect(acked.map((r) => r.body.data.message)).toEqual([messages[90], messages[95], messages[100]]);
    expect(acked.map((r) => r.body.data.percentUsed)).toEqual([90, 95, 100]);
    expect(acked[0]!.body).toMatchObject({
      type: 'tokens.warning',
      timestamp: expect.any(String),
      data: { userId: 'ada', used: 90, allocated: 100, periodStart: '2026-12-01T09:00:00.000Z', periodEnd: '2027-01-01T09:00:00.000Z' },
    });
    const sent = receiver.requests.filter((r) => r.body.data.userId === 'ada');
    expect(sent.every((r) => r.verified)).toBe(true);
    // Each message was refused once, then acknowledged once, under one id.
    expect(new Set(acked.map((r) => r.id)).size).toBe(3);
    expect(sent.map((r) => [r.id, r.status])).toEqual(acked.flatMap((a) => [[a.id, 500], [a.id, 204]]));

    // The receiver's acknowledgement comes before the engine records the delivery: wait for that record.
    const outbox = await waitFor(async () => {
      const r = await engine.admin('GET', '/admin/api/notifications?userId=ada');
      const deliveries = r.body.notifications.flatMap((n: any) => n.deliveries);
      return deliveries.length === 3 && deliveries.every((d: any) => d.status !== 'pending') ? r : undefined;
    }, 'the engine to record the three deliveries');
    expect(outbox.body.notifications).toHaveLength(3);
    expect(outbox.body.notifications.map((n: any) => n.id).sort()).toEqual(acked.map((a) => a.id).sort());
    expect(outbox.body.notifications.flatMap((n: any) => n.deliveries)).toEqual(
      Array(3).fill(expect.objectContaining({ channel: 'webhook', status: 'delivered', attempts: 2 })),
    );
  });

  it('the account says where it stands, with the seed message of the level reached', async () => {
    const view = await engine.api('GET', '/v1/accounts/ada');
    expect(view.body).toMatchObject({ percentUsed: 100, warning: { level: 100, message: messages[100] } });
    await engine.api('POST', '/v1/accounts', { userId: 'calm', plan: 'monthly_pro' });
    expect((await engine.api('GET', '/v1/accounts/calm')).body).toMatchObject({ percentUsed: 0, warning: null });
  });

  it('one use that jumps from 80 to 100 percent sends the 90, 95 and 100 warnings, each once and in order', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'leap', plan: 'monthly_pro' });
    await use('leap', '22_Mentorship_Marketplace.py'); // 30
    await use('leap', '22_Mentorship_Marketplace.py'); // 60
    await use('leap', 'Admin_AI_Integration_Verification.py'); // 80
    expect((await engine.api('GET', '/v1/accounts/leap')).body).toMatchObject({ percentUsed: 80, warning: null });
    await use('leap', 'Admin_AI_Integration_Verification.py'); // 100

    const acked = await waitFor(async () => (warningsTo('leap').length >= 3 ? warningsTo('leap') : undefined), 'three warnings');
    expect(acked.map((r) => r.body.data.level)).toEqual([90, 95, 100]);
    expect(acked.map((r) => r.body.data.percentUsed)).toEqual([100, 100, 100]);
    expect(new Set(acked.map((r) => r.id)).size).toBe(3);
    const outbox = await engine.admin('GET', '/admin/api/notifications?userId=leap');
    expect(outbox.body.notifications).toHaveLength(3);
  });

  it('a top-up that brings the account back under 90 percent lets it warn again', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'topped', plan: 'monthly_pro' });
    for (let i = 0; i < 3; i++) await use('topped', '22_Mentorship_Marketplace.py'); // 90
    await waitFor(async () => warningsTo('topped').length === 1, 'the first 90% warning');

    // 90 of 200 is 45%: the mark falls back, and the next crossing of 90 is a new warning.
    const grant = await engine.admin('POST', '/admin/api/accounts/topped/grants', { tokens: 100, reason: 'top-up' });
    expect(grant.status).toBe(201);
    for (let i = 0; i < 3; i++) await use('topped', '22_Mentorship_Marketplace.py'); // 180 of 200
    const acked = await waitFor(async () => (warningsTo('topped').length >= 2 ? warningsTo('topped') : undefined), 'a second 90% warning');
    expect(acked.map((r) => [r.body.data.level, r.body.data.used, r.body.data.allocated])).toEqual([
      [90, 90, 100],
      [90, 180, 200],
    ]);
    expect(acked[0]!.id).not.toBe(acked[1]!.id);
  });
});
