import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { TokenEngine } from '@token-engine/client';
import { API_KEY, call, ADMIN_KEY, isolation, settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import { spawnEngine, type EngineProcess } from '../support/processes.js';
import { threeHundredUsesOfAHundredTokens } from '../support/overspend.js';
import { dropDatabase } from '../../src/db/ensure-database.js';
import { renewAt, ledger } from '../billing/cycle.js';

describe('the engine on a Redis Cluster (three masters, three replicas)', () => {
  let cluster: PrivateCluster;
  beforeAll(async () => {
    cluster = await startPrivateCluster();
  });
  afterAll(async () => cluster?.stop());

  describe('one engine with every role', () => {
    let engine: TestEngine;
    beforeAll(async () => {
      engine = await startTestEngine(cluster.env);
      await engine.setClock('2027-03-01T09:00:00Z');
    });
    afterAll(async () => engine?.stop());

    it('a Free Starter opens with 10 tokens, runs three resume analyses, and is refused a 4-token job match', async () => {
      expect((await engine.api('POST', '/v1/accounts', { userId: 'starter-1' })).body).toMatchObject({ plan: { id: 'free_starter' }, balance: 10 });
      for (const n of [1, 2, 3]) {
        const r = await engine.api('POST', '/v1/usage', { userId: 'starter-1', feature: 'resume_analysis', idempotencyKey: `analysis-${n}` });
        expect(r).toEqual({ status: 202, body: { status: 'queued', idempotencyKey: `analysis-${n}` } });
        expect(await settled(engine, `analysis-${n}`)).toMatchObject({ status: 'applied', cost: 3, balanceAfter: 10 - 3 * n });
      }
      // The same key with another payload is still a conflict (its record is on whichever master holds its slot).
      const conflict = await engine.api('POST', '/v1/usage', { userId: 'starter-1', feature: 'resume_upload', idempotencyKey: 'analysis-1' });
      expect(conflict.status).toBe(409);
      await engine.api('POST', '/v1/usage', { userId: 'starter-1', feature: '06_Job_Match.py', idempotencyKey: 'match-1' });
      expect(await settled(engine, 'match-1')).toMatchObject({ status: 'rejected', reason: 'insufficient_tokens', cost: 4, balanceAfter: 1 });
      expect((await engine.api('GET', '/v1/accounts/starter-1')).body).toMatchObject({ balance: 1, usedThisPeriod: 9, percentUsed: 90, warning: { level: 90 } });
    });

    it('a batch whose keys lie on every master is claimed and applied once; replayed, nothing more', async () => {
      await engine.api('POST', '/v1/accounts', { userId: 'batcher', plan: 'monthly_pro' });
      const events = Array.from({ length: 30 }, (_, i) => ({ userId: 'batcher', feature: 'resume_upload', idempotencyKey: `batch-${i}` }));
      expect((await engine.api('POST', '/v1/usage/batch', { events })).status).toBe(202);
      expect(await settled(engine, 'batch-29')).toMatchObject({ status: 'applied' });
      await Promise.all(events.map((e) => settled(engine, e.idempotencyKey)));
      expect((await engine.api('POST', '/v1/usage/batch', { events })).status).toBe(202);
      expect((await engine.api('GET', '/v1/accounts/batcher')).body).toMatchObject({ balance: 10, usedThisPeriod: 90 });
    });

    it('a Monthly Pro account is renewed by the renewals job at its period end', async () => {
      await engine.api('POST', '/v1/accounts', { userId: 'maya', plan: 'monthly_pro' });
      await engine.api('POST', '/v1/usage', { userId: 'maya', feature: 'enhanced_job_match', idempotencyKey: 'maya-1' });
      expect(await settled(engine, 'maya-1')).toMatchObject({ status: 'applied', balanceAfter: 92 });
      const [renewed] = await renewAt(engine, '2027-04-01T09:00:00Z', 'maya');
      expect(renewed).toMatchObject({ balance: 100, usedThisPeriod: 0, period: { start: '2027-04-01T09:00:00.000Z' } });
      expect((await ledger(engine, 'maya')).slice(-2).map((e) => [e.kind, e.amount])).toEqual([
        ['expiry', -92],
        ['grant', 100],
      ]);
    });

    it('bull-board lists every queue, and every key of the queues lies in the one slot of their hash tag', async () => {
      const board = await call<any>(engine.baseUrl, ADMIN_KEY, 'GET', '/admin/queues/api/queues');
      expect(board.status).toBe(200);
      expect(board.body.queues.map((q: any) => q.name).sort()).toEqual(['notification', 'payment', 'renewal', 'scheduled', 'usage']);
      const prefix = engine.config.queuePrefix;
      expect(prefix).toBe(`{${engine.prefix}}`);
      const redis = engine.running.engine.redis as Cluster;
      const keys = (await Promise.all(redis.nodes('master').map((node) => node.keys(`${prefix}:*`)))).flat();
      expect(keys.length).toBeGreaterThan(5);
      const slots = new Set(await Promise.all(keys.map((k) => redis.cluster('KEYSLOT', k))));
      expect(slots.size).toBe(1);
    });
  });

  describe('two API processes and two worker processes', () => {
    const iso = isolation();
    const processes: EngineProcess[] = [];
    let clients: TokenEngine[] = [];
    beforeAll(async () => {
      // What this asks is whether any token is spent twice, not how fast 300 connections are read: on two
      // shared cores beside six redis-servers, a connection can wait past the 10 s headers timeout (408).
      const env = { ...iso.env, ...cluster.env, TOKENS_HTTP_HEADERS_TIMEOUT_MS: '60000', TOKENS_HTTP_REQUEST_TIMEOUT_MS: '60000' };
      processes.push(await spawnEngine({ ...env, TOKENS_ROLES: 'api' }));
      processes.push(...(await Promise.all([spawnEngine({ ...env, TOKENS_ROLES: 'api' }), spawnEngine({ ...env, TOKENS_ROLES: 'workers' }), spawnEngine({ ...env, TOKENS_ROLES: 'workers' })])));
      clients = processes.filter((p) => p.port).map((p) => new TokenEngine({ baseUrl: `http://127.0.0.1:${p.port}`, apiKey: API_KEY, retries: 5 }));
      expect(clients).toHaveLength(2);
    });
    afterAll(async () => {
      await Promise.all(processes.map((p) => p.stop()));
      await dropDatabase(iso.databaseUrl);
    });

    it('300 simultaneous 3-token uses against 100 tokens: exactly 33 applied, balance 1', async () => {
      await threeHundredUsesOfAHundredTokens(clients);
    });
  });
});
