import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';
import { spawnEngine, type EngineProcess } from '../support/processes.js';
import { startWebhookReceiver, webhookSecret } from './receivers.js';

describe('a worker killed between the debit and the delivery: the warning still arrives, once', () => {
  const iso = isolation();
  const secret = webhookSecret();
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let apiProcess: EngineProcess;
  const workers: EngineProcess[] = [];
  let base = '';
  let queue: Queue;
  let env: Record<string, string>;
  const api = (method: string, path: string, body?: unknown) => call<any>(base, API_KEY, method, path, body);
  const admin = (method: string, path: string, body?: unknown) => call<any>(base, ADMIN_KEY, method, path, body);

  const spend = async (key: string, feature: string) => {
    await api('POST', '/v1/usage', { userId: 'kat', feature, idempotencyKey: key });
    await waitFor(async () => (await api('GET', `/v1/usage/${key}`)).body.status === 'applied', `${key} to be applied`);
  };
  /** The warning's delivery was tried and refused, and its job now waits in Redis for the next attempt. */
  const refusedAndWaiting = async (level: number) => {
    const n = await waitFor(async () => {
      const list = (await admin('GET', '/admin/api/notifications?userId=kat')).body.notifications;
      return list.find((x: any) => x.data.level === level && x.deliveries[0].attempts >= 1);
    }, `the ${level}% warning to be refused once`);
    const jobId = `delivery-${n.deliveries[0].id}-0`;
    await waitFor(async () => (await queue.getJobState(jobId)) === 'delayed', 'its retry to be scheduled');
    return n.id as string;
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret, () => 503);
    env = {
      ...iso.env,
      TOKENS_NOTIFY_WEBHOOK_URL: receiver.url,
      TOKENS_NOTIFY_WEBHOOK_SECRET: secret,
      // Long enough that the refused delivery sits delayed in Redis while its worker is killed.
      TOKENS_NOTIFY_BACKOFF_MS: '1500',
    };
    apiProcess = await spawnEngine({ ...env, TOKENS_ROLES: 'api' });
    base = `http://127.0.0.1:${apiProcess.port}`;
    workers.push(await spawnEngine({ ...env, TOKENS_ROLES: 'workers' }));
    queue = new Queue('notification', { connection: { url: iso.redisUrl }, prefix: iso.prefix });
    expect((await api('POST', '/v1/accounts', { userId: 'kat', plan: 'monthly_pro' })).status).toBe(201);
  });
  afterAll(async () => {
    await queue?.close();
    await Promise.all([apiProcess, ...workers].filter(Boolean).map((p) => p.stop()));
    await receiver?.close();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('killed while the delivery waits to be retried: the next worker process delivers it once', async () => {
    for (const k of ['k-1', 'k-2', 'k-3']) await spend(k, '22_Mentorship_Marketplace.py'); // 90 of 100
    const id = await refusedAndWaiting(90);
    await workers[0]!.stop('SIGKILL');

    receiver.answerWith(() => 200);
    workers.push(await spawnEngine({ ...env, TOKENS_ROLES: 'workers' }));
    await waitFor(async () => receiver.acknowledged().length === 1, 'the 90% warning');
    expect(receiver.acknowledged()[0]).toMatchObject({ id, verified: true, body: { data: { level: 90 } } });
  });

  it('killed, and its queue job lost as well: the sweep finds the outbox row and delivers it once', async () => {
    receiver.answerWith(() => 503);
    await spend('k-4', '23_Tailored_CV_Generator.py'); // 95 of 100
    const id = await refusedAndWaiting(95);
    await workers[1]!.stop('SIGKILL');
    // What a crash between the commit and the enqueue, or a Redis that lost the job, leaves behind.
    await queue.obliterate({ force: true });

    receiver.answerWith(() => 200);
    workers.push(await spawnEngine({ ...env, TOKENS_ROLES: 'workers' }));
    const run = await admin('POST', '/admin/api/jobs/notifications/run', {});
    expect(run.status).toBe(202);
    await waitFor(async () => receiver.acknowledged().length === 2, 'the 95% warning');
    expect(receiver.acknowledged()[1]).toMatchObject({ id, verified: true, body: { data: { level: 95 } } });
    const ids = receiver.acknowledged().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    await waitFor(async () => {
      const outbox = (await admin('GET', '/admin/api/notifications?userId=kat')).body.notifications;
      return outbox.flatMap((n: any) => n.deliveries).every((d: any) => d.status === 'delivered' && d.attempts === 2);
    }, 'both deliveries recorded as delivered');
  });
});
