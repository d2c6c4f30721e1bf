import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isolation, waitFor } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { durableRedis, startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { expectAppliedExactlyOnce, faultTimeouts, openDb, startEngineProcess, usageDrained, usageEvents, UsageRecord, waitUntilSettled, openFundedAccounts } from './settlement.js';

/**
 * An API process answers 202 once an event is staged in Redis, and a workers process moves and applies
 * it. Killing the API cuts requests off anywhere: before the engine read them, after it claimed their
 * keys, after it staged their events, while the answer was on its way. A caller that got no answer sends
 * the same request again to another API process, and each event is charged once all the same.
 */

const users = ['ada-0', 'ada-1', 'ada-2', 'ada-3', 'ada-4', 'ada-5'];

/** A workers process on the test's database and prefix, API processes started on demand, and the test's own connections. */
class Stack {
  readonly processes: EngineProcess[] = [];
  readonly record = new UsageRecord();
  readonly start: Record<string, number> = {};
  readonly redis: Redis;
  readonly queue: Queue;
  db!: pg.Client;

  constructor(readonly env: Record<string, string>) {
    this.redis = new Redis(env.REDIS_URL!);
    this.queue = new Queue('usage', { connection: { url: env.REDIS_URL! }, prefix: env.TOKENS_QUEUE_PREFIX! });
  }

  async startWorkers(): Promise<void> {
    this.processes.push(await startEngineProcess({ ...this.env, TOKENS_ROLES: 'workers' }));
    this.db = await openDb(this.env.DATABASE_URL!);
  }

  async api(): Promise<{ process: EngineProcess; base: string }> {
    const p = await startEngineProcess({ ...this.env, TOKENS_ROLES: 'api' });
    this.processes.push(p);
    return { process: p, base: `http://127.0.0.1:${p.port}` };
  }

  async openAccounts(base: string): Promise<void> {
    await openFundedAccounts(base, users, 20_000, this.start);
  }

  /** Every event answered 202 in the end is charged once and the ledger holds nothing else, read once an event staged twice has had both copies worked off. */
  async expectChargedOnce(): Promise<void> {
    await waitUntilSettled(this.db, this.record.accepted.map((e) => e.idempotencyKey));
    await waitFor(() => usageDrained(this.redis, this.queue), 'the staged events and their jobs to be worked off');
    await expectAppliedExactlyOnce(this.db, this.record, this.start);
  }

  async stop(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
    await this.db?.end();
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL')));
  }
}

describe('an API process killed with SIGKILL while usage requests stream in', faultTimeouts, () => {
  const iso = isolation();
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({ ...iso.env, TOKENS_TEST_CLOCK: 'off' });
    await stack.startWorkers();
  });
  afterAll(async () => {
    await stack?.stop();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('killed three times right after a 202: every event answered 202 is charged once, and so is every request sent again for want of an answer', async () => {
    const { record } = stack;
    // Twelve callers, each sending its next request as soon as the last is answered: single events
    // mostly, batches of 120 and 600 among them (a batch claims its keys first and stages them after).
    const sizes = [1, 1, 120, 1, 600, 1];
    let unanswered = 0;
    for (let round = 0; round < 3; round++) {
      const doomed = await stack.api();
      if (round === 0) await stack.openAccounts(doomed.base);
      // What the last kill left unanswered goes to this process first, as it was.
      await Promise.all(record.takeUnanswered().map((events) => record.send(doomed.base, events)));
      expect(record.refused, 'retries refused').toEqual([]);

      let answered = 0;
      let killed = false;
      const caller = async (lane: number) => {
        for (let n = 0; !killed; n++) {
          const answer = await record.send(doomed.base, usageEvents(`r${round}.c${lane}.${n}`, sizes[(lane + n) % sizes.length]!, users));
          if (answer.status === 202 && ++answered === 40 && !killed) {
            killed = true;
            doomed.process.child.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: 12 }, (_, lane) => caller(lane)));
      await doomed.process.exited;
      expect(doomed.process.child.signalCode).toBe('SIGKILL');
      // The callers still waiting got no answer at all: never a refusal, never a 5xx.
      expect(record.refused.map((r) => r.answer.status).filter((s) => s !== 0)).toEqual([]);
      unanswered += record.refused.length;
    }
    // Some request was cut off unanswered (a loaded machine may answer every caller of one round before
    // the process dies, but not of all three), so the resending below is exercised.
    expect(unanswered).toBeGreaterThan(0);

    const last = await stack.api();
    for (const events of record.takeUnanswered()) await record.send(last.base, events);
    expect(record.refused).toEqual([]);
    await stack.expectChargedOnce();
  });
});

describe('an API process killed with SIGKILL while its staged events wait for the Redis replica', faultTimeouts, () => {
  const iso = isolation();
  let master: PrivateRedis;
  let replica: PrivateRedis;
  let stack: Stack;
  const replicaFollows = async () => {
    const client = new Redis(replica.url);
    try {
      return (await client.info('replication')).includes('master_link_status:up');
    } finally {
      client.disconnect();
    }
  };

  beforeAll(async () => {
    master = await startPrivateRedis();
    replica = await startPrivateRedis([...durableRedis, '--replicaof', '127.0.0.1', String(master.port)]);
    // A 202 waits until the replica holds what the request staged (WAIT): with the replica gone, a
    // request stages its events and then waits for an acknowledgement that does not come.
    stack = new Stack({ ...iso.env, REDIS_URL: master.url, TOKENS_TEST_CLOCK: 'off', TOKENS_REDIS_WAIT_REPLICAS: '1', TOKENS_REDIS_WAIT_TIMEOUT_MS: '30000' });
    await stack.startWorkers();
    await waitFor(replicaFollows, 'the replica to follow its master');
  });
  afterAll(async () => {
    await stack?.stop();
    await replica?.remove();
    await master?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('what it staged is applied with nobody answered; sent again, it is answered as applied and charged nothing more', async () => {
    const { record } = stack;
    let api = await stack.api();
    await stack.openAccounts(api.base);
    const answered = usageEvents('answered', 200, users);
    for (let i = 0; i < answered.length; i += 50) expect((await record.send(api.base, answered.slice(i, i + 50))).status).toBe(202);

    await replica.kill();
    // One request per API process: WAIT holds the process's Redis connection, and a request sent after
    // it would wait behind it, neither claimed nor staged.
    const cutOff = [usageEvents('batch', 300, users), usageEvents('single', 1, users)];
    for (const [i, events] of cutOff.entries()) {
      if (i > 0) api = await stack.api();
      const answer = record.send(api.base, events);
      // The workers apply what is staged, whether anybody was answered or not.
      await waitUntilSettled(stack.db, events.map((e) => e.idempotencyKey), 20_000);
      api.process.child.kill('SIGKILL');
      expect((await answer).status).toBe(0);
    }

    await replica.start();
    await waitFor(replicaFollows, 'the restarted replica to follow its master again');
    const fresh = await stack.api();
    const [batch, single] = await Promise.all(record.takeUnanswered().map((events) => record.send(fresh.base, events)));
    expect(record.refused).toEqual([]);
    // A settled event sent again is answered as what it became.
    expect(batch!.body.results.filter((r: { status: string }) => r.status !== 'applied')).toEqual([]);
    expect(single!.body).toEqual({ status: 'queued', idempotencyKey: cutOff[1]![0]!.idempotencyKey });
    await stack.expectChargedOnce();
  });
});
