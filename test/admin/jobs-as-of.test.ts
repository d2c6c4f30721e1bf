import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, type TestEngine } from '../support/engine.js';

describe('running a job as of a moment that has not come is refused', () => {
  let engine: TestEngine;
  const now = '2026-12-01T09:00:00.000Z';
  const account = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body;
  const scheduledJobs = async () => Object.values(await engine.running.engine.queues.scheduled.getJobCounts()).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock(now);
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('every job, holds, renewals and campaigns included, answers 400 as_of_in_future to an asOf after the engine\'s now, and nothing is queued', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'holder', plan: 'monthly_pro' });
    const hold = await engine.api('POST', '/v1/check', { userId: 'holder', feature: 'resume_upload', reserve: true, ttlSeconds: 600 });
    expect(hold.body).toMatchObject({ allowed: true });
    const grant = await engine.admin('POST', '/admin/api/accounts/holder/grants', { tokens: 40, reason: 'goodwill', expiresAt: '2026-12-10T00:00:00Z' });
    expect(grant.status).toBe(201);
    const campaign = await engine.admin('PUT', '/admin/api/campaigns/winter', {
      name: 'Winter bonus',
      bonus: { tokens: 25 },
      startsAt: '2026-12-20T00:00:00Z',
      endsAt: '2027-01-10T00:00:00Z',
    });
    expect(campaign.status).toBe(200);
    const before = await account('holder');
    const audit = (await engine.admin('GET', '/admin/api/audit')).body.entries;
    expect(before).toMatchObject({ balance: 137, held: 3 });

    const jobs: string[] = (await engine.admin('GET', '/admin/api/jobs')).body.jobs.map((j: any) => j.name);
    expect(jobs).toEqual(expect.arrayContaining(['holds', 'renewals', 'campaigns', 'pricing', 'rollups', 'notifications', 'warnings', 'alerts', 'reconcile']));
    for (const name of jobs) {
      for (const asOf of ['2030-01-01T00:00:00Z', '2026-12-01T09:00:00.001Z', '2026-12-01T11:00:00+01:00']) {
        const r = await engine.admin('POST', `/admin/api/jobs/${name}/run`, { asOf });
        expect({ name, asOf, status: r.status, code: r.body.error?.code }).toEqual({ name, asOf, status: 400, code: 'as_of_in_future' });
      }
    }
    const refused = await engine.admin('POST', '/admin/api/jobs/holds/run', { asOf: '2030-01-01T00:00:00Z' });
    expect(refused.body.error).toEqual({
      code: 'as_of_in_future',
      message: `asOf 2030-01-01T00:00:00.000Z is after the engine's now (${now})`,
      details: { asOf: '2030-01-01T00:00:00.000Z', now },
    });

    expect(await scheduledJobs()).toBe(0);
    expect(await account('holder')).toEqual(before);
    expect((await engine.admin('GET', '/admin/api/audit')).body.entries).toEqual(audit);
  });

  it('an asOf at the engine\'s now or before it runs, and leaves what is not yet due alone', async () => {
    const before = await account('holder');
    expect(await runJob(engine, 'holds', now)).toEqual({ holdsExpired: 0, tokensExpired: 0 });
    expect(await runJob(engine, 'campaigns', '2026-11-30T00:00:00Z')).toEqual({ granted: {} });
    expect(await account('holder')).toEqual(before);
  });
});
