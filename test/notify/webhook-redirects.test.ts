import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { jobResult } from './jobs.js';
import { webhookSecret } from './receivers.js';

/** A local HTTP server that answers every request with `status` and `headers`, and counts what it got. */
async function answering(status: number, headers: (path: string) => Record<string, string> = () => ({})) {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(req.url ?? '');
      res.writeHead(status, headers(req.url ?? '')).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, paths, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('webhook and alert deliveries never follow a redirect', () => {
  let engine: TestEngine;
  let internal: Awaited<ReturnType<typeof answering>>;
  let redirector: Awaited<ReturnType<typeof answering>>;

  beforeAll(async () => {
    // The address a hostile receiver points at: it would accept anything, and must never be reached.
    internal = await answering(200);
    redirector = await answering(307, (p) => ({ location: `${internal.origin}/internal/collect?key=internal-secret&from=${encodeURIComponent(p)}` }));
    engine = await startTestEngine({
      TOKENS_NOTIFY_WEBHOOK_URL: `${redirector.origin}/hooks/warnings?token=w-secret`,
      TOKENS_ALERT_WEBHOOK_URL: `${redirector.origin}/hooks/alerts?token=a-secret`,
      TOKENS_NOTIFY_WEBHOOK_SECRET: webhookSecret(),
      TOKENS_NOTIFY_ATTEMPTS: '2',
      TOKENS_NOTIFY_BACKOFF_MS: '20',
      TOKENS_ALERT_REJECTIONS: '1',
    });
    await engine.setClock('2026-12-01T09:00:00Z');
  });
  afterAll(async () => {
    await engine?.stop();
    await redirector?.close();
    await internal?.close();
  });

  it('a 307 to an internal address is a failed attempt naming where it pointed; the signed message never goes there', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'lure', plan: 'free_starter' });
    // Two uses of 5 tokens take the account to 100% (warnings); the third is refused (an alert).
    for (let i = 0; i < 3; i++) {
      await engine.api('POST', '/v1/usage', { userId: 'lure', feature: '23_Tailored_CV_Generator.py', idempotencyKey: `lure-${i}` });
      await settled(engine, `lure-${i}`);
    }
    await engine.setClock('2026-12-01T09:05:00Z');
    expect(await jobResult(engine, 'alerts')).toMatchObject({ raised: 1, byRule: { rejections: 1 } });

    const failed = await waitFor(async () => {
      const all = (await engine.admin('GET', '/admin/api/notifications')).body.notifications as any[];
      const types = new Set(all.filter((n) => n.deliveries.every((d: any) => d.status === 'failed')).map((n) => n.type));
      return all.length > 1 && all.every((n) => n.deliveries.every((d: any) => d.status === 'failed')) && types.size === 2 ? all : undefined;
    }, 'every warning and the alert to fail');
    const lastErrors = new Set(failed.flatMap((n: any) => n.deliveries.map((d: any) => [d.attempts, d.lastError].join(' '))));
    expect([...lastErrors]).toEqual([`2 POST ${redirector.origin}: HTTP 307 redirect to ${internal.origin} (redirects are not followed)`]);

    expect(internal.paths).toEqual([]);
    expect(redirector.paths.filter((p) => p.startsWith('/hooks/alerts'))).toHaveLength(2);
    expect(redirector.paths.filter((p) => p.startsWith('/hooks/warnings')).length).toBe(2 * failed.filter((n: any) => n.type === 'tokens.warning').length);
  });
});
