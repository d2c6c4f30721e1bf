import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageKeys } from '../../src/usage/usage-stage.js';
import { cleanup, isolation, waitFor } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { expectAppliedExactlyOnce, faultTimeouts, openDb, startEngineProcess, usageDrained, usageEvents, UsageRecord, waitUntilSettled, openFundedAccounts } from './settlement.js';

/** What a mover's lease lives without renewal (StageMover's default); a standby looks for it every fifth of that. */
const LEASE_MS = 5000;

describe('the usage mover of a workers process killed or stalled while events are staged', faultTimeouts, () => {
  const iso = isolation();
  const users = ['moe-0', 'moe-1', 'moe-2', 'moe-3', 'moe-4', 'moe-5'];
  const keys = stageKeys(iso.prefix);
  const processes: EngineProcess[] = [];
  const record = new UsageRecord();
  const start: Record<string, number> = {};
  // A killed or stopped worker's jobs are handed over once their 2-second lock expires, not after BullMQ's 30.
  const env = { ...iso.env, TOKENS_TEST_CLOCK: 'off', TOKENS_WORKER_LOCK_MS: '2000', TOKENS_BATCH_MAX_EVENTS: '200' };
  let redis: Redis;
  let queue: Queue;
  let db: pg.Client;
  let base = '';
  let first: EngineProcess;
  let second: EngineProcess;

  const workers = async () => {
    const p = await startEngineProcess({ ...env, TOKENS_ROLES: 'workers' });
    processes.push(p);
    return p;
  };
  /** The lease's holder (a mover's token) and the events staged, read together. */
  const moverState = async () => {
    const [[, holder], [, staged]] = (await redis.multi().get(keys.lease).llen(keys.staged).exec()) as [[null, string | null], [null, number]];
    return { holder, staged };
  };
  /**
   * Resumes the stopped holder and stops it again inside a move: once it has read a head (its lease was
   * renewed) and before it dropped it (nothing left the list since). A stop that came a moment too late
   * (the head already dropped) resumes it and tries at its next move. Returns what was staged then.
   */
  const stopMidMove = async (holder: EngineProcess) => {
    const sample = async () => {
      const [[, ttl], [, staged]] = (await redis.multi().pttl(keys.lease).llen(keys.staged).exec()) as [[null, number], [null, number]];
      return { ttl, staged };
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      holder.child.kill('SIGCONT');
      let last = await sample();
      const deadline = Date.now() + 5000;
      for (;;) {
        const now = await sample();
        if (now.staged === last.staged && now.ttl > last.ttl) break; // a head read since the last sample, and not dropped yet
        if (Date.now() > deadline) throw new Error(`the holder made no move: ${JSON.stringify(now)}`);
        last = now;
      }
      holder.child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 50)); // for a command it had sent before the stop to be run
      const after = await sample();
      if (after.staged === last.staged) return after;
    }
    throw new Error('the holder could not be stopped inside a move');
  };
  /** Every event answered 202 is charged once, read once every copy of a job added twice has run. */
  const expectChargedOnce = async () => {
    await waitUntilSettled(db, record.accepted.map((e) => e.idempotencyKey));
    await waitFor(() => usageDrained(redis, queue), 'the staged events and their jobs to be worked off', 30_000);
    await expectAppliedExactlyOnce(db, record, start);
  };
  /** Two callers sending single events and batches of 50, a request every 40 ms each, until stopped. */
  const stream = (tag: string) => {
    let stopped = false;
    const caller = async (lane: number) => {
      for (let n = 0; !stopped; n++) {
        await record.send(base, usageEvents(`${tag}.${lane}.${n}`, n % 2 === 0 ? 1 : 50, users));
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    const callers = Promise.all([caller(0), caller(1)]);
    return async () => {
      stopped = true;
      await callers;
    };
  };

  beforeAll(async () => {
    const api = await startEngineProcess({ ...env, TOKENS_ROLES: 'api' });
    processes.push(api);
    base = `http://127.0.0.1:${api.port}`;
    redis = new Redis(iso.redisUrl);
    queue = new Queue('usage', { connection: { url: iso.redisUrl }, prefix: iso.prefix });
    db = await openDb(iso.databaseUrl);
    // The first workers process takes the lease (it renews it at every move, idle or not); the second waits for it.
    first = await workers();
    await waitFor(async () => (await moverState()).holder, 'the first mover to take the lease');
    second = await workers();
    await openFundedAccounts(base, users, 50_000, start);
  });
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGCONT');
    await queue?.close();
    redis?.disconnect();
    await db?.end();
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('the holder killed: the events staged meanwhile wait, the other process takes the lease within its life and a second, and each is applied once', async () => {
    const { holder: dead } = await moverState();
    const stop = stream('k');
    await waitFor(async () => record.accepted.length >= 200, 'usage to flow');
    await first.stop('SIGKILL');
    const killedAt = Date.now();

    // Until the dead holder's lease runs out, nobody moves: the staged events only pile up.
    const piled: number[] = [];
    const successor = await waitFor(
      async () => {
        const { holder, staged } = await moverState();
        if (holder === dead) piled.push(staged);
        return holder !== dead && holder !== null ? holder : undefined;
      },
      'the other mover to take the lease',
      LEASE_MS + 5000,
    );
    const tookOver = Date.now() - killedAt;
    await stop();
    expect(piled.some((n) => n > 0)).toBe(true);
    expect(piled.every((n, i) => i === 0 || n >= piled[i - 1]!), `staged while the dead lease lasted: ${piled.join(' ')}`).toBe(true);
    expect(tookOver).toBeGreaterThan(LEASE_MS - 1000);
    expect(tookOver).toBeLessThan(LEASE_MS + LEASE_MS / 5 + 1000);
    expect(record.refused).toEqual([]);
    await expectChargedOnce();
    expect((await moverState()).holder).toBe(successor);
  });

  it('the holder stalled mid-move past its lease: the successor moves on, and the stalled one, resumed, drops nothing the successor has not moved', async () => {
    const stalledToken = (await moverState()).holder!;
    const third = await workers();

    // A pile for the holder to work through in many moves (200 events × 4 shards each), staged while it is stopped.
    second.child.kill('SIGSTOP');
    for (let i = 0; i < 6; i++) expect((await record.send(base, usageEvents(`pile.${i}`, 1000, users))).status).toBe(202);
    const piled = await moverState();
    expect(piled).toEqual({ holder: stalledToken, staged: 6000 });
    // Let it work through the pile, and stop it again between reading a head and dropping it.
    const head = await stopMidMove(second);
    expect(head.staged).toBeGreaterThan(0);

    // Its lease runs out while it is stopped; the third process takes over and moves the rest of the pile.
    const successor = await waitFor(
      async () => {
        const { holder } = await moverState();
        return holder !== stalledToken && holder !== null ? holder : undefined;
      },
      'the third mover to take the lease',
      LEASE_MS + 5000,
    );
    await waitFor(async () => (await moverState()).staged === 0, 'the successor to move the pile');
    // The successor stopped in turn, with events staged that nobody has moved: its lease holds for a few seconds more.
    third.child.kill('SIGSTOP');
    const late = [usageEvents('late.batch', 300, users), ...usageEvents('late.single', 5, users).map((e) => [e])];
    for (const events of late) expect((await record.send(base, events)).status).toBe(202);
    expect(await moverState()).toEqual({ holder: successor, staged: 305 });

    // The stalled mover resumes and finishes its move. Its lease is gone: it must not drop the head it
    // read from a list that holds other events now. It takes the lease back once the successor's runs out.
    second.child.kill('SIGCONT');
    const seen: Array<{ holder: string | null; staged: number }> = [];
    await waitFor(
      async () => {
        const state = await moverState();
        if (state.holder === stalledToken) return true;
        seen.push(state);
        return false;
      },
      'the resumed mover to take the lease back',
      LEASE_MS + 5000,
    );
    expect(seen.filter((s) => s.staged !== 305), 'staged events dropped while the resumed mover held no lease').toEqual([]);
    third.child.kill('SIGCONT');
    await expectChargedOnce();
  });
});
