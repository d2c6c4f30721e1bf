import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { dropDatabase } from '../../src/db/ensure-database.js';

export const API_KEY = 'test-api-key';
export const ADMIN_KEY = 'test-admin-key';
const PG = process.env.TEST_PG_URL ?? 'postgres://127.0.0.1:5432';
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A database name and a BullMQ prefix of this test's own, so runs and files never see each other. */
export function isolation(): { databaseUrl: string; redisUrl: string; prefix: string; env: Record<string, string> } {
  const id = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = `${PG}/tokens_test_${id}`;
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
  return { status: res.status, body: parsed as T };
}

/** Runs the whole engine (API, workers, scheduler) in this process on its own database and prefix. */
export async function startTestEngine(overrides: Record<string, string> = {}): Promise<TestEngine> {
  const iso = isolation();
  const config = loadConfig({ ...iso.env, ...overrides });
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

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the usage event with this key has settled (applied or rejected) and returns its status. */
export async function settled(engine: Pick<TestEngine, 'api'>, key: string, timeoutMs?: number) {
  return waitFor(
    async () => {
      const r = await engine.api('GET', `/v1/usage/${encodeURIComponent(key)}`);
      return r.status === 200 && r.body.status !== 'queued' ? r.body : undefined;
    },
    `usage ${key} to settle`,
    timeoutMs,
  );
}

/** Runs a scheduled job through the admin API and waits until its worker has finished it. */
export async function runJob(engine: TestEngine, name: string, asOf?: string): Promise<unknown> {
  const r = await engine.admin('POST', `/admin/api/jobs/${name}/run`, asOf ? { asOf } : {});
  if (r.status !== 202) throw new Error(`run ${name}: ${JSON.stringify(r.body)}`);
  const queue = engine.running.engine.queues.scheduled;
  return waitFor(async () => {
    // Read the state first, then the job: a job read before it completed carries no return value.
    const state = await queue.getJobState(r.body.jobId);
    if (state === 'failed') throw new Error(`job ${name} failed: ${(await queue.getJob(r.body.jobId))?.failedReason}`);
    if (state !== 'completed') return undefined;
    return (await queue.getJob(r.body.jobId))?.returnvalue ?? {};
  }, `job ${name} to complete`);
}
