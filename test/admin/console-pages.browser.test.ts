import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ADMIN_KEY, settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { desktop, launchChromium, openConsole, overflowsSideways, phone, unnamedControls } from '../support/console.js';

const pages = ['/', '/features', '/plans', '/accounts', '/accounts/ana', '/rewards', '/operations'];

describe('every page of the admin console, under the admin CSP, at 1280 px and on a phone', () => {
  let engine: TestEngine;
  let browser: Browser;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-11-20T09:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'ana', plan: 'monthly_pro' });
    await engine.api('POST', '/v1/usage', { userId: 'ana', feature: 'resume_upload', idempotencyKey: 'p-1' });
    await settled(engine, 'p-1');
    // so that every kind of control is on a page: a plan's Stripe prices are removable pills
    await engine.admin('PUT', '/admin/api/plans/monthly_pro', { stripePrices: ['price_monthly_pro'] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
  });

  it('serves the console with the admin CSP, from the engine itself, and nothing else under /admin/assets', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` };
    const page = await fetch(`${engine.baseUrl}/admin/accounts/ana`, { headers: basic });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = Object.fromEntries(page.headers.get('content-security-policy')!.split(';').map((d) => { const [name, ...values] = d.trim().split(/\s+/); return [name, values]; }));
    // The admin pages' policy (src/http/admin-boundary.ts): only the engine's own scripts, no inline script.
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['style-src']![0]).toBe("'self'");
    expect(csp['style-src']).not.toContain("'unsafe-inline'");
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    // no inline script or style, nothing from another origin
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);

    for (const name of ['..%2Fpackage.json', '..%2F..%2Fsrc%2Fconfig.ts', 'index.html', 'nope.js']) {
      const r = await fetch(`${engine.baseUrl}/admin/assets/${name}`, { headers: basic });
      expect(r.status, name).toBe(404);
      expect(((await r.json()) as any).error.code).toBe('not_found');
    }
    expect((await fetch(`${engine.baseUrl}/admin/nowhere`, { headers: basic })).status).toBe(404);
    expect((await fetch(`${engine.baseUrl}/admin/api/nowhere`, { headers: basic })).status).toBe(404);
  });

  it('loads nothing from another origin', async () => {
    const session = await openConsole(browser, engine);
    const origins = new Set<string>();
    session.page.on('request', (r) => origins.add(new URL(r.url()).origin));
    for (const path of pages) await session.open(path);
    expect([...origins]).toEqual([engine.baseUrl]);
    await session.close();
  });

  it('on a phone, the navigation folds under a menu button that opens it', async () => {
    const session = await openConsole(browser, engine, phone);
    const { page } = session;
    await session.open('/');
    const nav = page.getByRole('navigation', { name: 'Console' });
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Open navigation' }).click();
    await nav.getByRole('link', { name: 'Accounts' }).click();
    await page.waitForURL(/\/admin\/accounts$/);
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    await session.expectClean();
    await session.close();
  });

  for (const [name, device] of [['desktop', desktop], ['phone', phone]] as const) {
    it(`renders each page on a ${name} with no CSP violation, no error, every control named, nothing wider than the screen`, async () => {
      const session = await openConsole(browser, engine, device);
      for (const path of pages) {
        await session.open(path);
        await session.page.screenshot({ path: `test-results/console-${name}${path.replace(/\//g, '_')}.png`, fullPage: true });
        expect(await unnamedControls(session), path).toEqual([]);
        expect(await overflowsSideways(session.page), path).toBe(false);
      }
      await session.expectClean();
      await session.close();
    });
  }
});
