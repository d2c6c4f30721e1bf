import { beforeAll, describe, expect, it } from 'vitest';
import { settled } from '../support/engine.js';
import { consoleSuite } from '../support/console.js';

describe('features, prices and plans, managed from the console', () => {
  const c = consoleSuite({ clock: '2026-12-01T09:00:00Z' });
  beforeAll(async () => {
    await c.engine.api('POST', '/v1/accounts', { userId: 'cat', plan: 'monthly_pro' });
  });

  it('edits a cost: a new price version from now, with its history; the next use is charged at it, an earlier one keeps its price', async () => {
    const { page } = c.session;
    await c.engine.advance(600);
    await c.session.open('/features');
    await page.getByRole('textbox', { name: 'Search features', exact: true }).fill('resume_upload');
    await page.getByRole('button', { name: 'Edit price of resume_upload', exact: true }).click();
    const history = page.getByTestId('price-history').locator('tbody tr');
    await history.first().waitFor();
    expect(await history.allTextContents()).toEqual(['the start (seeded)3STANDARDseed']);
    await page.getByRole('textbox', { name: 'New cost (tokens)', exact: true }).fill('6');
    await page.getByRole('button', { name: 'Save new price' }).click();
    await history.nth(1).waitFor();
    expect(await history.first().locator('td').nth(1).textContent()).toBe('6');
    expect(await history.first().locator('td').nth(2).textContent()).toBe('ADVANCED');
    const row = page.locator('tr[data-feature="resume_upload"]');
    await row.locator('td').nth(3).filter({ hasText: /^6$/ }).waitFor();

    const { body: now } = await c.engine.admin('GET', '/admin/api/clock');
    await c.engine.api('POST', '/v1/usage', { userId: 'cat', feature: 'resume_upload', idempotencyKey: 'after-change' });
    expect(await settled(c.engine, 'after-change')).toMatchObject({ status: 'applied', cost: 6 });
    const before = new Date(Date.parse(now.now) - 60_000).toISOString();
    await c.engine.api('POST', '/v1/usage', { userId: 'cat', feature: 'resume_upload', idempotencyKey: 'before-change', occurredAt: before });
    expect(await settled(c.engine, 'before-change')).toMatchObject({ status: 'applied', cost: 3 });
    expect((await c.engine.admin('GET', '/admin/api/audit?limit=1')).body.entries[0]).toMatchObject({ action: 'feature.update', before: { cost: 3 }, after: { cost: 6 } });
  });

  it('adds a feature for a new page, its tier from its cost; a use is charged it; adding the key again otherwise is refused with the engine message', async () => {
    const { page } = c.session;
    await c.session.open('/features');
    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('41_Offer_Compare.py');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Offer Compare');
    await page.getByRole('textbox', { name: 'Cost (tokens)', exact: true }).fill('12');
    await page.getByText('tier PREMIUM').waitFor();
    await page.getByRole('button', { name: 'Add feature' }).click();
    await page.locator('tr[data-feature="41_Offer_Compare.py"]').waitFor();

    const listed = await c.engine.admin('GET', '/admin/api/features?q=offer_compare');
    expect(listed.body.features).toEqual([{ key: '41_Offer_Compare.py', name: 'Offer Compare', enabled: true, baseCost: 12, cost: 12, tier: 'PREMIUM' }]);
    await c.engine.api('POST', '/v1/usage', { userId: 'cat', feature: '41_Offer_Compare.py', idempotencyKey: 'offer-1' });
    expect(await settled(c.engine, 'offer-1')).toMatchObject({ status: 'applied', cost: 12 });

    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('41_Offer_Compare.py');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Offer Compare');
    await page.getByRole('textbox', { name: 'Cost (tokens)', exact: true }).fill('13');
    await page.getByRole('button', { name: 'Add feature' }).click();
    const refusal = page.locator('[role="alert"][data-error-code="feature_exists"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('a feature "41_Offer_Compare.py" already exists');
    expect((await c.engine.admin('GET', '/admin/api/features?q=offer_compare')).body.features[0].baseCost).toBe(12);
  });

  it('disables a feature with its switch: uses of it are then rejected', async () => {
    const { page } = c.session;
    await c.session.open('/features');
    await page.getByRole('textbox', { name: 'Search features', exact: true }).fill('offer');
    const toggle = page.getByRole('switch', { name: 'Enabled: 41_Offer_Compare.py' });
    expect(await toggle.isChecked()).toBe(true);
    await toggle.click({ force: true });
    await page.waitForFunction(() => !(document.querySelector('input[aria-label="Enabled: 41_Offer_Compare.py"]') as HTMLInputElement)?.checked);
    expect((await c.engine.admin('GET', '/admin/api/features?q=offer_compare')).body.features[0].enabled).toBe(false);
    await c.engine.api('POST', '/v1/usage', { userId: 'cat', feature: '41_Offer_Compare.py', idempotencyKey: 'offer-2' });
    expect(await settled(c.engine, 'offer-2')).toMatchObject({ status: 'rejected', reason: 'feature_disabled' });
  });

  it("changes a plan's monthly tokens, rollover and Stripe prices; a bad currency and a price another plan has are refused with the engine message", async () => {
    const { page } = c.session;
    await c.session.open('/plans');
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'Monthly Pro' }) });
    await card.getByRole('textbox', { name: 'Monthly tokens', exact: true }).fill('120');
    await card.getByRole('textbox', { name: 'Rollover max', exact: true }).fill('50');
    await card.getByText('changed: monthlyTokens, rolloverMax').waitFor();
    await card.getByRole('button', { name: 'Save Monthly Pro' }).click();
    await card.getByText('changed:').waitFor({ state: 'detached' });
    const plans = (await c.engine.admin('GET', '/admin/api/plans')).body.plans;
    expect(plans.find((p: any) => p.id === 'monthly_pro')).toMatchObject({ monthlyTokens: 120, rolloverMax: 50, priceCents: 1900 });
    expect((await c.engine.admin('GET', '/admin/api/audit?limit=1')).body.entries[0]).toMatchObject({
      action: 'plan.update',
      before: { monthlyTokens: 100, rolloverMax: 0 },
      after: { monthlyTokens: 120, rolloverMax: 50 },
    });

    await card.getByRole('textbox', { name: 'Currency', exact: true }).fill('us1');
    await card.getByRole('button', { name: 'Save Monthly Pro' }).click();
    const refusal = card.locator('[role="alert"][data-error-code="validation_failed"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('currency must be an ISO 4217 code');

    // The Stripe prices that buy the plan: one added, saved and read back; a price another plan has is refused.
    await card.getByLabel('Currency').fill('usd');
    const prices = card.getByLabel('Stripe prices', { exact: true });
    await prices.fill('price_monthly_pro_2026');
    await prices.press('Enter');
    await card.getByText('changed: stripePrices').waitFor();
    await card.getByRole('button', { name: 'Save Monthly Pro' }).click();
    await card.getByText('changed:').waitFor({ state: 'detached' });
    const mapped = (await c.engine.admin('GET', '/admin/api/plans')).body.plans.find((p: any) => p.id === 'monthly_pro');
    expect(mapped.stripePrices).toEqual(['price_monthly_pro_2026']);
    expect((await c.engine.admin('GET', '/admin/api/audit?limit=1')).body.entries[0]).toMatchObject({ action: 'plan.update', after: { stripePrices: ['price_monthly_pro_2026'] } });

    const annual = page.locator('section', { has: page.getByRole('heading', { name: 'Annual Pro' }) });
    await annual.getByLabel('Stripe prices', { exact: true }).fill('price_monthly_pro_2026');
    await annual.getByLabel('Stripe prices', { exact: true }).press('Enter');
    await annual.getByRole('button', { name: 'Save Annual Pro' }).click();
    const taken = annual.locator('[role="alert"][data-error-code="stripe_price_taken"]');
    await taken.waitFor();
    expect(await taken.textContent()).toContain('each Stripe price buys one plan');
    expect((await c.engine.admin('GET', '/admin/api/plans')).body.plans.find((p: any) => p.id === 'annual_pro').stripePrices).toEqual([]);
  });
});
