import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { ADMIN_KEY, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What a page reported: console errors and Content-Security-Policy violations, as the browser saw them. */
function watch(page: Page) {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

describe('the admin pages in a real browser: a strict CSP, no foreign frames, no cross-site changes', () => {
  let engine: TestEngine;
  let browser: Browser;
  let context: BrowserContext;
  let attacker: Server;
  let attackerPort = 0;
  const scheduledJobs = async () => Object.values(await engine.running.engine.queues.scheduled.getJobCounts()).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install chromium (.ci/run does)`);
    engine = await startTestEngine({ TOKENS_ROLES: 'api' });
    await engine.setClock('2026-12-01T09:00:00Z');
    // Another origin: the same machine on another port (same site), or as "localhost" (another site).
    attacker = createServer((req, res) => {
      const target = `http://127.0.0.1:${engine.running.port}`;
      const pages: Record<string, string> = {
        '/frames': `<iframe id="page" src="${target}/admin"></iframe><iframe id="board" src="${target}/admin/queues"></iframe>`,
        // A "simple" request: no preflight, and the browser attaches the admin's credentials to it.
        '/forge': `<script>fetch('${target}/admin/api/jobs/reconcile/run', { method: 'POST', mode: 'no-cors', credentials: 'include' })</script>`,
        '/form': `<form id="f" method="POST" enctype="text/plain" action="${target}/admin/api/jobs/reconcile/run"></form><script>document.getElementById('f').submit()</script>`,
      };
      res.writeHead(pages[req.url ?? ''] ? 200 : 404, { 'content-type': 'text/html' }).end(pages[req.url ?? ''] ?? 'no');
    });
    attacker.listen(0, '127.0.0.1');
    await new Promise((r) => attacker.once('listening', r));
    attackerPort = (attacker.address() as AddressInfo).port;
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    // The admin has logged in: the browser answers the engine's Basic challenge with the admin key.
    context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_KEY } });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => attacker?.close(r));
    await engine?.stop();
  });

  it('/admin and bull-board run under the CSP without a single violation or console error, and bull-board\'s own changes pass', async () => {
    const page = await context.newPage();
    const errors = watch(page);
    await page.goto(`${engine.baseUrl}/admin`);
    // The console has loaded the admin API's figures and drawn its chart.
    await page.getByTestId('today-tokens').filter({ hasText: /^\d+$/ }).waitFor({ timeout: 15_000 });
    await page.locator('canvas#tokens-chart').waitFor();

    await page.goto(`${engine.baseUrl}/admin/queues`);
    await page.waitForSelector('text=notification', { timeout: 15_000 });
    await page.goto(`${engine.baseUrl}/admin/queues/queue/scheduled`);
    await page.waitForSelector('text=scheduled', { timeout: 15_000 });
    // The UI's own request, as Chromium sends it (Origin, Sec-Fetch-Site: same-origin): a change it may make.
    const paused = await page.evaluate(async () => (await fetch('api/queues/scheduled/pause', { method: 'PUT' })).status);
    expect(paused).toBe(200);
    expect(await engine.running.engine.queues.scheduled.isPaused()).toBe(true);
    const [entry] = (await engine.admin('GET', '/admin/api/audit')).body.entries;
    expect(entry).toMatchObject({ action: 'bull-board.queue.pause', subject: 'queue:scheduled' });
    await page.screenshot({ path: 'test-results/bull-board-csp.png' });
    await page.waitForLoadState('networkidle'); // late resources (fonts, icons) have reported, blocked or not
    expect(errors).toEqual([]);
    await engine.running.engine.queues.scheduled.resume();
    await page.close();
  });

  it('a page of another site or origin cannot show /admin or bull-board in a frame', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const page = await context.newPage();
      const errors = watch(page);
      await page.goto(`http://${host}:${attackerPort}/frames`);
      await waitFor(async () => errors.filter((e) => e.includes("frame-ancestors 'none'")).length === 2, `both frames to be refused (from ${host})`);
      for (const frame of page.frames().filter((f) => f !== page.mainFrame())) {
        expect(frame.url()).not.toMatch(/\/admin/);
      }
      await page.close();
    }
  });

  it('a POST another site or origin sends with the admin\'s credentials is refused with 403 cross_site_request, and nothing runs', async () => {
    // A browser that has logged in sends the cached Basic credentials with every request to the engine,
    // whoever makes it. Playwright's httpCredentials only answers challenges (Chromium never challenges
    // a cross-origin fetch), so the cached credentials are set as the header they become.
    const loggedIn = await browser.newContext({ extraHTTPHeaders: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` } });
    const isRun = (r: Request) => r.url().endsWith('/admin/api/jobs/reconcile/run');
    for (const host of ['localhost', '127.0.0.1']) {
      // The fetch's answer never reaches the attacker's script (Cross-Origin-Resource-Policy blocks it); what
      // matters is that the engine did nothing, which the queue tells below.
      const forge = await loggedIn.newPage();
      const sent = Promise.race([forge.waitForEvent('requestfinished', isRun), forge.waitForEvent('requestfailed', isRun)]);
      await forge.goto(`http://${host}:${attackerPort}/forge`);
      const request = await sent;
      expect({ host, sent: request.method() }).toEqual({ host, sent: 'POST' });
      await forge.close();

      // A form navigates: its answer is shown, and it is the refusal.
      const form = await loggedIn.newPage();
      const answered = form.waitForResponse((r) => isRun(r.request()));
      await form.goto(`http://${host}:${attackerPort}/form`);
      const response = await answered;
      expect({ host, status: response.status(), frames: response.headers()['x-frame-options'] }).toEqual({ host, status: 403, frames: 'DENY' });
      await form.waitForLoadState();
      expect(JSON.parse(await form.locator('body').innerText())).toMatchObject({ error: { code: 'cross_site_request' } });
      await form.close();
    }
    await loggedIn.close();
    expect(await scheduledJobs()).toBe(0);
    expect((await engine.admin('GET', '/admin/api/audit')).body.entries.map((e: any) => e.action)).toEqual(['bull-board.queue.pause']);
  });
});
