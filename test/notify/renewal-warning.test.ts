import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { jobResult } from './jobs.js';
import { startWebhookReceiver, webhookSecret } from './receivers.js';

describe('a renewal lets the warnings come again', () => {
  let engine: TestEngine;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const secret = webhookSecret();
  let key = 0;

  const spend90 = async () => {
    for (let i = 0; i < 3; i++) {
      const idempotencyKey = `r-${++key}`;
      await engine.api('POST', '/v1/usage', { userId: 'rena', feature: '22_Mentorship_Marketplace.py', idempotencyKey });
      expect((await settled(engine, idempotencyKey)).status).toBe('applied');
    }
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret);
    engine = await startTestEngine({ TOKENS_NOTIFY_WEBHOOK_URL: receiver.url, TOKENS_NOTIFY_WEBHOOK_SECRET: secret, TOKENS_NOTIFY_BACKOFF_MS: '50' });
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => {
    await engine?.stop();
    await receiver?.close();
  });

  it('90 percent in December, renewal on January 1st, 90 percent again: two warnings', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'rena', plan: 'monthly_pro' });
    await spend90();
    await waitFor(async () => receiver.acknowledged().length === 1, 'the December warning');

    await engine.setClock('2027-01-01T09:00:01Z');
    await jobResult(engine, 'renewals');
    await waitFor(async () => {
      const view = (await engine.api('GET', '/v1/accounts/rena')).body;
      return view.period.start === '2027-01-01T09:00:00.000Z' && view.usedThisPeriod === 0 ? view : undefined;
    }, 'the renewal');
    await spend90();

    const acked = await waitFor(async () => (receiver.acknowledged().length >= 2 ? receiver.acknowledged() : undefined), 'the January warning');
    expect(acked.map((r) => [r.body.data.level, r.body.data.periodStart])).toEqual([
      [90, '2026-12-01T09:00:00.000Z'],
      [90, '2027-01-01T09:00:00.000Z'],
    ]);
    expect(acked[0]!.id).not.toBe(acked[1]!.id);
    expect(acked.every((r) => r.verified)).toBe(true);
  });
});
