/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/console.js';
import { startTestEngine, type TestEngine } from '../support/engine.js';

describe('GET /docs in a real browser', () => {
  let engine: TestEngine;
  let browser: Browser;
  beforeAll(async () => {
    [engine, browser] = await Promise.all([startTestEngine(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
  });

  it('renders every operation and webhook from the engine alone, with no CSP violation or error', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(() => {
      const seen: string[] = [];
      (globalThis as any).__cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective}: ${e.blockedURI || "inline"} ${e.sample} ${e.sourceFile}:${e.lineNumber}`));
    });
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${engine.baseUrl}/docs`);
    await page.getByText('Token engine', { exact: false }).first().waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/v1/check' }).first().waitFor();
    // The webhooks the engine sends are listed too (OpenAPI 3.1 `webhooks`).
    await page.getByText('tokens.warning').first().waitFor();
    // An operation opens to its schemas.
    await page.locator('.opblock-summary-path', { hasText: '/v1/check' }).first().click();
    await page.getByText('insufficient_tokens').first().waitFor();

    const foreign = requests.filter((url) => new URL(url).origin !== engine.baseUrl && !url.startsWith('data:'));
    expect(foreign).toEqual([]);
    expect(await page.evaluate(() => (globalThis as any).__cspViolations as string[])).toEqual([]);
    expect(errors).toEqual([]);
    const response = await page.request.get(`${engine.baseUrl}/docs`);
    expect(response.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await page.screenshot({ path: 'test-results/docs.png' });
    await context.close();
  });
});
