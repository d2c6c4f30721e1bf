import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { jobResult } from './jobs.js';
import { startWebhookReceiver, webhookSecret } from './receivers.js';

describe('a webhook that is never acknowledged is kept as failed, for an admin to see and retry', () => {
  let engine: TestEngine;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const secret = webhookSecret();

  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret, () => 503);
    engine = await startTestEngine({
      TOKENS_NOTIFY_WEBHOOK_URL: receiver.url,
      TOKENS_NOTIFY_WEBHOOK_SECRET: secret,
      TOKENS_NOTIFY_ATTEMPTS: '3',
      TOKENS_NOTIFY_BACKOFF_MS: '20',
    });
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => {
    await engine?.stop();
    await receiver?.close();
  });

  it('three refused attempts, then failed; an admin retry delivers it once; the sweep never sends it again', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'ops', plan: 'monthly_pro' });
    for (let i = 0; i < 3; i++) {
      await engine.api('POST', '/v1/usage', { userId: 'ops', feature: '22_Mentorship_Marketplace.py', idempotencyKey: `o-${i}` });
      await settled(engine, `o-${i}`);
    }
    const failed = await waitFor(async () => {
      const r = await engine.admin('GET', '/admin/api/notifications?status=failed');
      return r.body.notifications.length === 1 ? r.body.notifications[0] : undefined;
    }, 'the warning to be failed');
    expect(failed).toMatchObject({ type: 'tokens.warning', userId: 'ops', data: { level: 90 } });
    expect(failed.deliveries).toEqual([expect.objectContaining({ channel: 'webhook', status: 'failed', attempts: 3, lastError: `POST ${new URL(receiver.url).origin}: HTTP 503` })]);
    expect(receiver.requests.map((r) => r.id)).toEqual([failed.id, failed.id, failed.id]);

    receiver.answerWith(() => 200);
    const retry = await engine.admin('POST', `/admin/api/notifications/${failed.id}/retry`);
    expect(retry).toMatchObject({ status: 202, body: { status: 'queued', deliveries: 1 } });
    await waitFor(async () => receiver.acknowledged().length === 1, 'the retried delivery');
    expect(receiver.acknowledged()[0]).toMatchObject({ id: failed.id, verified: true });

    const delivered = await waitFor(async () => {
      const r = await engine.admin('GET', '/admin/api/notifications?status=delivered');
      return r.body.notifications.length === 1 ? r.body.notifications[0] : undefined;
    }, 'the delivery to be recorded');
    expect(delivered.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
    expect((await engine.admin('GET', '/admin/api/notifications?status=failed')).body.notifications).toEqual([]);

    expect(await jobResult(engine, 'notifications')).toEqual({ enqueued: 0, failed: 0 });
    expect(receiver.requests).toHaveLength(4);
    const audit = await engine.admin('GET', '/admin/api/audit');
    expect(audit.body.entries[0]).toMatchObject({ action: 'notification.retry', subject: `notification:${failed.id}` });
  });

  it('retrying what did not fail, or what does not exist, is refused', async () => {
    const [n] = (await engine.admin('GET', '/admin/api/notifications')).body.notifications;
    const again = await engine.admin('POST', `/admin/api/notifications/${n.id}/retry`);
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'notification_not_failed' } } });
    const missing = await engine.admin('POST', '/admin/api/notifications/msg_nope/retry');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'notification_not_found' } } });
    const bad = await engine.admin('GET', '/admin/api/notifications?status=lost');
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
  });
});
