import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { API_KEY, settled, startTestEngine, type TestEngine } from '../support/engine.js';
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
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
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
