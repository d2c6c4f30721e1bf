import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { startSmtpReceiver } from './receivers.js';

describe('warnings by e-mail, to the address on the account', () => {
  let engine: TestEngine;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    engine = await startTestEngine({ SMTP_URL: smtp.url, TOKENS_NOTIFY_EMAIL_FROM: 'tokens@careers.example', TOKENS_NOTIFY_BACKOFF_MS: '50' });
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => {
    await engine?.stop();
    await smtp?.close();
  });

  it('a local SMTP server receives the 90 and 95 percent warnings with the seed messages as subject and text', async () => {
    const created = await engine.api('POST', '/v1/accounts', { userId: 'grace', plan: 'monthly_pro', email: 'grace@example.com' });
    expect(created.status).toBe(201);
    for (const [i, feature] of ['22_Mentorship_Marketplace.py', '22_Mentorship_Marketplace.py', '22_Mentorship_Marketplace.py', '23_Tailored_CV_Generator.py'].entries()) {
      await engine.api('POST', '/v1/usage', { userId: 'grace', feature, idempotencyKey: `g-${i}` });
      await settled(engine, `g-${i}`);
    }
    const mails = await waitFor(async () => (smtp.received.length >= 2 ? smtp.received : undefined), 'two e-mails');
    expect(mails).toHaveLength(2);
    expect(mails.map((m) => m.to)).toEqual([['grace@example.com'], ['grace@example.com']]);
    expect(mails[0]!.from).toBe('tokens@careers.example');
    expect(mails.map((m) => m.subject)).toEqual(['⚠️ You have 10% tokens remaining', '🚨 Only 5% tokens left - consider upgrading']);
    expect(mails[0]!.text).toBe(
      '⚠️ You have 10% tokens remaining\n\nYou have used 90 of your 100 tokens this period (90%).\nYour tokens renew on 2027-01-01.\n',
    );
    expect(mails[1]!.text).toContain('You have used 95 of your 100 tokens this period (95%).');

    // No webhook is configured here: that channel is skipped, not retried; the e-mail is delivered.
    const outbox = await engine.admin('GET', '/admin/api/notifications?userId=grace');
    const deliveries = outbox.body.notifications.flatMap((n: any) => n.deliveries);
    expect(deliveries.filter((d: any) => d.channel === 'email').map((d: any) => d.status)).toEqual(['delivered', 'delivered']);
    expect(deliveries.filter((d: any) => d.channel === 'webhook').map((d: any) => [d.status, d.lastError])).toEqual([
      ['skipped', 'no webhook URL configured for tokens.warning'],
      ['skipped', 'no webhook URL configured for tokens.warning'],
    ]);
    expect(mails.map((m) => m.messageId).sort()).toEqual(outbox.body.notifications.map((n: any) => `<${n.id}@token-engine>`).sort());
  });

  it('an account without an address gets no e-mail channel at all', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'anon' }); // Free Starter: 10 tokens
    await engine.api('POST', '/v1/usage', { userId: 'anon', feature: '23_Tailored_CV_Generator.py', idempotencyKey: 'a-1' });
    await engine.api('POST', '/v1/usage', { userId: 'anon', feature: '23_Tailored_CV_Generator.py', idempotencyKey: 'a-2' });
    await settled(engine, 'a-1');
    await settled(engine, 'a-2');
    const outbox = await waitFor(async () => {
      const r = await engine.admin('GET', '/admin/api/notifications?userId=anon');
      return r.body.notifications.length === 3 ? r.body.notifications : undefined;
    }, 'three warnings recorded');
    expect(outbox.flatMap((n: any) => n.deliveries.map((d: any) => d.channel))).toEqual(['webhook', 'webhook', 'webhook']);
    expect(smtp.received).toHaveLength(2);
  });
});
