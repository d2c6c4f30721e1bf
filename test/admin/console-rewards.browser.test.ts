import { beforeAll, describe, expect, it } from 'vitest';
import { runJob, settled } from '../support/engine.js';
import { consoleSuite } from '../support/console.js';

describe('pricing rules, campaigns and loyalty tiers, managed from the console', () => {
  const c = consoleSuite({ clock: '2026-12-01T09:00:00Z' });
  beforeAll(async () => {
    await c.engine.api('POST', '/v1/accounts', { userId: 'winter', plan: 'monthly_pro' });
    await c.engine.api('POST', '/v1/accounts', { userId: 'freebie' });
  });

  it('creates a campaign for paid plans and edits it; the campaigns job grants its bonus to an eligible account, once', async () => {
    const { page } = c.session;
    await c.session.open('/rewards');
    const form = page.getByRole('form', { name: 'Campaign' });
    await form.getByRole('textbox', { name: 'Campaign id', exact: true }).fill('winter-2026');
    await form.getByRole('textbox', { name: 'Campaign name', exact: true }).fill('Winter bonus');
    await form.getByLabel('Campaign starts at (UTC)').fill('2026-12-01T00:00');
    await form.getByLabel('Campaign ends at (UTC)').fill('2027-01-01T00:00');
    await form.getByRole('combobox', { name: 'Eligible plans' }).click();
    await page.getByRole('option', { name: 'Monthly Pro' }).click();
    await page.keyboard.press('Escape');
    await form.getByRole('textbox', { name: 'Bonus tokens', exact: true }).fill('20');
    await form.getByRole('button', { name: 'Save campaign' }).click();
    const row = page.locator('tr[data-campaign="winter-2026"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('running');

    expect((await c.engine.admin('GET', '/admin/api/campaigns')).body.campaigns).toEqual([
      { id: 'winter-2026', name: 'Winter bonus', startsAt: '2026-12-01T00:00:00.000Z', endsAt: '2027-01-01T00:00:00.000Z', plans: ['monthly_pro'], bonus: { tokens: 20 } },
    ]);
    expect((await c.engine.admin('GET', '/admin/api/audit?limit=1')).body.entries[0]).toMatchObject({ action: 'campaign.create', subject: 'campaign:winter-2026' });

    // Edited before it has granted anything: the form takes the campaign as it is, the bonus changes.
    await page.getByRole('button', { name: 'Edit campaign winter-2026' }).click();
    await form.getByText('Edit campaign winter-2026').waitFor();
    expect(await form.getByRole('textbox', { name: 'Campaign name', exact: true }).inputValue()).toBe('Winter bonus');
    await form.getByRole('textbox', { name: 'Bonus tokens', exact: true }).fill('25');
    await form.getByRole('button', { name: 'Save campaign' }).click();
    await row.filter({ hasText: '25 tokens' }).waitFor();
    expect((await c.engine.admin('GET', '/admin/api/campaigns')).body.campaigns[0]).toMatchObject({ bonus: { tokens: 25 }, plans: ['monthly_pro'] });
    expect((await c.engine.admin('GET', '/admin/api/audit?limit=1')).body.entries[0]).toMatchObject({ action: 'campaign.update', before: { bonus: { tokens: 20 } }, after: { bonus: { tokens: 25 } } });
    await runJob(c.engine, 'campaigns');
    await runJob(c.engine, 'campaigns');
    expect((await c.engine.api('GET', '/v1/accounts/winter')).body.balance).toBe(125);
    expect((await c.engine.api('GET', '/v1/accounts/freebie')).body.balance).toBe(10);
  });

  it('ends a running campaign now: an account that joins its plan afterwards gets nothing', async () => {
    const { page } = c.session;
    await c.session.open('/rewards');
    await page.getByRole('button', { name: 'End campaign winter-2026 now' }).click();
    await page.locator('tr[data-campaign="winter-2026"]', { hasText: 'ended' }).waitFor();
    const [campaign] = (await c.engine.admin('GET', '/admin/api/campaigns')).body.campaigns;
    expect(campaign.endsAt).toBe('2026-12-01T09:00:00.000Z');
    await c.engine.advance(60);
    await c.engine.api('POST', '/v1/accounts', { userId: 'late', plan: 'monthly_pro' });
    await runJob(c.engine, 'campaigns');
    expect((await c.engine.api('GET', '/v1/accounts/late')).body.balance).toBe(100);
  });

  it('creates a pricing rule that doubles a feature; the next check and use are charged double; ending it restores the price', async () => {
    const { page } = c.session;
    await c.session.open('/rewards');
    const form = page.getByRole('form', { name: 'Pricing rule' });
    await form.getByRole('textbox', { name: 'Rule id', exact: true }).fill('peak-coach');
    await form.getByRole('combobox', { name: 'Features' }).fill('ai_interview_coach');
    await form.getByRole('combobox', { name: 'Features' }).press('Enter');
    await form.getByRole('textbox', { name: 'Multiplier', exact: true }).fill('2');
    await form.getByRole('button', { name: 'Save rule' }).click();
    await page.getByTestId('rules').locator('tbody tr', { hasText: 'peak-coach' }).waitFor();

    expect((await c.engine.api('POST', '/v1/check', { userId: 'winter', feature: 'ai_interview_coach' })).body).toMatchObject({ allowed: true, cost: 16 });
    await c.engine.api('POST', '/v1/usage', { userId: 'winter', feature: 'ai_interview_coach', idempotencyKey: 'peak-1' });
    expect(await settled(c.engine, 'peak-1')).toMatchObject({ status: 'applied', cost: 16 });

    await page.getByRole('button', { name: 'End rule peak-coach' }).click();
    await page.getByText('No rule in force.').waitFor();
    expect((await c.engine.api('POST', '/v1/check', { userId: 'winter', feature: 'ai_interview_coach' })).body.cost).toBe(8);
  });

  it('refuses a rule for a feature that does not exist, with the engine message', async () => {
    const { page } = c.session;
    await c.session.open('/rewards');
    const form = page.getByRole('form', { name: 'Pricing rule' });
    await form.getByRole('textbox', { name: 'Rule id', exact: true }).fill('typo');
    await form.getByRole('combobox', { name: 'Features' }).fill('ai_interview_coahc');
    await form.getByRole('combobox', { name: 'Features' }).press('Enter');
    await form.getByRole('textbox', { name: 'Multiplier', exact: true }).fill('1.5');
    await form.getByRole('button', { name: 'Save rule' }).click();
    const refusal = page.locator('[role="alert"][data-error-code="unknown_feature"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('unknown feature: ai_interview_coahc');
    expect((await c.engine.admin('GET', '/admin/api/pricing-rules')).body.rules).toEqual([]);
  });

  it('edits the loyalty tiers: adds one, changes one, removes one', async () => {
    const { page } = c.session;
    await c.session.open('/rewards');
    const tiers = page.getByTestId('loyalty');
    await tiers.getByRole('textbox', { name: 'Months of tier 3' }).waitFor();
    await page.getByRole('button', { name: 'Remove tier 1' }).click(); // 3 months → 5%
    await tiers.getByRole('textbox', { name: 'Bonus percent of tier 2' }).fill('25'); // 12 months, was 20%
    await page.getByRole('button', { name: 'Add tier' }).click();
    await tiers.getByRole('textbox', { name: 'Months of tier 3' }).fill('24');
    await tiers.getByRole('textbox', { name: 'Bonus percent of tier 3' }).fill('30');
    await page.getByRole('button', { name: 'Save loyalty tiers' }).click();
    await page.getByText('loyalty tiers saved: 6 months → 10%, 12 months → 25%, 24 months → 30%').waitFor();
    expect((await c.engine.admin('GET', '/admin/api/loyalty')).body.tiers).toEqual([
      { months: 6, bonusPercent: 10 },
      { months: 12, bonusPercent: 25 },
      { months: 24, bonusPercent: 30 },
    ]);
  });
});
