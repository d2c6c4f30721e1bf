import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, closeEngine, type Engine } from '../../src/engine.js';
import { createLogger } from '../../src/log.js';
import { createScheduler, type Scheduler } from '../../src/jobs/scheduler.js';
import { scheduledJobs } from '../../src/jobs/scheduled-jobs.js';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

describe('two schedulers: each renewal is allocated once', () => {
  let engine: TestEngine;
  // A second engine's own connections to the same database and Redis, as a second scheduler process has.
  let second: Engine;
  let schedulers: Scheduler[] = [];
  const users = ['ivy', 'jon', 'kim', 'lou', 'max', 'ned'];
  const scheduled = Object.entries(scheduledJobs).flatMap(([name, def]) => (def.cron ? [name] : []));

  beforeAll(async () => {
    engine = await startTestEngine();
    second = await createEngine(engine.config, createLogger('error'));
    schedulers = [createScheduler(engine.running.engine), createScheduler(second)];
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    if (second) await closeEngine(second);
    await engine?.stop();
  });

  it('the same minute ticking in both schedulers fires every schedule once and renews every ended period once', async () => {
    await engine.setClock('2027-01-05T00:00:00Z');
    for (const userId of users) {
      expect((await engine.api('POST', '/v1/accounts', { userId, plan: 'monthly_pro' })).status).toBe(201);
    }
    await engine.setClock('2027-02-05T00:00:00Z');

    // Both tick the same minute at once, as two processes' node-cron would.
    const minute = new Date('2027-02-05T00:00:00Z');
    const fired = (await Promise.all(schedulers.map((s) => s.tick(minute)))).flat();
    expect(fired.map((r) => r.job).sort()).toEqual([...scheduled].sort());
    expect(fired.find((r) => r.job === 'renewals')).toEqual({ job: 'renewals', slot: '2027-02-05T00:00:00.000Z', jobId: 'renewals-2027-02-05T000000.000Z' });

    const renewed = await waitFor(async () => {
      const accounts = await Promise.all(users.map((u) => engine.api('GET', `/v1/accounts/${u}`)));
      return accounts.every((a) => a.body.period.start === '2027-02-05T00:00:00.000Z') ? accounts.map((a) => a.body) : undefined;
    }, 'the scheduled renewals to renew every account');
    expect(renewed.every((a) => a.balance === 100 && a.allocatedThisPeriod === 100)).toBe(true);

    for (const userId of users) {
      const entries = (await engine.api('GET', `/v1/accounts/${userId}/ledger`)).body.entries;
      expect(entries.filter((e: any) => e.kind === 'grant').map((e: any) => e.occurredAt)).toEqual([
        '2027-02-05T00:00:00.000Z',
        '2027-01-05T00:00:00.000Z',
      ]);
    }
    const jobs = await engine.running.engine.queues.renewal.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
    expect(jobs.map((j) => j.id ?? '').sort()).toEqual(users.map((u) => `renewal-${u}-0`));

    // The same minute again fires nothing; the next fires what runs every minute, once.
    expect((await Promise.all(schedulers.map((s) => s.tick(minute)))).flat()).toEqual([]);
    const next = (await Promise.all(schedulers.map((s) => s.tick(new Date('2027-02-05T00:01:00Z'))))).flat();
    expect(next.map((r) => r.job).sort()).toEqual(scheduled.filter((name) => scheduledJobs[name]!.cron === '* * * * *').sort());
  });
});
