import { beforeAll, describe, expect, it } from 'vitest';
import { consoleSuite } from '../support/console.js';

describe('accounts in the console: find one, read it, grant, release, change its plan', () => {
  const c = consoleSuite({ clock: '2026-12-01T09:00:00Z' });
  const account = async (userId: string) => (await c.engine.admin('GET', `/admin/api/accounts/${userId}`)).body;
  beforeAll(async () => {
    for (let i = 0; i < 27; i++) {
      await c.engine.api('POST', '/v1/accounts', { userId: `acme.${String(i).padStart(2, '0')}`, plan: i % 9 === 0 ? 'monthly_pro' : 'free_starter' });
    }
    await c.engine.api('POST', '/v1/accounts', { userId: 'other' });
  });

  it('finds users by id prefix a page at a time, and by plan', async () => {
    const { page } = c.session;
    await c.session.open('/accounts');
    await page.getByRole('textbox', { name: 'User id starts with' }).fill('acme.');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByTestId('accounts').locator('tbody tr');
    await rows.filter({ hasText: 'acme.24' }).waitFor();
    expect(await rows.count()).toBe(25);
    expect(await rows.first().locator('td').first().textContent()).toBe('acme.00');
    await page.getByRole('button', { name: 'Next page of accounts' }).click();
    await rows.filter({ hasText: 'acme.26' }).waitFor();
    expect(await rows.locator('td:first-child').allTextContents()).toEqual(['acme.25', 'acme.26']);

    await page.getByRole('combobox', { name: 'Plan', exact: true }).click();
    await page.getByRole('option', { name: 'Monthly Pro' }).click();
    await page.getByRole('button', { name: 'Search' }).click();
    await rows.filter({ hasText: 'acme.09' }).waitFor();
    expect(await rows.locator('td:first-child').allTextContents()).toEqual(['acme.00', 'acme.09', 'acme.18']);
    await page.getByRole('link', { name: 'acme.09' }).click();
    await page.waitForURL(/\/admin\/accounts\/acme\.09$/);
    await page.getByTestId('account-balance').filter({ hasText: '100' }).waitFor();
  });

  it('grants tokens with a reason and an expiry, and the ledger shows the entry; a past expiry is refused with the engine message', async () => {
    const { page } = c.session;
    await c.session.open('/accounts/other');
    await page.getByTestId('account-balance').filter({ hasText: /^10$/ }).waitFor();
    await page.getByRole('textbox', { name: 'Tokens', exact: true }).fill('25');
    await page.getByRole('textbox', { name: 'Reason', exact: true }).fill('support ticket 42');
    await page.getByLabel('Expires at (UTC)').fill('2027-01-01T00:00');
    await page.getByRole('button', { name: 'Grant tokens' }).click();
    await page.getByTestId('account-balance').filter({ hasText: /^35$/ }).waitFor();
    const top = page.getByTestId('ledger').locator('tbody tr').first();
    await top.filter({ hasText: 'support ticket 42' }).waitFor();
    expect(await top.getAttribute('data-entry-kind')).toBe('grant');
    expect(await top.locator('td').nth(2).textContent()).toBe('+25');
    expect(await top.locator('td').nth(3).textContent()).toBe('35');

    const ledger = (await c.engine.admin('GET', '/admin/api/accounts/other/ledger?limit=1')).body.entries[0];
    expect(ledger).toMatchObject({ kind: 'grant', amount: 25, balanceAfter: 35, metadata: { reason: 'support ticket 42' } });
    const grant = (await c.engine.admin('GET', '/admin/api/audit?limit=1')).body.entries[0];
    expect(grant).toMatchObject({ action: 'grant.create', subject: 'account:other', after: { tokens: 25, reason: 'support ticket 42', expiresAt: '2027-01-01T00:00:00.000Z' } });

    await page.getByRole('textbox', { name: 'Tokens', exact: true }).fill('5');
    await page.getByRole('textbox', { name: 'Reason', exact: true }).fill('too late');
    await page.getByLabel('Expires at (UTC)').fill('2026-11-01T00:00');
    await page.getByRole('button', { name: 'Grant tokens' }).click();
    const refusal = page.locator('[role="alert"][data-error-code="validation_failed"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('expiresAt must be in the future');
    expect((await account('other')).balance).toBe(35);
  });

  it('releases an open hold: its tokens are spendable again, and the release is audited', async () => {
    const { page } = c.session;
    const hold = await c.engine.api('POST', '/v1/check', { userId: 'other', feature: 'ai_interview_coach', reserve: true });
    expect(hold.body).toMatchObject({ allowed: true, cost: 8 });
    await c.session.open('/accounts/other');
    await page.getByTestId('account-held').filter({ hasText: /^8$/ }).waitFor();
    await page.getByRole('button', { name: `Release hold ${hold.body.reservationId}` }).click();
    await page.getByTestId('account-held').filter({ hasText: /^0$/ }).waitFor();
    await page.getByText('No open hold.').waitFor();
    expect(await account('other')).toMatchObject({ balance: 35, held: 0 });
    expect((await c.engine.admin('GET', '/admin/api/audit?limit=1')).body.entries[0]).toMatchObject({ action: 'hold.release', subject: 'account:other' });
  });

  it('changes the plan by the engine rule: an upgrade now with its prorated tokens, a downgrade waits for renewal', async () => {
    const { page } = c.session;
    await c.session.open('/accounts/other');
    await page.getByRole('combobox', { name: 'New plan', exact: true }).click();
    await page.getByRole('option', { name: 'Enterprise Pro (1000/month)' }).click();
    await page.getByRole('button', { name: 'Change plan' }).click();
    await page.getByTestId('account-plan').filter({ hasText: 'Enterprise Pro' }).waitFor();
    const upgraded = await account('other');
    expect(upgraded.plan.id).toBe('enterprise_pro');
    expect(upgraded.balance).toBe(35 + 990); // the whole period is left: (1000 - 10) prorated over all of it
    await page.getByTestId('account-balance').filter({ hasText: String(35 + 990) }).waitFor();

    await page.getByRole('combobox', { name: 'New plan', exact: true }).click();
    await page.getByRole('option', { name: 'Free Starter (10/month)' }).click();
    await page.getByRole('button', { name: 'Change plan' }).click();
    await page.getByText('moves to free_starter at the end of the period').waitFor();
    expect((await account('other')).billing.pendingPlan).toBe('free_starter');
    expect((await account('other')).plan.id).toBe('enterprise_pro');
    const [down, up] = (await c.engine.admin('GET', '/admin/api/audit?limit=2')).body.entries;
    expect(up).toMatchObject({ action: 'account.plan_change', after: { change: 'upgrade', plan: 'enterprise_pro' } });
    expect(down).toMatchObject({ action: 'account.plan_change', after: { change: 'downgrade', pendingPlan: 'free_starter' } });
  });

  it('says so when the account does not exist', async () => {
    const { page } = c.session;
    await c.session.open('/accounts/nobody');
    const refusal = page.locator('[role="alert"][data-error-code="account_not_found"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('no account for userId "nobody"');
  });
});
