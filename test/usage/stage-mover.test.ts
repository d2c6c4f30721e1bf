import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StageMover, type StageMoverOptions } from '../../src/usage/stage-mover.js';
import { UsageStage } from '../../src/usage/usage-stage.js';
import type { QueuedUsageEvent } from '../../src/usage/usage-event.js';
import { cleanup, isolation, waitFor } from '../support/engine.js';

/**
 * The mover's lease, move by move, on a real Redis and a real queue: a mover whose jobs are held up
 * (its addBulk waits for the test) stands for one that stalled between reading the head of the staged
 * list and dropping it, for as long as the test likes.
 */
describe('the staged-usage mover and its lease', () => {
  const iso = isolation();
  let redis: Redis;
  let queue: Queue;
  let stage: UsageStage;

  const options = (leaseMs: number): StageMoverOptions => ({ shards: 2, maxEvents: 500, maxWaitMs: 2, leaseMs });
  const events = (tag: string, count: number): QueuedUsageEvent[] =>
    Array.from({ length: count }, (_, i) => ({
      userId: `user-${i % 3}`,
      feature: 'profile_basic',
      idempotencyKey: `${tag}-${i}`,
      occurredAt: '2026-12-01T09:00:00.000Z',
      payloadHash: `hash-${tag}-${i}`,
    }));
  const keysOf = (list: QueuedUsageEvent[]) => list.map((e) => e.idempotencyKey);
  const stagedKeys = async () => (await redis.lrange(stage.keys.staged, 0, -1)).map((raw) => (JSON.parse(raw) as QueuedUsageEvent).idempotencyKey);
  /** How many jobs carry each key. */
  const inJobs = async () => {
    const copies = new Map<string, number>();
    for (const job of await queue.getJobs(['waiting'], 0, -1)) {
      for (const e of (job.data as { events: QueuedUsageEvent[] }).events) copies.set(e.idempotencyKey, (copies.get(e.idempotencyKey) ?? 0) + 1);
    }
    return Object.fromEntries([...copies].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
  };
  const copies = (list: QueuedUsageEvent[], n: number) => Object.fromEntries(keysOf(list).map((k) => [k, n]));
  /** A queue whose addBulk waits until `release` is called: the mover holding it is stuck inside its move. */
  const heldQueue = () => {
    let release!: () => void;
    let entered!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (entered = resolve));
    const held = Object.create(queue) as Queue;
    held.addBulk = async (jobs) => {
      entered();
      await released;
      return queue.addBulk(jobs);
    };
    return { queue: held, reached, release };
  };
  const leaseGone = () => waitFor(async () => (await redis.exists(stage.keys.lease)) === 0, "the stalled mover's lease to run out");

  beforeAll(() => {
    redis = new Redis(iso.redisUrl);
    queue = new Queue('usage', { connection: { url: iso.redisUrl }, prefix: iso.prefix });
    stage = new UsageStage(redis, iso.prefix);
  });
  afterEach(async () => {
    await queue.obliterate({ force: true });
    await redis.del(stage.keys.staged, stage.keys.lease, stage.keys.backlog);
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('drops only the head it moved: events staged during its move stay staged for the next', async () => {
    const held = heldQueue();
    const holding = new StageMover(redis, held.queue, stage.keys, options(5000));
    const early = events('early', 5);
    await stage.stage(early);
    const move = holding.moveOnce();
    await held.reached;
    const during = events('during', 3);
    await stage.stage(during);
    held.release();
    expect(await move).toBe(5);
    expect(await stagedKeys()).toEqual(keysOf(during));
    expect(await inJobs()).toEqual(copies(early, 1));
  });

  it('stalled past its lease: a successor takes over, and the stalled mover, resumed, drops nothing the successor has not moved', async () => {
    const held = heldQueue();
    const stalled = new StageMover(redis, held.queue, stage.keys, options(200));
    const successor = new StageMover(redis, queue, stage.keys, options(5000));
    const first = events('first', 10);
    await stage.stage(first);
    const stalledMove = stalled.moveOnce();
    await held.reached; // it has read the head and is adding its jobs

    // While its lease lives, nobody else moves.
    expect(await successor.moveOnce()).toBeNull();
    await leaseGone();
    const second = events('second', 5);
    await stage.stage(second);
    expect(await successor.moveOnce()).toBe(15);
    const unmoved = events('unmoved', 4);
    await stage.stage(unmoved);

    // The stalled mover's jobs go in (a second copy of `first`: the worker settles each key once), but
    // its drop is refused: the list's head is no longer the one it read.
    held.release();
    expect(await stalledMove).toBe(10);
    expect(await stagedKeys()).toEqual(keysOf(unmoved));
    expect(await stalled.moveOnce()).toBeNull();

    expect(await successor.moveOnce()).toBe(4);
    expect(await stagedKeys()).toEqual([]);
    expect(await inJobs()).toEqual({ ...copies(first, 2), ...copies(second, 1), ...copies(unmoved, 1) });
  });

  // A lease that ran out may have been taken, used and handed back meanwhile (a successor that stopped):
  // the list's head is then not the one read, and nothing tells the stalled mover so but its own token.
  it('stalled past its lease with nobody holding it now: it drops nothing, and its next move adds the same head again', async () => {
    const held = heldQueue();
    const stalled = new StageMover(redis, held.queue, stage.keys, options(200));
    const head = events('head', 6);
    await stage.stage(head);
    const stalledMove = stalled.moveOnce();
    await held.reached;
    await leaseGone();
    held.release();
    expect(await stalledMove).toBe(6);
    expect(await stagedKeys()).toEqual(keysOf(head));

    expect(await stalled.moveOnce()).toBe(6);
    expect(await stagedKeys()).toEqual([]);
    expect(await inJobs()).toEqual(copies(head, 2));
  });
});
