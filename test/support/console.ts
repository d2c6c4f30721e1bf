/// <reference lib="dom" />
// (The browser tests pass functions to the page: they are typed against the DOM.)
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_KEY, startTestEngine, type TestEngine } from './engine.js';

/** Debian's Chromium, headless, for tests that use the admin console as an admin would. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const desktop = { viewport: { width: 1280, height: 900 } } as const;
export const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } as const;

export interface ConsoleSession {
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy violations the page reported (securitypolicyviolation events). */
  violations(): Promise<string[]>;
  /** Uncaught exceptions and console errors of the page. */
  errors: string[];
  /** Opens a console page (path under /admin) and waits until it has loaded its data. */
  open(path: string): Promise<void>;
  /** Fails the test if the page broke the CSP or logged an error. */
  expectClean(): Promise<void>;
  close(): Promise<void>;
}

/** A browser logged in to the console with HTTP Basic (any user name, an admin key as the password). */
export async function openConsole(browser: Browser, engine: TestEngine, device: typeof desktop | typeof phone = desktop): Promise<ConsoleSession> {
  const context = await browser.newContext({ ...device, httpCredentials: { username: 'admin', password: ADMIN_KEY }, timezoneId: 'UTC', locale: 'en-GB' });
  // Injected by the browser before any page script, whatever the page's CSP.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (globalThis as any).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective}: ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refusal of the admin API is the browser's "Failed to load resource" too: the console shows those
    // itself (tests assert the message). Any other failed load is caught below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/admin/api/')) errors.push(`failed load: ${r.status()} ${r.url()}`);
  });
  const session: ConsoleSession = {
    context,
    page,
    errors,
    violations: () => page.evaluate(() => [...((globalThis as any).__cspViolations as string[])]),
    async open(path) {
      await page.goto(`${engine.baseUrl}/admin${path}`);
      await page.waitForSelector('main', { timeout: 15_000 });
      await page.waitForLoadState('networkidle').catch(() => undefined); // the live feed keeps one request open
    },
    async expectClean() {
      expect(await session.violations()).toEqual([]);
      expect(errors).toEqual([]);
    },
    close: () => context.close(),
  };
  return session;
}

const interactiveRoles = new Set(['button', 'link', 'textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'switch', 'radio', 'spinbutton', 'slider', 'tab', 'menuitem', 'option']);

/** Every interactive element of the page as the browser's accessibility tree has it, with no name. */
export async function unnamedControls(session: ConsoleSession): Promise<string[]> {
  const cdp = await session.context.newCDPSession(session.page);
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: Array<{ ignored: boolean; role?: { value: string }; name?: { value: string }; backendDOMNodeId?: number }> };
  const unnamed: string[] = [];
  for (const n of nodes) {
    const role = n.role?.value ?? '';
    if (n.ignored || !interactiveRoles.has(role)) continue;
    if (!(n.name?.value ?? '').trim()) {
      const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: n.backendDOMNodeId! });
      const html = await cdp.send('Runtime.callFunctionOn', { objectId: object.objectId!, functionDeclaration: 'function () { return this.outerHTML.slice(0, 160); }', returnByValue: true });
      unnamed.push(`${role}: ${html.result.value}`);
    }
  }
  await cdp.detach();
  return unnamed;
}

/** Whether the page is wider than the window (a table or form that breaks the layout on a phone). */
export async function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

export interface ConsoleSuite {
  engine: TestEngine;
  browser: Browser;
  /** A console logged in at 1280 px, shared by the file's tests; it must end clean (no CSP violation, no error). */
  session: ConsoleSession;
}

/**
 * A browser test file's engine (its own database and prefix, the test clock at `clock`), Chromium, and a
 * logged-in console, opened before its tests and closed after them. `env` is read when the engine starts,
 * so it may name what the file's earlier beforeAll started (a webhook receiver).
 */
export function consoleSuite(opts: { clock: string; env?: () => Record<string, string> }): ConsoleSuite {
  const suite = {} as ConsoleSuite;
  beforeAll(async () => {
    suite.engine = await startTestEngine(opts.env?.() ?? {});
    await suite.engine.setClock(opts.clock);
    suite.browser = await launchChromium();
    suite.session = await openConsole(suite.browser, suite.engine);
  });
  afterAll(async () => {
    try {
      await suite.session?.expectClean();
    } finally {
      await suite.session?.close();
      await suite.browser?.close();
      await suite.engine?.stop();
    }
  });
  return suite;
}
