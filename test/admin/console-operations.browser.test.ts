import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ADMIN_KEY, settled, waitFor } from '../support/engine.js';
import { keyFingerprint } from '../../src/http/auth.js';
import { consoleSuite } from '../support/console.js';
import { startWebhookReceiver, webhookSecret } from '../notify/receivers.js';
import { deliver, outcomeOf, tokenCheckout, WEBHOOK_SECRET } from '../billing/stripe.js';

describe('operations in the console: notifications, Stripe events, alerts, jobs, the audit log', () => {
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const secret = webhookSecret();
  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret, () => 503);
  });
  afterAll(async () => receiver?.close());
  const c = consoleSuite({
    clock: '2026-12-01T09:00:00Z',
    env: () => ({
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TOKENS_NOTIFY_WEBHOOK_URL: receiver.url,
      TOKENS_NOTIFY_WEBHOOK_SECRET: secret,
      TOKENS_NOTIFY_ATTEMPTS: '3',
      TOKENS_NOTIFY_BACKOFF_MS: '20',
    }),
  });
  const tab = async (name: string) => {
    await c.session.open('/operations');
    await c.session.page.getByRole('tab', { name }).click();
  };

  it('retries a failed notification: the receiver gets it, and the outbox records it delivered', async () => {
    await c.engine.api('POST', '/v1/accounts', { userId: 'ops', plan: 'monthly_pro' });
    for (let i = 0; i < 3; i++) {
      await c.engine.api('POST', '/v1/usage', { userId: 'ops', feature: '22_Mentorship_Marketplace.py', idempotencyKey: `o-${i}` });
      await settled(c.engine, `o-${i}`);
    }
    const failed = await waitFor(async () => {
      const r = await c.engine.admin('GET', '/admin/api/notifications?status=failed');
      return r.body.notifications[0];
    }, 'the 90% warning to fail three times');
    receiver.answerWith(() => 200);

    const { page } = c.session;
    await tab('Notifications');
    const row = page.getByTestId('failed-notifications').locator(`tr[data-notification="${failed.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain(`webhook failed 3 attempts · POST ${new URL(receiver.url).origin}: HTTP 503`);
    await page.getByRole('button', { name: `Retry notification ${failed.id}` }).click();
    await page.getByText(`${failed.id}: 1 delivery queued again`).waitFor();

    await waitFor(async () => receiver.acknowledged().length === 1, 'the retried delivery');
    expect(receiver.acknowledged()[0]).toMatchObject({ id: failed.id, verified: true, body: { type: 'tokens.warning' } });
    await waitFor(async () => {
      const r = await c.engine.admin('GET', '/admin/api/notifications?status=delivered');
      return r.body.notifications.some((n: any) => n.id === failed.id);
    }, 'the delivery to be recorded');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('No failed notification.').waitFor();
  });

  it('reads a failed Stripe event and replays it once the account exists: its tokens are allocated', async () => {
    const event = tokenCheckout({ userId: 'early-bird', tokens: 40, amount: 400 });
    expect((await deliver(c.engine, event)).status).toBe(200);
    expect(await outcomeOf(c.engine, event.id)).toMatchObject({ status: 'failed', code: 'account_not_found' });
    await c.engine.api('POST', '/v1/accounts', { userId: 'early-bird' });

    const { page } = c.session;
    await tab('Stripe events');
    const row = page.getByTestId('failed-stripe-events').locator(`tr[data-event="${event.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('account_not_found: no account for userId "early-bird"');
    await row.getByRole('button', { name: `Read event ${event.id}` }).click();
    const payload = page.getByLabel(`Payload of ${event.id}`);
    await payload.waitFor();
    const shown = JSON.parse((await payload.textContent())!);
    // as delivered: the helper stamps `created` with the engine's time
    expect(shown).toEqual({ ...event, created: shown.created, data: { object: { ...event.data.object, created: shown.data.object.created } } });

    await row.getByRole('button', { name: `Replay event ${event.id}` }).click();
    await page.getByText(`${event.id} queued to be applied again`).waitFor();
    expect(await outcomeOf(c.engine, event.id)).toMatchObject({ status: 'applied' });
    expect((await c.engine.api('GET', '/v1/accounts/early-bird')).body.balance).toBe(10 + 40);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('No failed event.').waitFor();
    await page.getByTestId('recent-stripe-events').locator(`tr[data-event="${event.id}"]`, { hasText: 'applied' }).waitFor();
  });

  it('runs a scheduled job now: the rollups job fills in the day it had not counted', async () => {
    const today = async () => (await c.engine.admin('GET', '/admin/api/analytics')).body.tokensPerDay.at(-1);
    expect(await today()).toMatchObject({ day: '2026-12-01', tokens: 0 });
    const { page } = c.session;
    await tab('Queues and jobs');
    await page.getByTestId('queues').locator('tbody tr', { hasText: 'usage' }).waitFor();
    await page.getByRole('combobox', { name: 'Job', exact: true }).click();
    await page.getByRole('option', { name: 'rollups (*/5 * * * *)' }).click();
    await page.getByText('recompute the daily aggregates').waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByText(/^rollups queued \(job /).waitFor();
    // three mentorship sessions of 30 tokens
    await waitFor(async () => (await today()).tokens === 90, 'the rollup of today');
    expect(await page.getByRole('link', { name: 'Open bull-board' }).getAttribute('href')).toBe('/admin/queues');
  });

  it('shows the alert the reconcile job raised for a balance altered behind the engine', async () => {
    await sql`update accounts set balance = balance + 5 where user_id = 'ops'`.execute(c.engine.running.engine.db);
    const r = await c.engine.admin('POST', '/admin/api/jobs/reconcile/run', {});
    expect(r.status).toBe(202);
    await waitFor(async () => (await c.engine.admin('GET', '/admin/api/alerts')).body.alerts.length >= 1, 'the reconcile alert');
    const { page } = c.session;
    await tab('Alerts');
    const row = page.getByTestId('alerts').locator('tbody tr', { hasText: 'reconcile:balance_ledger' });
    await row.waitFor();
    expect(await row.textContent()).toContain('ops');
    expect(await row.textContent()).toContain('(+5)');
  });

  it('shows the audit log of the changes made here', async () => {
    const { page } = c.session;
    await tab('Audit log');
    const row = page.getByTestId('audit').locator('tbody tr', { hasText: 'notification.retry' });
    await row.waitFor();
    expect(await row.textContent()).toContain(`admin-key:${keyFingerprint(ADMIN_KEY)}`);
  });
});
