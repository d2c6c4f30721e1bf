import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenEngine, TokenEngineError, verifyWebhook, WebhookVerificationError } from '@token-engine/client';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { API_KEY, call, cleanup, isolation, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { webhookSecret } from '../notify/receivers.js';

interface Delivery {
  raw: string;
  headers: IncomingHttpHeaders;
}

/** A service's webhook endpoint: it keeps each delivery's exact bytes and headers, for the client to verify. */
async function rawReceiver(): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ raw: Buffer.concat(chunks).toString(), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/tokens`, deliveries, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the TypeScript client against a live engine', () => {
  let engine: TestEngine;
  let client: TokenEngine;
  let receiver: Awaited<ReturnType<typeof rawReceiver>>;
  const secret = webhookSecret();
  beforeAll(async () => {
    receiver = await rawReceiver();
    engine = await startTestEngine({ TOKENS_NOTIFY_WEBHOOK_URL: receiver.url, TOKENS_NOTIFY_WEBHOOK_SECRET: secret });
    client = new TokenEngine({ baseUrl: engine.baseUrl, apiKey: API_KEY });
  });
  afterAll(async () => {
    await engine?.stop();
    await receiver?.close();
  });

  it('tells the Free Starter story: three resume analyses applied, the job match refused, balance 1', async () => {
    const account = await client.createAccount('ts-starter');
    expect(account).toMatchObject({ plan: { id: 'free_starter', monthlyTokens: 10 }, balance: 10 });
    for (const n of [1, 2, 3]) {
      expect(await client.check('ts-starter', 'resume_analysis')).toMatchObject({ allowed: true, cost: 3 });
      expect(await client.recordUsage({ userId: 'ts-starter', feature: 'resume_analysis', idempotencyKey: `ts-analysis-${n}` })).toEqual({
        status: 'queued',
        idempotencyKey: `ts-analysis-${n}`,
      });
      expect(await client.waitForUsage(`ts-analysis-${n}`)).toMatchObject({ status: 'applied', cost: 3, balanceAfter: 10 - 3 * n });
    }
    expect(await client.check('ts-starter', '06_Job_Match.py')).toEqual({ allowed: false, cost: 4, balance: 1, reason: 'insufficient_tokens' });
    await client.recordUsage({ userId: 'ts-starter', feature: '06_Job_Match.py', idempotencyKey: 'ts-match-1' });
    expect(await client.waitForUsage('ts-match-1')).toMatchObject({ status: 'rejected', reason: 'insufficient_tokens', cost: 4, balanceAfter: 1 });
    expect(await client.account('ts-starter')).toMatchObject({ balance: 1, usedThisPeriod: 9, percentUsed: 90, warning: { level: 90 } });
    const dashboard = await client.dashboard('ts-starter');
    expect(dashboard).toMatchObject({ used: 9, allocated: 10, balance: 1, mostUsedFeatures: [{ feature: 'resume_analysis', uses: 3, tokens: 9 }] });
    // A retry of an applied use is the same use: applied once.
    await client.recordUsage({ userId: 'ts-starter', feature: 'resume_analysis', idempotencyKey: 'ts-analysis-3' });
    expect((await client.account('ts-starter')).balance).toBe(1);
  });

  it('holds tokens with reserve, spends the hold with its reservationId, and gives a hold back with release', async () => {
    await client.createAccount('ts-holder', { plan: 'monthly_pro' });
    const held = await client.reserve('ts-holder', 'resume_upload', { ttlSeconds: 600 });
    expect(held).toMatchObject({ allowed: true, cost: 3, balance: 97, reservationId: expect.any(String) });
    expect(await client.holds('ts-holder')).toEqual([expect.objectContaining({ reservationId: held.reservationId, cost: 3 })]);
    await client.recordUsage({ userId: 'ts-holder', feature: 'resume_upload', idempotencyKey: 'ts-upload-1', reservationId: held.reservationId! });
    expect(await client.waitForUsage('ts-upload-1')).toMatchObject({ status: 'applied', balanceAfter: 97 });
    const second = await client.reserve('ts-holder', 'resume_upload');
    expect(await client.release(second.reservationId!)).toEqual({ reservationId: second.reservationId, status: 'released' });
    expect(await client.account('ts-holder')).toMatchObject({ balance: 97, held: 0 });
  });

  it("throws the contract's errors as TokenEngineError: code, status, message", async () => {
    const missing = await client.account('nobody-here').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TokenEngineError);
    expect(missing).toMatchObject({ code: 'account_not_found', status: 404, message: 'no account for userId "nobody-here"' });
    await client.recordUsage({ userId: 'ts-starter', feature: 'resume_upload', idempotencyKey: 'ts-conflict' });
    await expect(client.recordUsage({ userId: 'ts-starter', feature: 'profile_basic', idempotencyKey: 'ts-conflict' })).rejects.toMatchObject({
      code: 'idempotency_conflict',
      status: 409,
    });
    await expect(client.recordUsage({ userId: 'ts-starter', feature: 'resume_upload', idempotencyKey: '' })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(new TokenEngine({ baseUrl: engine.baseUrl, apiKey: 'wrong' }).features()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
  });

  it("verifies the engine's signed webhook, and refuses it with a tampered body", async () => {
    // The Free Starter story crossed 90 percent: the engine delivered a tokens.warning to the receiver.
    const delivery = await waitFor(async () => receiver.deliveries.find((d) => d.raw.includes('ts-starter')), 'the tokens.warning delivery');
    const event = verifyWebhook(secret, delivery.raw, delivery.headers);
    expect(event).toMatchObject({ type: 'tokens.warning', data: { userId: 'ts-starter', level: 90, message: '⚠️ You have 10% tokens remaining' } });
    const tampered = delivery.raw.replace('"level":90', '"level":10');
    expect(tampered).not.toBe(delivery.raw);
    expect(() => verifyWebhook(secret, tampered, delivery.headers)).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(webhookSecret(), delivery.raw, delivery.headers)).toThrow(WebhookVerificationError);
  });
});

describe('the TypeScript client when the engine is backlogged', () => {
  const iso = isolation();
  let api: RunningEngine;
  let workers: RunningEngine | undefined;
  let baseUrl = '';
  const sent: Array<{ at: number; body: string }> = [];
  const counting: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    sent.push({ at: Date.now(), body: await request.clone().text() });
    return fetch(request);
  };
  beforeAll(async () => {
    // No worker at first: the backlog only grows.
    api = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'api', TOKENS_USAGE_MAX_BACKLOG: '2' }), createLogger('error'));
    baseUrl = `http://127.0.0.1:${api.port}`;
    await call(baseUrl, API_KEY, 'POST', '/v1/accounts', { userId: 'ts-flood', plan: 'enterprise_pro' });
    const events = ['a', 'b', 'c', 'd'].map((k) => ({ userId: 'ts-flood', feature: 'profile_basic', idempotencyKey: `ts-early-${k}` }));
    expect((await call(baseUrl, API_KEY, 'POST', '/v1/usage/batch', { events })).status).toBe(202);
    await waitFor(async () => (await call<any>(baseUrl, API_KEY, 'POST', '/v1/usage', { ...events[0], idempotencyKey: 'ts-probe' })).status === 429, 'the engine to be backlogged');
  });
  afterAll(async () => {
    await workers?.stop();
    await api.stop();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('retries a 429 after the Retry-After it names, with the same idempotency key, then throws backlogged', async () => {
    const client = new TokenEngine({ baseUrl, apiKey: API_KEY, fetch: counting, retries: 2, retryBaseDelayMs: 5, retryMaxDelayMs: 300 });
    sent.length = 0;
    const error = await client.recordUsage({ userId: 'ts-flood', feature: 'profile_basic', idempotencyKey: 'ts-late-1' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'backlogged', status: 429, retryAfterSeconds: expect.any(Number) });
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((s) => s.body))).toEqual(new Set([JSON.stringify({ userId: 'ts-flood', feature: 'profile_basic', idempotencyKey: 'ts-late-1' })]));
    // Each wait is Retry-After's (capped at retryMaxDelayMs), not the 5 ms backoff.
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(280);
    expect(sent[2]!.at - sent[1]!.at).toBeGreaterThanOrEqual(280);
  });

  it('gets the use through once workers drain the backlog, and it is applied once', async () => {
    const client = new TokenEngine({ baseUrl, apiKey: API_KEY, fetch: counting, retries: 100, retryMaxDelayMs: 200 });
    sent.length = 0;
    const accepted = client.recordUsage({ userId: 'ts-flood', feature: 'profile_basic', idempotencyKey: 'ts-late-2' });
    workers = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'workers' }), createLogger('error'));
    expect(await accepted).toEqual({ status: 'queued', idempotencyKey: 'ts-late-2' });
    expect(sent.length).toBeGreaterThan(1);
    expect(await client.waitForUsage('ts-late-2')).toMatchObject({ status: 'applied' });
  });
});
