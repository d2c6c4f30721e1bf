import cron from 'node-cron';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, startScheduler } from '../../src/jobs/scheduler.js';
import { scheduledJobs } from '../../src/jobs/scheduled-jobs.js';
import { jobFinished, startTestEngine, type TestEngine } from '../support/engine.js';

describe('the scheduler: node-cron ticks it, and a run missed while no scheduler was up fires at the next tick', () => {
  let engine: TestEngine;
  const nightly = { reconcile: scheduledJobs.reconcile! }; // 03:17 UTC every day
  const run = (slot: string) => ({ job: 'reconcile', slot, jobId: `reconcile-${slot.replaceAll(':', '')}` });
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(async () => engine?.stop());

  it('the nightly reconcile missed while the engine was down at 03:17 runs at the next tick, once', async () => {
    const before = createScheduler(engine.running.engine, nightly);
    expect(await before.tick(new Date('2026-12-01T03:17:00Z'))).toEqual([run('2026-12-01T03:17:00.000Z')]);
    expect(await before.tick(new Date('2026-12-01T03:18:00Z'))).toEqual([]);
    await before.stop();

    // Down from 03:00 to 05:00 on the 2nd: the scheduler that starts again fires the run it missed.
    const after = createScheduler(engine.running.engine, nightly);
    expect(await after.tick(new Date('2026-12-02T05:00:00Z'))).toEqual([run('2026-12-02T03:17:00.000Z')]);
    expect(await after.tick(new Date('2026-12-02T05:01:00Z'))).toEqual([]);
    // Another scheduler starting now finds it fired.
    expect(await createScheduler(engine.running.engine, nightly).tick(new Date('2026-12-02T05:02:00Z'))).toEqual([]);
    await after.stop();

    const queue = engine.running.engine.queues.scheduled;
    for (const { jobId } of [run('2026-12-01T03:17:00.000Z'), run('2026-12-02T03:17:00.000Z')]) {
      expect(await jobFinished(queue, jobId, jobId)).toMatchObject({ violations: [] });
    }
  });

  it('after days down, only the latest missed run fires', async () => {
    const scheduler = createScheduler(engine.running.engine, nightly);
    expect(await scheduler.tick(new Date('2026-12-05T10:00:00Z'))).toEqual([run('2026-12-05T03:17:00.000Z')]);
    await scheduler.stop();
  });

  it('a running scheduler fires each run at its minute, and one whose tick it missed at the next tick', async () => {
    const scheduler = createScheduler(engine.running.engine, { campaigns: scheduledJobs.campaigns! }); // every 5 minutes
    const fired = async (at: string) => (await scheduler.tick(new Date(at))).map((r) => r.slot);
    expect(await fired('2026-12-06T10:00:00Z')).toEqual(['2026-12-06T10:00:00.000Z']);
    expect(await fired('2026-12-06T10:01:00Z')).toEqual([]);
    expect(await fired('2026-12-06T10:04:00Z')).toEqual([]);
    // The 10:05 tick never came (the process was busy): 10:06 fires it.
    expect(await fired('2026-12-06T10:06:00Z')).toEqual(['2026-12-06T10:05:00.000Z']);
    expect(await fired('2026-12-06T10:07:00Z')).toEqual([]);
    await scheduler.stop();
  });

  it('node-cron is the trigger: its every-minute task ticks the scheduler', async () => {
    const scheduler = startScheduler(engine.running.engine, { holds: scheduledJobs.holds! });
    try {
      const task = [...cron.getTasks().values()].find((t) => t.name === 'tokens-scheduler');
      expect(task?.getPattern()).toBe('* * * * *');
      const fired = (await task!.execute()) as Array<{ job: string; jobId: string }>;
      expect(fired.map((r) => r.job)).toEqual(['holds']);
      expect(await jobFinished(engine.running.engine.queues.scheduled, fired[0]!.jobId, 'the holds run')).toMatchObject({ holdsExpired: 0 });
    } finally {
      await scheduler.stop();
    }
    expect([...cron.getTasks().values()].some((t) => t.name === 'tokens-scheduler')).toBe(false);
  });
});
