import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ADMIN_KEY, API_KEY, call, runJob, settled, startTestEngine, type TestEngine } from '../support/engine.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('the admin dashboard in a real browser', () => {
  let engine: TestEngine;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install chromium (.ci/run does)`);
    engine = await startTestEngine();
    await engine.setClock('2026-11-20T09:00:00Z');
    for (const [userId, plan] of [['ana', 'monthly_pro'], ['bo', 'free_starter']] as const) {
      await engine.api('POST', '/v1/accounts', { userId, plan });
    }
    const events = [
      ...Array.from({ length: 6 }, (_, i) => ({ userId: 'ana', feature: 'resume_upload', idempotencyKey: `a-${i}`, occurredAt: '2026-11-19T10:00:00Z' })),
      ...Array.from({ length: 4 }, (_, i) => ({ userId: 'ana', feature: '06_Job_Match.py', idempotencyKey: `b-${i}` })),
      ...Array.from({ length: 3 }, (_, i) => ({ userId: 'bo', feature: 'resume_upload', idempotencyKey: `c-${i}` })),
    ];
    await engine.api('POST', '/v1/usage/batch', { events });
    await Promise.all(events.map((e) => settled(engine, e.idempotencyKey)));
    await runJob(engine, 'rollups');
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
  });

  it('asks for credentials, and refuses a service key', async () => {
    const none = await fetch(`${engine.baseUrl}/admin`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    const service = await fetch(`${engine.baseUrl}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString('base64')}` } });
    expect(service.status).toBe(401);
  });

  it('logs in, shows the chart and the numbers of the seeded traffic, and opens bull-board', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_KEY } });
    const page = await context.newPage();
    await page.goto(`${engine.baseUrl}/admin`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });

    // today (20 Nov): ana 4 job matches (16) + bo 3 uploads (9); the 30 days also hold ana's 6 uploads (18) of the 19th
    expect(await page.textContent('#today-tokens')).toBe('25');
    expect(await page.textContent('#range-tokens')).toBe('43');
    expect(await page.textContent('#near-count')).toBe('1'); // bo used 9 of 10
    const topFeature = await page.textContent('#top-features tbody tr:first-child td:first-child');
    expect(topFeature).toBe('Resume Upload');
    const near = await page.textContent('#near-limit tbody');
    expect(near).toContain('bo');
    const bars = await page.evaluate(() => {
      const chart = (globalThis as any).Chart.getChart('tokens-chart');
      return chart.data.datasets[0].data.slice(-2);
    });
    expect(bars).toEqual([18, 25]);
    expect(await page.textContent('#queues tbody')).toContain('usage');
    await page.screenshot({ path: 'test-results/admin-dashboard.png', fullPage: true });

    await page.click('#bull-board-link');
    await page.waitForURL(/\/admin\/queues/);
    await page.waitForSelector('text=usage', { timeout: 15_000 });
    expect(await page.title()).toContain('Token engine queues');
    await page.screenshot({ path: 'test-results/bull-board.png' });
    await context.close();
  });

  it('the admin API answers the page with the same figures', async () => {
    const r = await call<any>(engine.baseUrl, ADMIN_KEY, 'GET', '/admin/api/analytics');
    expect(r.body.today.tokens).toBe(25);
  });
});
