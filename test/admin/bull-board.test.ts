import { createHash } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { ADMIN_KEY, API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';

const fingerprint = `admin-key:${createHash('sha256').update(ADMIN_KEY).digest('hex').slice(0, 12)}`;

describe('bull-board: usage and payments cannot be removed or forged there; every other change is audited', () => {
  const iso = isolation();
  let api: RunningEngine;
  let workers: RunningEngine | undefined;
  let baseUrl = '';
  const board = (method: string, path: string, body?: unknown) => call<any>(baseUrl, ADMIN_KEY, method, `/admin/queues/api/queues${path}`, body);
  const auditLog = async () => (await call<any>(baseUrl, ADMIN_KEY, 'GET', '/admin/api/audit')).body.entries as any[];
  /** Starts workers until `userId` has used `tokens` (what waited in the queue is applied), then stops them. */
  const appliedByWorkers = async (userId: string, tokens: number) => {
    workers = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'workers', TOKENS_METRICS_PORT: '0' }), createLogger('error'));
    const account = await waitFor(async () => {
      const r = await call<any>(baseUrl, API_KEY, 'GET', `/v1/accounts/${userId}`);
      return r.body.usedThisPeriod === tokens ? r.body : undefined;
    }, `${tokens} tokens of ${userId}'s accepted uses to be applied`);
    await workers.stop();
    workers = undefined;
    return account;
  };
  const waitingIds = async (queue: 'usage' | 'payment' | 'scheduled') => (await api.engine.queues[queue].getJobs(['waiting'])).map((j) => j.id ?? '').sort();

  beforeAll(async () => {
    // An API without workers: what it accepts waits staged, and in the queues once moved, where bull-board could reach it.
    api = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'api' }), createLogger('error'));
    baseUrl = `http://127.0.0.1:${api.port}`;
    await call(baseUrl, ADMIN_KEY, 'POST', '/admin/api/clock', { now: '2026-12-01T09:00:00Z' });
  });
  afterAll(async () => {
    await workers?.stop();
    await api.stop();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('every change to the usage and payment queues is refused with 405, and the accepted usage is applied all the same', async () => {
    await call(baseUrl, API_KEY, 'POST', '/v1/accounts', { userId: 'kept', plan: 'monthly_pro' });
    const events = Array.from({ length: 5 }, (_, i) => ({ userId: 'kept', feature: 'resume_upload', idempotencyKey: `kept-${i}` }));
    expect((await call(baseUrl, API_KEY, 'POST', '/v1/usage/batch', { events })).status).toBe(202);
    // What a workers process's mover does with staged events before its worker would apply them.
    expect(await api.engine.stageMover.moveOnce()).toBe(events.length);
    const usageJobs = await waitFor(async () => {
      const ids = await waitingIds('usage');
      return ids.length > 0 ? ids : undefined;
    }, 'the usage job');
    const [jobId] = usageJobs;

    for (const queue of ['usage', 'payment']) {
      const attempts: Array<[string, string, unknown?]> = [
        ['PUT', `/${queue}/clean/wait`],
        ['PUT', `/${queue}/clean/completed`],
        ['PUT', `/${queue}/empty`],
        ['PUT', `/${queue}/obliterate`, { force: true }],
        ['PUT', `/${queue}/pause`],
        ['PUT', `/${queue}/retry/failed`],
        ['PUT', `/${queue}/${jobId}/clean`],
        ['PUT', `/${queue}/${jobId}/retry`],
        ['PATCH', `/${queue}/${jobId}/update-data`, { jobData: { events: [] } }],
        ['POST', `/${queue}/add`, { name: 'usage', data: { events: [{ userId: 'kept', feature: 'resume_upload', idempotencyKey: 'forged', occurredAt: '2026-12-01T09:00:00Z' }] } }],
      ];
      for (const [method, path, body] of attempts) {
        const r = await board(method, path, body);
        expect({ method, path, status: r.status, error: r.body.error }).toEqual({ method, path, status: 405, error: { key: 'ERRORS.QUEUE_READ_ONLY' } });
      }
    }
    // Pausing every queue at once leaves these two running.
    expect((await board('PUT', '/pause')).status).toBe(200);
    expect(await api.engine.queues.usage.isPaused()).toBe(false);
    expect(await api.engine.queues.payment.isPaused()).toBe(false);
    expect(await api.engine.queues.scheduled.isPaused()).toBe(true);
    expect((await board('PUT', '/resume')).status).toBe(200);

    expect(await waitingIds('usage')).toEqual(usageJobs);
    expect(await waitingIds('payment')).toEqual([]);
    expect((await auditLog()).map((e) => e.action)).toEqual(['bull-board.queues.resume', 'bull-board.queues.pause']);

    expect(await appliedByWorkers('kept', 15)).toMatchObject({ balance: 85 });
    expect((await call<any>(baseUrl, API_KEY, 'GET', '/v1/usage/forged')).status).toBe(404);
  });

  it('a failed usage job is sent back to the workers through the admin API, audited, and applied once', async () => {
    await call(baseUrl, API_KEY, 'POST', '/v1/accounts', { userId: 'unlucky', plan: 'monthly_pro' });
    const events = Array.from({ length: 3 }, (_, i) => ({ userId: 'unlucky', feature: 'resume_upload', idempotencyKey: `unlucky-${i}` }));
    expect((await call(baseUrl, API_KEY, 'POST', '/v1/usage/batch', { events })).status).toBe(202);
    expect(await api.engine.stageMover.moveOnce()).toBe(events.length);
    // A worker that gives up on the job, as one does when it outlived its retries while PostgreSQL was away.
    const doomed = new Worker('usage', async () => {
      throw new UnrecoverableError('PostgreSQL was away for too long');
    }, { connection: api.engine.workerConnection, prefix: iso.prefix });
    await waitFor(async () => (await api.engine.queues.usage.getFailedCount()) > 0, 'the usage job to fail');
    await doomed.close();
    expect((await call<any>(baseUrl, API_KEY, 'GET', '/v1/usage/unlucky-0')).body.status).toBe('queued');
    const failed = await api.engine.queues.usage.getFailedCount();

    const retried = await call<any>(baseUrl, ADMIN_KEY, 'POST', '/admin/api/queues/usage/retry-failed');
    expect(retried).toEqual({ status: 202, body: { status: 'queued', queue: 'usage', retried: failed } });
    expect(await api.engine.queues.usage.getFailedCount()).toBe(0);
    expect((await auditLog())[0]).toMatchObject({ actor: fingerprint, action: 'queue.retry-failed', subject: 'queue:usage', before: { failed }, after: { retried: failed } });

    expect(await appliedByWorkers('unlucky', 9)).toMatchObject({ balance: 91 });
  });

  it('a job added by hand must look like the engine\'s own: a known job, no future asOf, no id of its own', async () => {
    const before = await auditLog();
    const refusals: Array<[unknown, number, string]> = [
      [{ name: 'holds', data: { name: 'holds', asOf: '2030-01-01T00:00:00Z' } }, 400, 'as_of_in_future'],
      [{ name: 'holds', data: { name: 'holds', asOf: '2026-12-01T09:00:01Z' } }, 400, 'as_of_in_future'],
      [{ name: 'teleport', data: { name: 'teleport' } }, 400, 'validation_failed'],
      [{ name: 'holds', data: { name: 'holds', asOf: 'tomorrow' } }, 400, 'validation_failed'],
      [{ name: 'holds', data: { name: 'holds' }, options: { jobId: 'holds-2026-12-01T0900' } }, 400, 'validation_failed'],
      [{ name: 'holds', data: { name: 'holds' }, options: { repeat: { every: 1000 } } }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of refusals) {
      const r = await board('POST', '/scheduled/add', body);
      expect({ body, status: r.status, code: r.body.error?.code }).toEqual({ body, status, code });
    }
    const renewal = await board('POST', '/renewal/add', { name: 'renew', data: { userId: 'kept', periodIndex: 1, asOf: '2027-01-01T00:00:00Z' } });
    expect(renewal).toMatchObject({ status: 400, body: { error: { code: 'as_of_in_future' } } });
    const notification = await board('POST', '/notification/add', { name: 'deliver', data: { deliveryId: 'all' } });
    expect(notification).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });

    expect(await waitingIds('scheduled')).toEqual([]);
    expect(await api.engine.queues.renewal.count()).toBe(0);
    expect(await api.engine.queues.notification.count()).toBe(0);
    expect(await auditLog()).toEqual(before);
  });

  it('adding, removing and cleaning jobs of the other queues is audited: who, what, which queue or job, and what was there', async () => {
    const added = await board('POST', '/scheduled/add', { name: 'rollups', data: { name: 'rollups', asOf: '2026-12-01T09:00:00Z' }, options: { delay: 60_000 } });
    expect(added.status).toBe(200);
    const addedId = added.body.job.id;
    for (const name of ['alerts', 'rollups']) expect((await call(baseUrl, ADMIN_KEY, 'POST', `/admin/api/jobs/${name}/run`, {})).status).toBe(202);

    expect((await board('PUT', `/scheduled/${addedId}/clean`)).status).toBe(204);
    expect((await board('PUT', '/scheduled/empty')).status).toBe(200);
    expect(await api.engine.queues.scheduled.count()).toBe(0);
    // bull-board refuses what does not exist: nothing happened, so nothing is recorded.
    expect((await board('PUT', '/scheduled/no-such-job/clean')).status).toBe(404);

    const [emptied, removed, add] = (await auditLog()).slice(0, 3);
    expect(add).toMatchObject({
      actor: fingerprint,
      action: 'bull-board.queue.add',
      subject: 'queue:scheduled',
      before: { counts: { waiting: 0, delayed: 0 } },
      after: { status: 200, params: { queueName: 'scheduled' }, body: { name: 'rollups', data: { name: 'rollups', asOf: '2026-12-01T09:00:00Z' } } },
    });
    expect(removed).toMatchObject({
      actor: fingerprint,
      action: 'bull-board.job.clean',
      subject: `queue:scheduled/job:${addedId}`,
      before: { job: { id: addedId, name: 'rollups', state: 'delayed', data: { name: 'rollups', asOf: '2026-12-01T09:00:00Z' } } },
      after: { status: 204 },
    });
    expect(emptied).toMatchObject({
      actor: fingerprint,
      action: 'bull-board.queue.empty',
      subject: 'queue:scheduled',
      before: { counts: { waiting: 2 } },
      after: { status: 200, params: { queueName: 'scheduled' } },
    });
    expect(JSON.stringify(await auditLog())).not.toContain(ADMIN_KEY);
  });
});
