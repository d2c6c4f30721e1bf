import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, cleanup, isolation, waitFor } from '../support/engine.js';
import { runToExit, spawnEngine, type EngineProcess } from '../support/processes.js';
import { closedPort } from '../support/ports.js';
import { webhookSecret } from '../notify/receivers.js';

const serviceKey = 'svc_7d1e0c5b9a2f4e68b3c1d0a9f8e7d6c5';
const adminKey = 'adm_4b2e9f1c7a5d3e8b0c6f2a9d1e7b5c3a';

describe('secrets stay secret, and production refuses what would expose it', () => {
  const iso = isolation();
  const started: EngineProcess[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'tokens-secrets-'));
  const production = { ...iso.env, NODE_ENV: 'production', TOKENS_TEST_CLOCK: 'off', TOKENS_API_KEYS: serviceKey, TOKENS_ADMIN_KEYS: adminKey };
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('production with the test clock on refuses to start, saying why', async () => {
    const { code, output } = await runToExit({ ...production, TOKENS_TEST_CLOCK: 'on' });
    expect(code).toBe(1);
    expect(output).toContain('TOKENS_TEST_CLOCK: must be off in production (NODE_ENV=production)');
  });

  it('production refuses a key under 32 characters and a key that is both a service and an admin key, without printing either', async () => {
    const short = await runToExit({ ...production, TOKENS_API_KEYS: `${serviceKey},tiny-key-1234` });
    expect(short.code).toBe(1);
    expect(short.output).toContain('TOKENS_API_KEYS: every key must be at least 32 characters in production (too short: key 2 of the list)');
    expect(short.output).not.toContain('tiny-key-1234');

    const both = await runToExit({ ...production, TOKENS_ADMIN_KEYS: `${adminKey},${serviceKey}` });
    expect(both.code).toBe(1);
    expect(both.output).toContain('TOKENS_ADMIN_KEYS: a key is in both TOKENS_API_KEYS and TOKENS_ADMIN_KEYS');
    expect(both.output).not.toContain(serviceKey);
    expect(both.output).not.toContain(adminKey);
  });

  it('production with long, distinct keys and no test clock starts', async () => {
    const engine = await spawnEngine(production);
    started.push(engine);
    const health = await call<any>(`http://127.0.0.1:${engine.port}`, null, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(await engine.stop()).toBe(0);
    expect(engine.output.join('\n')).not.toContain(serviceKey);
  });

  it('only a generated key is printed; a webhook URL is logged and kept as scheme, host and port; the audit names a fingerprint', async () => {
    const keysFile = path.join(dir, 'dev-keys.json');
    const port = await closedPort();
    const hookUrl = `http://127.0.0.1:${port}/hooks/T0SECRETPATH/B0SECRET?token=s3cr3t-query`;
    const engine = await spawnEngine({
      ...iso.env,
      TOKENS_API_KEYS: serviceKey,
      TOKENS_ADMIN_KEYS: '',
      TOKENS_DEV_KEYS_FILE: keysFile,
      TOKENS_NOTIFY_WEBHOOK_URL: hookUrl,
      TOKENS_NOTIFY_WEBHOOK_SECRET: webhookSecret(),
      TOKENS_NOTIFY_ATTEMPTS: '2',
      TOKENS_NOTIFY_BACKOFF_MS: '20',
    });
    started.push(engine);
    const generated = JSON.parse(readFileSync(keysFile, 'utf8')) as { api: string; admin: string };
    const base = `http://127.0.0.1:${engine.port}`;
    const service = (method: string, p: string, body?: unknown) => call<any>(base, serviceKey, method, p, body);
    const admin = (method: string, p: string, body?: unknown) => call<any>(base, generated.admin, method, p, body);

    await admin('POST', '/admin/api/clock', { now: '2026-12-01T09:00:00Z' });
    await service('POST', '/v1/accounts', { userId: 'quiet', plan: 'free_starter' });
    for (let i = 0; i < 3; i++) expect((await service('POST', '/v1/usage', { userId: 'quiet', feature: 'resume_upload', idempotencyKey: `q-${i}` })).status).toBe(202);
    const failed = await waitFor(async () => {
      const r = await admin('GET', '/admin/api/notifications?status=failed');
      return r.body.notifications?.[0];
    }, 'the warning to the unreachable webhook to fail');
    expect(failed.deliveries[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.deliveries[0].lastError).toMatch(new RegExp(`^POST http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
    expect((await admin('POST', '/admin/api/accounts/quiet/grants', { tokens: 5, reason: 'sorry' })).status).toBe(201);
    const [grant] = (await admin('GET', '/admin/api/audit')).body.entries;
    expect(grant).toMatchObject({ action: 'grant.create', actor: `admin-key:${createHash('sha256').update(generated.admin).digest('hex').slice(0, 12)}` });
    expect(grant.actor).not.toContain(generated.admin.slice(-4));

    expect(await engine.stop()).toBe(0);
    const log = engine.output.join('\n');
    const printed = engine.output.filter((l) => l.includes('using development keys')).map((l) => JSON.parse(l));
    expect(printed).toEqual([expect.objectContaining({ adminKey: generated.admin, file: keysFile })]);
    expect(printed[0]).not.toHaveProperty('apiKey');
    expect(log).toContain('notification job failed');
    for (const secret of [serviceKey, 'T0SECRETPATH', 'B0SECRET', 's3cr3t-query']) expect({ secret, found: log.includes(secret) }).toEqual({ secret, found: false });
  });
});
