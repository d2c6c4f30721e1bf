import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { dropDatabase } from '../../src/db/ensure-database.js';
import { ADMIN_KEY, API_KEY, call, isolation, jobFinished, waitFor, type Answer } from '../support/engine.js';
import { cloneTemplate } from '../support/databases.js';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';

/**
 * The queues' master dies (SIGKILL) while usage streams in, and its replica takes over. The engine
 * answers 202 only for events a replica holds (WAIT), so nothing it accepted can vanish with the master.
 */
describe('a Redis Cluster master killed mid-stream, its replica promoted', () => {
  const iso = isolation();
  let cluster: PrivateCluster;
  let config: Config;
  let api: RunningEngine;
  let workers: RunningEngine | undefined;
  let baseUrl = '';
  const users = ['ana', 'ben', 'cem', 'dia'];
  const post = (path: string, body: unknown) => call<any>(baseUrl, API_KEY, 'POST', path, body);
  const startWorkers = async () => {
    workers = await runEngine(loadConfig({ ...iso.env, ...cluster.env, TOKENS_ROLES: 'workers', TOKENS_METRICS_PORT: '0' }), createLogger('error'));
  };
  const queuesKey = () => `${config.queuePrefix}:usage:id`;
  /** Every answer keyed by its idempotency key, for the final reckoning. */
  const answers = new Map<string, Answer>();
  let sent = 0;
  const useOnce = async (tag: string) => {
    const n = sent++;
    const key = `${tag}-${n}`;
    answers.set(key, await post('/v1/usage', { userId: users[n % users.length], feature: 'resume_upload', idempotencyKey: key }));
  };
  const count = (status: number, tag?: string) => [...answers].filter(([k, a]) => a.status === status && (!tag || k.startsWith(`${tag}-`))).length;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    config = loadConfig({ ...iso.env, ...cluster.env, TOKENS_ROLES: 'api' });
    expect(config.redisWaitReplicas).toBe(1);
    await cloneTemplate(config.databaseUrl);
    api = await runEngine(config, createLogger('error'));
    baseUrl = `http://127.0.0.1:${api.port}`;
    await startWorkers();
    for (const userId of users) expect((await post('/v1/accounts', { userId, plan: 'enterprise_pro' })).status).toBe(201);
  });
  afterAll(async () => {
    await workers?.stop();
    await api?.stop();
    await cluster?.stop();
    await dropDatabase(iso.databaseUrl);
  });

  it('every 202 is applied exactly once; while the master is away requests answer 202 or 503, never 500', async () => {
    let streaming = true;
    const stream = Promise.all(
      Array.from({ length: 6 }, async () => {
        while (streaming) await useOnce('live');
      }),
    );
    try {
      await waitFor(async () => count(202) >= 60, '60 accepted uses before the failover', 60_000);
      const { killed } = await cluster.failOver(queuesKey());
      // The new master has no replica yet: nothing can be acknowledged by one, so nothing is accepted.
      const atFailover = sent;
      await waitFor(async () => sent >= atFailover + 30, '30 uses sent while the new master has no replica', 60_000);
      await cluster.restart(killed);
      const atRestart = count(202);
      await waitFor(async () => count(202) >= atRestart + 60, '60 accepted uses once the old master is back as a replica', 60_000);
    } finally {
      streaming = false;
      await stream;
    }

    const refused = [...answers.values()].filter((a) => a.status !== 202);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) expect(a).toMatchObject({ status: 503, body: { error: { code: 'dependency_unavailable', details: { dependency: 'redis' } } } });

    await expectEveryAcceptedAppliedOnce();
  });

  it('usage accepted and a scheduled job queued while no worker runs survive the next failover', async () => {
    await workers!.stop();
    workers = undefined;
    const run = await call<any>(baseUrl, ADMIN_KEY, 'POST', '/admin/api/jobs/renewals/run', {});
    expect(run.status).toBe(202);
    for (let i = 0; i < 20; i++) await useOnce('queued');
    expect(count(202, 'queued')).toBe(20);

    const { killed } = await cluster.failOver(queuesKey());
    await cluster.restart(killed);
    await startWorkers();
    expect(await jobFinished(api.engine.queues.scheduled, run.body.jobId, 'the renewals run queued before the failover')).toEqual({ due: 0 });
    await expectEveryAcceptedAppliedOnce();
  });

  /** Each 202 applied; each key applied at most once; the balances are what the applied uses took. */
  async function expectEveryAcceptedAppliedOnce() {
    const statuses = await waitFor(async () => {
      const all = await Promise.all([...answers.keys()].map(async (key) => [key, (await call<any>(baseUrl, API_KEY, 'GET', `/v1/usage/${key}`)).body] as const));
      const accepted = all.filter(([key]) => answers.get(key)!.status === 202);
      return accepted.every(([, s]) => s.status === 'applied') ? all : undefined;
    }, 'every accepted use to be applied', 60_000);
    const applied = statuses.filter(([, s]) => s.status === 'applied').map(([key]) => key);
    let uses = 0;
    for (const userId of users) {
      const account = (await call<any>(baseUrl, API_KEY, 'GET', `/v1/accounts/${userId}`)).body;
      const ledger = (await call<any>(baseUrl, API_KEY, 'GET', `/v1/accounts/${userId}/ledger?limit=500`)).body.entries.filter((e: any) => e.kind === 'use');
      expect(account.usedThisPeriod).toBe(3 * ledger.length);
      uses += ledger.length;
    }
    expect(uses).toBe(applied.length);
  }
});
