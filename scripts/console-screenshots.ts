// Takes the screenshots of the admin console in docs/console/ (docs/insight.md shows them):
//   node --import tsx scripts/console-screenshots.ts
// It runs an engine of its own (its own database and Redis prefix, dropped at the end), plays a month of
// users with `tokens simulate`, adds what an admin would find on a working day (a failed Stripe event, a
// campaign, a pricing rule, an open hold), and photographs each page at 1280 px in Debian's Chromium.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_KEY, API_KEY, runJob, startTestEngine } from '../test/support/engine.js';
import { launchChromium, openConsole } from '../test/support/console.js';
import { deliver, tokenCheckout, WEBHOOK_SECRET } from '../test/billing/stripe.js';
import { simulate } from '../src/cli/simulate.js';
import buildConsoleIfStale from '../test/support/console-build.js';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'console');
mkdirSync(out, { recursive: true });
buildConsoleIfStale();

const engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, LOG_LEVEL: 'error' });
try {
  await engine.setClock('2026-11-01T08:00:00Z');
  process.env.TOKENS_API_KEYS = API_KEY;
  process.env.TOKENS_ADMIN_KEYS = ADMIN_KEY;
  await simulate({ url: engine.baseUrl, users: 60, days: 20 });

  await engine.admin('PUT', '/admin/api/campaigns/winter-2026', {
    name: 'Winter bonus',
    startsAt: '2026-11-15T00:00:00Z',
    endsAt: '2027-01-01T00:00:00Z',
    plans: ['monthly_pro', 'annual_pro'],
    bonus: { tokens: 20 },
  });
  await engine.admin('PUT', '/admin/api/pricing-rules/peak-coach', { match: { features: ['ai_interview_coach'] }, multiplier: 1.5, maxCost: 20 });
  await engine.admin('POST', '/admin/api/features', { key: '41_Offer_Compare.py', name: 'Offer Compare', cost: 12 });
  for (const [plan, prices] of [['monthly_pro', ['price_monthly_pro', 'monthly_pro_2026']], ['annual_pro', ['price_annual_pro']], ['enterprise_pro', ['price_enterprise_pro']]] as const) {
    await engine.admin('PUT', `/admin/api/plans/${plan}`, { stripePrices: prices });
  }
  await engine.admin('PUT', '/admin/api/features/resume_upload', { cost: 4 });
  await deliver(engine, tokenCheckout({ userId: 'someone-new', tokens: 50, amount: 500 }));
  const { body: found } = await engine.admin('GET', '/admin/api/accounts?plan=monthly_pro&limit=1');
  const userId: string = found.accounts[0].userId;
  await engine.admin('POST', `/admin/api/accounts/${userId}/grants`, { tokens: 15, reason: 'support ticket 42' });
  await engine.api('POST', '/v1/check', { userId, feature: 'career_intelligence', reserve: true, ttlSeconds: 3600 });
  await runJob(engine, 'rollups');

  const browser = await launchChromium();
  const session = await openConsole(browser, engine);
  const { page } = session;
  const shoot = async (name: string, fullPage = true) => {
    await page.waitForTimeout(300); // notifications and the chart settle
    await page.screenshot({ path: path.join(out, `${name}.png`), fullPage });
    console.log(`docs/console/${name}.png`);
  };
  await session.open('/');
  await page.getByTestId('live-feed').locator('tbody tr[data-key]').first().waitFor();
  // a few uses while the page is open, so the feed shows them arriving
  for (let i = 0; i < 5; i++) await engine.api('POST', '/v1/usage', { userId, feature: 'resume_analysis', idempotencyKey: `shot-${i}` });
  await page.getByTestId('live-feed').locator('tr[data-key="shot-4"]').waitFor();
  await shoot('live-activity');
  await session.open('/features');
  await page.getByRole('button', { name: 'Edit price of resume_upload', exact: true }).click();
  await page.getByTestId('price-history').locator('tbody tr').nth(1).waitFor();
  await page.getByRole('heading', { name: 'Price of Resume Upload' }).scrollIntoViewIfNeeded();
  await shoot('features', false);
  await session.open('/plans');
  await shoot('plans');
  await session.open('/accounts');
  await page.getByRole('checkbox', { name: 'Near their limit (90% or more)' }).check();
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByTestId('accounts').locator('tbody tr').first().waitFor();
  await shoot('accounts');
  await session.open(`/accounts/${userId}`);
  await page.getByTestId('ledger').locator('tbody tr').first().waitFor();
  await shoot('account');
  await session.open('/rewards');
  await page.getByTestId('campaigns').locator('tbody tr').first().waitFor();
  await shoot('pricing-and-rewards');
  await session.open('/operations');
  await page.getByRole('tab', { name: 'Stripe events' }).click();
  const failed = page.getByTestId('failed-stripe-events').locator('tbody tr').first();
  await failed.waitFor();
  await failed.getByRole('button', { name: /^Read event/ }).click();
  await page.locator('[aria-label^="Payload of"]').waitFor();
  await shoot('operations-stripe-events');
  const problems = [...(await session.violations()), ...session.errors];
  await browser.close();
  if (problems.length > 0) throw new Error(`the console broke while being photographed:\n${problems.join('\n')}`);
} finally {
  await engine.stop();
}
