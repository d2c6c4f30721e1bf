import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestEngine, type TestEngine } from '../support/engine.js';

const csp =
  "default-src 'self';script-src 'self';style-src 'self' 'sha256-r2N1TB/gHbBtBZFKg7ejmq1acVSREzucTAEw6ga4hoU=';img-src 'self' data:;" +
  "font-src 'self' data:;connect-src 'self';object-src 'none';base-uri 'self';form-action 'self';frame-ancestors 'none'";

interface Sent {
  status: number;
  headers: Headers;
  body: any;
}

/** A request as a browser or a script would send it: any headers, the admin key unless told otherwise. */
async function send(engine: TestEngine, method: string, path: string, opts: { key?: string | null; headers?: Record<string, string>; body?: unknown } = {}): Promise<Sent> {
  const headers: Record<string, string> = { ...opts.headers };
  const key = opts.key === undefined ? ADMIN_KEY : opts.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${engine.baseUrl}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // a page or an asset
  }
  return { status: res.status, headers: res.headers, body };
}

describe('the boundary of /admin: security headers on every answer, and no changes from another site', () => {
  let engine: TestEngine;
  let own: string;
  const scheduledJobs = async () => Object.values(await engine.running.engine.queues.scheduled.getJobCounts()).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    engine = await startTestEngine();
    own = engine.baseUrl;
    await engine.setClock('2026-12-01T09:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'ana', plan: 'monthly_pro' });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('every answer under /admin carries the one CSP, refuses frames and sniffing: pages, assets, the API, bull-board, refusals', async () => {
    const board = await send(engine, 'GET', '/admin/queues');
    const script = /<script defer src="(static\/js\/[^"]+)"/.exec(board.body)?.[1];
    expect(script).toBeDefined();
    const page = await send(engine, 'GET', '/admin');
    const asset = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(asset).toBeDefined();
    const answers = {
      page,
      asset: await send(engine, 'GET', asset!),
      api: await send(engine, 'GET', '/admin/api/jobs'),
      board,
      boardAsset: await send(engine, 'GET', `/admin/queues/${script}`),
      boardApi: await send(engine, 'GET', '/admin/queues/api/queues'),
      unauthenticated: await send(engine, 'GET', '/admin/api/jobs', { key: null }),
      missing: await send(engine, 'GET', '/admin/no-such-page'),
      refused: await send(engine, 'POST', '/admin/api/jobs/rollups/run', { headers: { 'sec-fetch-site': 'cross-site' } }),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, a]) => [k, a.status]))).toEqual({
      page: 200,
      asset: 200,
      api: 200,
      board: 200,
      boardAsset: 200,
      boardApi: 200,
      unauthenticated: 401,
      missing: 404,
      refused: 403,
    });
    for (const [what, a] of Object.entries(answers)) {
      expect({ what, csp: a.headers.get('content-security-policy') }).toEqual({ what, csp });
      expect({ what, frame: a.headers.get('x-frame-options'), sniff: a.headers.get('x-content-type-options'), referrer: a.headers.get('referrer-policy') }).toEqual({
        what,
        frame: 'DENY',
        sniff: 'nosniff',
        referrer: 'same-origin',
      });
    }
    // bull-board's page, as served: no stylesheet from another host, no inline style for the CSP to block.
    expect(board.body).not.toMatch(/fonts\.googleapis|style="|<style/);
    // The service API is no page: its answers are left as they were.
    expect((await engine.api('GET', '/v1/plans')).status).toBe(200);
    expect((await fetch(`${engine.baseUrl}/v1/plans`)).headers.get('content-security-policy')).toBeNull();
  });

  it('a state change a browser sends from another site or origin is refused with 403 before it runs, authenticated or not', async () => {
    const port = new URL(own).port;
    const foreign: Record<string, Record<string, string>> = {
      'another site': { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      'another origin of the same site': { 'sec-fetch-site': 'same-site', origin: `http://127.0.0.1:${Number(port) + 1}` },
      'a foreign Origin alone': { origin: 'https://evil.example' },
      'an opaque origin': { origin: 'null' },
      'another host name for the same server': { origin: `http://localhost:${port}` },
      'same-site even with our Origin': { 'sec-fetch-site': 'same-site', origin: own },
    };
    const changes: Array<[string, string, unknown?]> = [
      ['POST', '/admin/api/jobs/reconcile/run', {}],
      ['PUT', '/admin/api/features/resume_upload', { cost: 99 }],
      ['POST', '/admin/api/accounts/ana/grants', { tokens: 500, reason: 'forged' }],
      ['DELETE', '/admin/api/pricing-rules/anything'],
      ['PUT', '/admin/queues/api/queues/renewal/pause'],
      ['PUT', '/admin/queues/api/queues/scheduled/clean/completed'],
      ['POST', '/admin/queues/api/queues/scheduled/add', { name: 'holds', data: { name: 'holds' } }],
      // The router decodes %61 to "a": the same route, so the same refusal.
      ['POST', '/%61dmin/api/jobs/holds/run', {}],
    ];
    const before = (await engine.api('GET', '/v1/accounts/ana')).body;
    for (const [from, headers] of Object.entries(foreign)) {
      for (const [method, path, body] of changes) {
        for (const key of [ADMIN_KEY, null]) {
          const r = await send(engine, method, path, { headers, body, key });
          expect({ from, method, path, key: key !== null, status: r.status, code: r.body?.error?.code }).toEqual({
            from,
            method,
            path,
            key: key !== null,
            status: 403,
            code: 'cross_site_request',
          });
        }
      }
    }
    expect(await scheduledJobs()).toBe(0);
    expect(await engine.running.engine.queues.renewal.isPaused()).toBe(false);
    expect((await engine.admin('GET', '/admin/api/audit')).body.entries).toEqual([]);
    const features = (await engine.api('GET', '/v1/features')).body.features;
    expect(features.find((f: any) => f.key === 'resume_upload').cost).toBe(3);
    expect((await engine.api('GET', '/v1/accounts/ana')).body).toEqual(before);
  });

  it('reads from anywhere are answered (framing is the headers\' business), and changes from the engine\'s own page or from no browser run', async () => {
    expect((await send(engine, 'GET', '/admin/api/jobs', { headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } })).status).toBe(200);
    const fromOwnPage = await send(engine, 'POST', '/admin/api/jobs/rollups/run', { headers: { 'sec-fetch-site': 'same-origin', origin: own }, body: {} });
    expect(fromOwnPage).toMatchObject({ status: 202, body: { status: 'queued', name: 'rollups' } });
    const typedByHand = await send(engine, 'POST', '/admin/api/jobs/rollups/run', { headers: { 'sec-fetch-site': 'none' }, body: {} });
    expect(typedByHand.status).toBe(202);
    const curl = await send(engine, 'POST', '/admin/api/jobs/rollups/run', { body: {} });
    expect(curl.status).toBe(202);
    expect(await scheduledJobs()).toBe(3);
  });

  it('an impossible date in an analytics query is a 400 naming it; a prototype name under /admin/assets is a 404', async () => {
    for (const query of ['from=2026-02-31', 'to=2026-04-31', 'from=2025-02-29&to=2025-03-10', 'from=2026-13-01', 'to=0000-01-01', 'from=2026-1-1']) {
      const r = await send(engine, 'GET', `/admin/api/analytics?${query}`);
      const field = query.split('=')[0];
      expect({ query, status: r.status, code: r.body.error?.code, path: r.body.error?.details?.[0]?.path }).toEqual({ query, status: 400, code: 'validation_failed', path: field });
    }
    expect((await send(engine, 'GET', '/admin/api/analytics?from=2024-02-29&to=2024-03-01')).status).toBe(200);

    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      const r = await send(engine, 'GET', `/admin/assets/${name}`);
      expect({ name, status: r.status, body: r.body }).toEqual({ name, status: 404, body: { error: { code: 'not_found', message: `no route GET /admin/assets/${name}` } } });
    }
  });
});

describe('behind a proxy: TOKENS_PUBLIC_URL names the engine\'s own origin', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ TOKENS_PUBLIC_URL: 'https://tokens.example.com/' });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('changes run from the public origin, whatever Host the proxy sends, and from no other', async () => {
    const fromPublic = await send(engine, 'POST', '/admin/api/jobs/rollups/run', { headers: { 'sec-fetch-site': 'same-origin', origin: 'https://tokens.example.com' }, body: {} });
    expect(fromPublic.status).toBe(202);
    for (const origin of [engine.baseUrl, 'http://tokens.example.com', 'https://tokens.example.com:8443']) {
      const r = await send(engine, 'POST', '/admin/api/jobs/rollups/run', { headers: { origin }, body: {} });
      expect({ origin, status: r.status, code: r.body.error?.code }).toEqual({ origin, status: 403, code: 'cross_site_request' });
    }
    const counts = await engine.running.engine.queues.scheduled.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });
});
