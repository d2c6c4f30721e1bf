import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { API_KEY, runJob, settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { launchChromium, openConsole } from '../support/console.js';

describe('live activity in the console: the seeded figures, users near their limit, and a live feed', () => {
  let engine: TestEngine;
  let browser: Browser;
  beforeAll(async () => {
    engine = await startTestEngine();
    // Accounts open on the 19th, so uses reported for the 19th are not before they existed.
    await engine.setClock('2026-11-19T09:00:00Z');
    for (const [userId, plan] of [['ana', 'monthly_pro'], ['bo', 'free_starter']] as const) await engine.api('POST', '/v1/accounts', { userId, plan });
    // twelve more free starters (10 tokens) at their limit or near it, so the near-limit list takes two pages of ten
    const near = Array.from({ length: 12 }, (_, i) => `near-${String(i).padStart(2, '0')}`);
    for (const userId of near) await engine.api('POST', '/v1/accounts', { userId });
    await engine.setClock('2026-11-20T09:00:00Z');
    const events = [
      ...Array.from({ length: 6 }, (_, i) => ({ userId: 'ana', feature: 'resume_upload', idempotencyKey: `a-${i}`, occurredAt: '2026-11-19T10:00:00Z' })),
      ...Array.from({ length: 4 }, (_, i) => ({ userId: 'ana', feature: '06_Job_Match.py', idempotencyKey: `b-${i}` })),
      ...Array.from({ length: 3 }, (_, i) => ({ userId: 'bo', feature: 'resume_upload', idempotencyKey: `c-${i}` })),
      // near-00..05: a job match and two uploads, 10 of 10 (100%); near-06..11: three uploads, 9 of 10 (90%)
      ...near.flatMap((userId, i) =>
        (i < 6 ? ['06_Job_Match.py', 'resume_upload', 'resume_upload'] : ['resume_upload', 'resume_upload', 'resume_upload']).map((feature, j) => ({
          userId,
          feature,
          idempotencyKey: `${userId}-${j}`,
          occurredAt: '2026-11-19T10:00:00Z',
        })),
      ),
    ];
    await engine.api('POST', '/v1/usage/batch', { events });
    await Promise.all(events.map((e) => settled(engine, e.idempotencyKey)));
    await runJob(engine, 'rollups');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
  });

  it('asks for credentials, and refuses a service key', async () => {
    const none = await fetch(`${engine.baseUrl}/admin`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    const service = await fetch(`${engine.baseUrl}/admin`, { headers: { authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString('base64')}` } });
    expect(service.status).toBe(401);
  });

  it("shows today's consumption, tokens per day, top features and the users near their limit, a page at a time; links to bull-board", async () => {
    const session = await openConsole(browser, engine);
    const { page } = session;
    await session.open('/');
    // today (20 Nov): ana 4 job matches (16) + bo 3 uploads (9); the 30 days add the 19th's uploads and matches
    await page.getByTestId('today-tokens').filter({ hasText: '25' }).waitFor();
    // the 19th: ana's 6 uploads (18), near-00..05 10 each (60), near-06..11 9 each (54)
    expect(await page.getByTestId('range-tokens').textContent()).toBe(String(25 + 18 + 60 + 54));
    const perDay = await page.getByTestId('tokens-per-day').locator('tbody tr').evaluateAll((rows) => rows.slice(-2).map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(perDay).toEqual([
      ['2026-11-19', String(18 + 60 + 54)],
      ['2026-11-20', '25'],
    ]);
    // The chart drew something: its canvas is not blank.
    const inked = await page.locator('#tokens-chart').evaluate((c: HTMLCanvasElement) => {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      return data.some((v, i) => i % 4 === 3 && v > 0);
    });
    expect(inked).toBe(true);
    expect(await page.getByTestId('top-features').locator('tbody tr').first().locator('td').first().textContent()).toBe('Resume Upload');

    const nearRows = page.getByTestId('near-limit').locator('tbody tr');
    await nearRows.first().waitFor();
    // most used first (100% before 90%), then by user id
    expect(await nearRows.locator('td:first-child').allTextContents()).toEqual(['near-00', 'near-01', 'near-02', 'near-03', 'near-04', 'near-05', 'bo', 'near-06', 'near-07', 'near-08']);
    expect(await nearRows.first().locator('td').nth(3).textContent()).toBe('100%');
    await page.getByRole('button', { name: 'Next page of users near their limit' }).click();
    await page.getByText('page 2').waitFor();
    await nearRows.filter({ hasText: 'near-09' }).waitFor();
    expect(await nearRows.locator('td:first-child').allTextContents()).toEqual(['near-09', 'near-10', 'near-11']);
    expect(await page.getByRole('button', { name: 'Next page of users near their limit' }).isDisabled()).toBe(true);

    await page.getByRole('link', { name: 'Queues (bull-board)' }).click();
    await page.waitForURL(/\/admin\/queues/);
    await page.waitForSelector('text=usage', { timeout: 15_000 });
    expect(await page.title()).toContain('Token engine queues');
    await session.close();
  });

  it('shows each use and rejection in the live feed within a second of its transaction committing', async () => {
    const session = await openConsole(browser, engine);
    const { page } = session;
    await session.open('/');
    await page.getByTestId('feed-state').filter({ hasText: 'live' }).waitFor();
    // When each row first appears in the page, by the page's own clock (the same machine's as the worker's).
    await page.evaluate(() => {
      const seen: Record<string, number> = {};
      (globalThis as any).__seen = seen;
      new MutationObserver(() => {
        for (const tr of document.querySelectorAll<HTMLElement>('[data-testid="live-feed"] tr[data-key]')) seen[tr.dataset.key!] ??= Date.now();
      }).observe(document.body, { subtree: true, childList: true });
    });
    await engine.api('POST', '/v1/accounts', { userId: 'live' });
    const latencies: number[] = [];
    for (let i = 0; i < 15; i++) {
      const key = `live-${i}`;
      // 10 tokens: three 3-token uploads fit, the rest are rejected
      await engine.api('POST', '/v1/usage', { userId: 'live', feature: 'resume_upload', idempotencyKey: key });
      const row = page.locator(`[data-testid="live-feed"] tr[data-key="${key}"]`);
      await row.waitFor({ timeout: 5_000 });
      const committedAt = Number(await row.getAttribute('data-committed-at'));
      const shownAt = await page.evaluate((k) => (globalThis as any).__seen[k] as number, key);
      latencies.push(shownAt - committedAt);
      expect(await row.locator('td').nth(3).textContent()).toBe(i < 3 ? 'applied' : 'insufficient_tokens');
    }
    // The feed says what the ledger says.
    expect(await settled(engine, 'live-2')).toMatchObject({ status: 'applied', balanceAfter: 1 });
    expect(await settled(engine, 'live-3')).toMatchObject({ status: 'rejected', reason: 'insufficient_tokens' });
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    console.info(`live feed: commit to shown in the console, ms: median ${median}, max ${latencies.at(-1)} (n=${latencies.length}): ${latencies.join(', ')}`);
    expect(latencies[0]).toBeGreaterThanOrEqual(0);
    expect(latencies.at(-1)).toBeLessThan(1000);
    await session.expectClean();
    await session.close();
  });
});
