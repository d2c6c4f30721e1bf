import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { dropDatabase } from '../../src/db/ensure-database.js';
import { SHARED_PG, cloneTemplate } from './databases.js';
import { checkAgainstDocument } from './openapi-check.js';

export const API_KEY = 'test-api-key';
export const ADMIN_KEY = 'test-admin-key';
export const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A database name and a BullMQ prefix of this test's own, so runs and files never see each other. */
export function isolation(): { databaseUrl: string; redisUrl: string; prefix: string; env: Record<string, string> } {
  const id = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = `${SHARED_PG}/tokens_test_${id}`;
  const prefix = `tt_${id}`;
  return {
    databaseUrl,
    redisUrl: REDIS,
    prefix,
    env: {
      DATABASE_URL: databaseUrl,
      REDIS_URL: REDIS,
      TOKENS_QUEUE_PREFIX: prefix,
      TOKENS_API_KEYS: API_KEY,
      TOKENS_ADMIN_KEYS: ADMIN_KEY,
      TOKENS_TEST_CLOCK: 'on',
      // No scheduler unless a test asks for one: its real-time cron would run jobs as of the test clock
      // at moments the test did not choose. Tests run jobs themselves (runJob).
      TOKENS_ROLES: 'api,workers',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    },
  };
}

export interface Answer<T = any> {
  status: number;
  body: T;
}

export interface TestEngine {
  config: Config;
  running: RunningEngine;
  baseUrl: string;
  prefix: string;
  databaseUrl: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>>;
  admin<T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>>;
  /** Moves the shared test clock forward. */
  advance(seconds: number): Promise<Date>;
  setClock(to: Date | string): Promise<Date>;
  stop(): Promise<void>;
}

export async function call<T>(baseUrl: string, key: string | null, method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics): keep the text
  }
  // Every answer a test receives is held to the OpenAPI document: one that differs fails the test.
  checkAgainstDocument(method, path, { status: res.status, contentType: res.headers.get('content-type'), body: parsed });
  return { status: res.status, body: parsed as T };
}

/** Runs the whole engine (API, workers, scheduler) in this process on its own database and prefix. */
export async function startTestEngine(overrides: Record<string, string> = {}): Promise<TestEngine> {
  const iso = isolation();
  const config = loadConfig({ ...iso.env, ...overrides });
  await cloneTemplate(config.databaseUrl);
  const running = await runEngine(config, createLogger(config.logLevel));
  const baseUrl = `http://127.0.0.1:${running.port}`;
  const engine: TestEngine = {
    config,
    running,
    baseUrl,
    prefix: iso.prefix,
    databaseUrl: iso.databaseUrl,
    api: (method, path, body) => call(baseUrl, API_KEY, method, path, body),
    admin: (method, path, body) => call(baseUrl, ADMIN_KEY, method, path, body),
    async advance(seconds) {
      const r = await call<{ now: string }>(baseUrl, ADMIN_KEY, 'POST', '/admin/api/clock', { advanceSeconds: seconds });
      if (r.status !== 200) throw new Error(`clock: ${JSON.stringify(r.body)}`);
      return new Date(r.body.now);
    },
    async setClock(to) {
      const r = await call<{ now: string }>(baseUrl, ADMIN_KEY, 'POST', '/admin/api/clock', { now: new Date(to).toISOString() });
      if (r.status !== 200) throw new Error(`clock: ${JSON.stringify(r.body)}`);
      return new Date(r.body.now);
    },
    async stop() {
      await running.stop();
      await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
    },
  };
  return engine;
}

/** Drops the test's database and deletes every Redis key under its prefix. */
export async function cleanup(databaseUrl: string, redisUrl: string, prefix: string): Promise<void> {
  await dropDatabase(databaseUrl);
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Thrown by a `waitFor` check to stop waiting at once: what it waits for can no longer happen as hoped
 * (a job failed). Any other error is taken as "not yet" until the deadline.
 */
export class WaitAborted extends Error {
  override name = 'WaitAborted';
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof WaitAborted) throw new Error(`gave up waiting for ${what}: ${error.message}`, { cause: error });
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Why a usage job carrying this key failed an attempt, if one did (it waits to be retried, or gave up). */
async function failedUsageJob(queue: Queue, key: string): Promise<string | undefined> {
  const counts = await queue.getJobCounts('failed', 'delayed');
  if (!counts.failed && !counts.delayed) return undefined;
  const jobs = await queue.getJobs(['failed', 'delayed']);
  const job = jobs.find((j) => j.failedReason && (j.data as { events?: Array<{ idempotencyKey: string }> }).events?.some((e) => e.idempotencyKey === key));
  return job?.failedReason;
}

/**
 * Waits until the usage event with this key has settled (applied or rejected) and returns its status;
 * a usage job carrying it that fails ends the wait at once, with the job's reason.
 */
export async function settled(engine: Pick<TestEngine, 'api' | 'running'>, key: string, timeoutMs?: number) {
  return waitFor(
    async () => {
      const r = await engine.api('GET', `/v1/usage/${encodeURIComponent(key)}`);
      if (r.status === 200 && r.body.status !== 'queued') return r.body;
      const failure = await failedUsageJob(engine.running.engine.queues.usage, key);
      if (failure) throw new WaitAborted(`a usage job carrying it failed: ${failure}`);
      return undefined;
    },
    `usage ${key} to settle`,
    timeoutMs,
  );
}

/** Waits until the job has finished and returns what it returned; a failed attempt ends the wait at once. */
export async function jobFinished(queue: Queue, jobId: string, what: string): Promise<unknown> {
  return waitFor(async () => {
    // One read of the job's hash: its return value and finishedOn are written together.
    const job = await queue.getJob(jobId);
    if (job?.failedReason) throw new WaitAborted(`${what} failed (attempt ${job.attemptsMade}): ${job.failedReason}`);
    return job?.finishedOn ? (job.returnvalue ?? {}) : undefined;
  }, `${what} to complete`);
}

/** Runs a scheduled job through the admin API and waits until its worker has finished it. */
export async function runJob(engine: TestEngine, name: string, asOf?: string): Promise<unknown> {
  const r = await engine.admin('POST', `/admin/api/jobs/${name}/run`, asOf ? { asOf } : {});
  if (r.status !== 202) throw new Error(`run ${name}: ${JSON.stringify(r.body)}`);
  return jobFinished(engine.running.engine.queues.scheduled, r.body.jobId, `job ${name}`);
}
