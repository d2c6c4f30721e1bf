import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';

const ACCOUNTS = 20;
const PER_ACCOUNT = 20;
/** The last account gets twice as many: 40 uses of 3 tokens against 100, so 33 apply and 7 are refused. */
const HOT_EXTRA = 20;
const COST = 3;

describe('a backlog of single events: staged while no worker runs, then applied in few jobs and transactions with every balance exact', () => {
  const iso = isolation();
  let api: RunningEngine;
  let workers: RunningEngine | undefined;
  let baseUrl = '';
  const post = (path: string, body: unknown) => call<any>(baseUrl, API_KEY, 'POST', path, body);
  const get = (path: string) => call<any>(baseUrl, API_KEY, 'GET', path);

  beforeAll(async () => {
    api = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'api' }), createLogger('error'));
    baseUrl = `http://127.0.0.1:${api.port}`;
  });
  afterAll(async () => {
    await workers?.stop();
    await api.stop();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('420 uses queued one request each while no worker runs wait in Redis, then are all settled once, in far fewer jobs and transactions', async () => {
    const users = Array.from({ length: ACCOUNTS }, (_, i) => `backlog-${i}`);
    for (const userId of users) expect((await post('/v1/accounts', { userId, plan: 'monthly_pro' })).status).toBe(201);
    const events = Array.from({ length: ACCOUNTS * PER_ACCOUNT + HOT_EXTRA }, (_, i) => ({
      userId: i < ACCOUNTS * PER_ACCOUNT ? users[i % ACCOUNTS]! : users.at(-1)!,
      feature: 'resume_upload',
      idempotencyKey: `backlog-use-${i}`,
    }));
    // One request per event, ten at a time, as under single-event traffic.
    for (let i = 0; i < events.length; i += 10) {
      const answers = await Promise.all(events.slice(i, i + 10).map((e) => post('/v1/usage', e)));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    }
    // Accepted means staged in Redis: no job until a workers process moves them, and each one is counted as waiting.
    expect(await api.engine.stage.waiting()).toBe(events.length);
    expect(await api.engine.queues.usage.getWaitingCount()).toBe(0);
    expect(await api.engine.backlog.refresh()).toBe(events.length);
    for (const e of events.slice(0, 3)) expect((await get(`/v1/usage/${e.idempotencyKey}`)).body).toMatchObject({ status: 'queued' });

    workers = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'workers', TOKENS_METRICS_PORT: '0' }), createLogger('error'));
    const statuses = await waitFor(async () => {
      const all = await Promise.all(events.map((e) => get(`/v1/usage/${e.idempotencyKey}`)));
      return all.every((r) => r.status === 200 && r.body.status !== 'queued') ? all.map((r) => r.body) : undefined;
    }, 'every queued use to settle', 60_000);

    expect(statuses.filter((s) => s.status === 'applied')).toHaveLength(ACCOUNTS * PER_ACCOUNT + HOT_EXTRA - 7);
    expect(statuses.filter((s) => s.status === 'rejected').map((s) => s.reason)).toEqual(Array(7).fill('insufficient_tokens'));
    for (const userId of users.slice(0, -1)) {
      expect((await get(`/v1/accounts/${userId}`)).body).toMatchObject({ balance: 100 - PER_ACCOUNT * COST, usedThisPeriod: PER_ACCOUNT * COST });
    }
    expect((await get(`/v1/accounts/${users.at(-1)}`)).body).toMatchObject({ balance: 1, usedThisPeriod: 99 });
    const ledger = await get(`/v1/accounts/${users[0]}/ledger?limit=100`);
    expect(ledger.body.entries.filter((e: any) => e.kind === 'use')).toHaveLength(PER_ACCOUNT);

    // What an operator scrapes from the workers process: every job went through a transaction, most shared one.
    const ops = `http://127.0.0.1:${workers.metricsPort}`;
    expect((await call<any>(ops, null, 'GET', '/health')).body).toMatchObject({ postgres: 'ok', redis: 'ok' });
    const metrics = (await call<string>(ops, null, 'GET', '/metrics')).body;
    const sample = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    const transactions = sample('tokens_usage_transaction_jobs_count');
    const jobs = sample('tokens_usage_transaction_jobs_sum');
    // The mover makes one job per shard of the staged events (TOKENS_USAGE_SHARDS, 4), not one per request.
    expect(jobs).toBeGreaterThan(0);
    expect(jobs).toBeLessThanOrEqual(workers.engine.config.usageShards);
    expect(transactions).toBeLessThanOrEqual(jobs);
    expect(await api.engine.stage.waiting()).toBe(0);
    await waitFor(async () => ((await api.engine.backlog.refresh()) === 0 ? true : undefined), 'the backlog to read 0 once all settled');
  });
});
