import pg from 'pg';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { withDefaultUser } from '../../src/db/database.js';
import { stageKeys } from '../../src/usage/usage-stage.js';
import { ADMIN_KEY, API_KEY, waitFor } from '../support/engine.js';
import { spawnEngine, type EngineProcess } from '../support/processes.js';

/**
 * What the fault tests share: sending usage the way a service does (with a time limit, so a hang is a
 * failure and not a stuck run), keeping track of what the engine answered, and checking the ledger
 * against it: every event answered 202 is applied exactly once, and nothing else is.
 */

/**
 * These tests start several engine processes and servers each, on two cores shared with other test
 * files: they get more time than vitest's defaults, and start-ups more than spawnEngine's 30 s.
 */
export const faultTimeouts = { timeout: 150_000 };

export function startEngineProcess(env: Record<string, string>): Promise<EngineProcess> {
  return spawnEngine(env, { timeoutMs: 60_000 });
}

export interface UsageEvent {
  userId: string;
  feature: string;
  idempotencyKey: string;
}

export interface Answer {
  status: number;
  body: any;
}

/** Prices of the default catalog used here (a fresh database has no pricing rule). */
export const costs: Record<string, number> = { profile_basic: 1, '02_Profile_Enhanced.py': 2, resume_upload: 3 };
const features = Object.keys(costs);

/** `count` events spread over `users` and over features of cost 1, 2 and 3. */
export function usageEvents(tag: string, count: number, users: string[]): UsageEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    userId: users[i % users.length]!,
    feature: features[(i + Math.floor(i / users.length)) % features.length]!,
    idempotencyKey: `${tag}-${i}`,
  }));
}

/** One HTTP call with a time limit: an engine that hangs instead of answering fails the test. */
export async function request(base: string, method: string, path: string, body?: unknown, timeoutMs = 10_000, key: string | null = API_KEY): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** What the engine said to each event sent: accepted (202) or refused (anything else, kept with the answer). */
/**
 * Opens each account on enterprise_pro with `tokens` more granted by an admin, and records its starting
 * balance in `start` (what expectAppliedExactlyOnce measures the charges from).
 */
export async function openFundedAccounts(base: string, users: readonly string[], tokens: number, start: Record<string, number>): Promise<void> {
  for (const userId of users) {
    expect((await request(base, 'POST', '/v1/accounts', { userId, plan: 'enterprise_pro' })).status).toBe(201);
    const grant = await request(base, 'POST', `/admin/api/accounts/${userId}/grants`, { tokens, reason: 'fault test' }, 10_000, ADMIN_KEY);
    expect(grant.status, JSON.stringify(grant.body)).toBe(201);
    start[userId] = (await request(base, 'GET', `/v1/accounts/${userId}`)).body.balance;
  }
}

export class UsageRecord {
  readonly accepted: UsageEvent[] = [];
  readonly refused: Array<{ events: UsageEvent[]; answer: Answer }> = [];

  /** Sends events as one request (`/v1/usage` for one, `/v1/usage/batch` for more) and records the answer. */
  async send(base: string, events: UsageEvent[]): Promise<Answer> {
    let answer: Answer;
    try {
      answer = events.length === 1 ? await request(base, 'POST', '/v1/usage', events[0]) : await request(base, 'POST', '/v1/usage/batch', { events });
    } catch (error) {
      answer = { status: 0, body: String(error) }; // no answer at all: a hang or a dropped connection
    }
    if (answer.status === 202) this.accepted.push(...events);
    else this.refused.push({ events, answer });
    return answer;
  }

  /**
   * The requests that got no answer at all (status 0), taken off the refused: a service sends them
   * again as they were, same keys and payloads, and their new answers count instead.
   */
  takeUnanswered(): UsageEvent[][] {
    const unanswered = this.refused.filter((r) => r.answer.status === 0);
    this.refused.splice(0, this.refused.length, ...this.refused.filter((r) => r.answer.status !== 0));
    return unanswered.map((r) => r.events);
  }

  refusedKeys(): string[] {
    return this.refused.flatMap((r) => r.events.map((e) => e.idempotencyKey));
  }

  /** Every refusal was a 503 `dependency_unavailable` naming `dependency` (never a 500, a hang, a 4xx). */
  expectRefusalsNamed(dependency: 'redis' | 'postgres'): void {
    for (const { answer } of this.refused) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.body.error).toMatchObject({ code: 'dependency_unavailable', details: { dependency } });
    }
  }
}

export async function openDb(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: withDefaultUser(databaseUrl) });
  client.on('error', () => {}); // a test that restarts the server handles the failures it causes
  await client.connect();
  return client;
}

/** How many of these keys have settled (a row in usage_events). */
export async function settledCount(db: pg.Client, keys: string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from usage_events where idempotency_key = any($1)', [keys]);
  return rows[0]!.n;
}

/**
 * Nothing staged and no usage job left to run: every copy of every event staged so far has been applied
 * or skipped as settled. An event staged twice (a retry of a request whose answer was lost, a move
 * repeated) is only known to be charged once after this.
 */
export async function usageDrained(redis: Redis, queue: Queue): Promise<boolean> {
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
  return (await redis.llen(stageKeys(queue.opts.prefix!).staged)) === 0 && Object.values(counts).every((n) => n === 0);
}

export async function waitUntilSettled(db: pg.Client, keys: string[], timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await settledCount(db, keys)) === keys.length, `${keys.length} accepted events to settle`, timeoutMs);
}

/**
 * The ledger of the accounts in `startingBalance` against what was answered: each accepted key has
 * exactly one `use` entry and is `applied` at its price, no other key was charged (refused ones
 * included), and each account's balance is its starting balance less the costs of its accepted events.
 */
export async function expectAppliedExactlyOnce(db: pg.Client, record: UsageRecord, startingBalance: Record<string, number>): Promise<void> {
  const accepted = new Map(record.accepted.map((e) => [e.idempotencyKey, e]));
  expect(accepted.size, 'accepted keys are distinct').toBe(record.accepted.length);

  const users = Object.keys(startingBalance);
  const uses = await db.query<{ usage_key: string; n: number; cost: number }>(
    `select usage_key, count(*)::int as n, sum(-amount)::int as cost from ledger_entries where kind = 'use' and user_id = any($1) group by usage_key`,
    [users],
  );
  const charged = new Map(uses.rows.map((r) => [r.usage_key, r]));
  const twice = uses.rows.filter((r) => r.n !== 1).map((r) => r.usage_key);
  expect(twice, 'keys charged more than once').toEqual([]);
  const missing = [...accepted.keys()].filter((k) => !charged.has(k));
  expect(missing, 'accepted keys never charged').toEqual([]);
  const unexpected = [...charged.keys()].filter((k) => !accepted.has(k));
  expect(unexpected, 'keys charged without a 202').toEqual([]);
  for (const [key, e] of accepted) expect(charged.get(key)!.cost, key).toBe(costs[e.feature]);

  const events = await db.query<{ idempotency_key: string; status: string }>('select idempotency_key, status from usage_events where user_id = any($1)', [users]);
  expect(events.rows.filter((r) => r.status !== 'applied'), 'events settled but not applied').toEqual([]);
  expect(events.rows.length, 'usage_events rows').toBe(accepted.size);
  const refused = new Set(record.refusedKeys());
  expect(events.rows.filter((r) => refused.has(r.idempotency_key)), 'refused events settled').toEqual([]);

  const spent = new Map<string, number>();
  for (const e of accepted.values()) spent.set(e.userId, (spent.get(e.userId) ?? 0) + costs[e.feature]!);
  const accounts = await db.query<{ user_id: string; balance: number; held: number; period_used: number }>(
    'select user_id, balance, held, period_used from accounts where user_id = any($1)',
    [users],
  );
  const byUser = (a: { userId: string }, b: { userId: string }) => (a.userId < b.userId ? -1 : 1);
  expect(accounts.rows.map((a) => ({ userId: a.user_id, balance: a.balance, held: a.held, used: a.period_used })).sort(byUser)).toEqual(
    users
      .map((u) => ({ userId: u, balance: startingBalance[u]! - (spent.get(u) ?? 0), held: 0, used: spent.get(u) ?? 0 }))
      .sort(byUser),
  );
}

export interface JobEvent {
  event: string;
  [field: string]: string;
}

/**
 * What became of one usage job, from BullMQ's events stream (what QueueEvents reads): completed usage
 * jobs are removed with their payloads, so their retries, stalls and return values are read here.
 */
export async function jobHistory(redisUrl: string, queue: Queue, jobId: string): Promise<JobEvent[]> {
  const client = new Redis(redisUrl);
  let entries: Array<[string, string[]]>;
  try {
    entries = (await client.xrange(queue.keys.events!, '-', '+')) as Array<[string, string[]]>;
  } finally {
    client.disconnect();
  }
  return entries
    .map(([, fields]) => Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i]!, fields[2 * i + 1]!])) as JobEvent)
    .filter((e) => e.jobId === jobId);
}

/** The job's return value once it completed, or undefined. */
export async function completedWith(redisUrl: string, queue: Queue, jobId: string): Promise<unknown> {
  const done = (await jobHistory(redisUrl, queue, jobId)).find((e) => e.event === 'completed');
  return done ? JSON.parse(done.returnvalue!) : undefined;
}
