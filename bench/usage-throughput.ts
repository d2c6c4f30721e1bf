import http from 'node:http';
import pg from 'pg';
import { withDefaultUser } from '../src/db/database.js';
import { ADMIN_KEY, API_KEY, type BenchEngine } from './engine.js';
import { CpuMeter, type CpuReading } from './cpu.js';
import { PgWaits, type WaitShare } from './pg-waits.js';
import { usageTransactions } from './usage-jobs.js';

export interface UsageLoad {
  /** Names the phase; idempotency keys are `${label}-${n}`. */
  label: string;
  userIds: string[];
  events: number;
  feature: string;
  /** Events per POST /v1/usage/batch (at most 1000). */
  batchSize: number;
  /** Batch requests in flight at once. */
  inFlight: number;
}

export interface UsageThroughput {
  events: number;
  accounts: number;
  requests: number;
  /** First request sent to last 202 received. */
  acceptedSeconds: number;
  acceptedPerSecond: number;
  /** First request sent to the last event applied in the ledger. */
  appliedSeconds: number;
  eventsPerSecond: number;
  /** Where the CPU went from the first request to the last event applied. */
  cpu: CpuReading;
  /** The engine's PostgreSQL sessions by state over the phase (bench/pg-waits.ts). */
  pgWaits: WaitShare[];
  /** Ledger transactions the workers ran for the phase, and the events and jobs each carried on average. */
  transactions: number;
  eventsPerTransaction: number;
  jobsPerTransaction: number;
  /**
   * What the whole PostgreSQL server wrote to its WAL over the phase (pg_stat_wal: other databases'
   * work included), per event, and how often it synced it (fsync or fdatasync of the WAL).
   */
  wal: { bytesPerEvent: number; recordsPerEvent: number; syncs: number };
}

interface WalCounters {
  bytes: number;
  records: number;
  syncs: number;
}

async function walCounters(db: pg.Client): Promise<WalCounters> {
  const { rows } = await db.query<{ bytes: string; records: string; syncs: string }>('select wal_bytes as bytes, wal_records as records, wal_sync as syncs from pg_stat_wal');
  return { bytes: Number(rows[0]!.bytes), records: Number(rows[0]!.records), syncs: Number(rows[0]!.syncs) };
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/** The cost of a feature now, as the catalog quotes it. */
export async function featureCost(engine: BenchEngine, feature: string): Promise<number> {
  const r = await engine.call<{ features: Array<{ key: string; cost: number }> }>(API_KEY, 'GET', '/v1/features');
  const found = r.body.features.find((f) => f.key === feature);
  if (!found) throw new Error(`feature ${feature} is not in the catalog`);
  return found.cost;
}

/** Opens the accounts on `plan` and tops each up by admin grant so it holds at least `tokensEach`. */
export async function openAccounts(engine: BenchEngine, userIds: string[], plan: string, tokensEach: number): Promise<void> {
  await inParallel(userIds, 8, async (userId) => {
    const created = await engine.call<{ balance: number }>(API_KEY, 'POST', '/v1/accounts', { userId, plan });
    if (created.status !== 201) throw new Error(`create ${userId}: ${created.status} ${JSON.stringify(created.body)}`);
    const short = tokensEach - created.body.balance;
    if (short <= 0) return;
    const granted = await engine.call(ADMIN_KEY, 'POST', `/admin/api/accounts/${userId}/grants`, { tokens: short, reason: 'benchmark' });
    if (granted.status !== 201) throw new Error(`grant ${userId}: ${granted.status} ${JSON.stringify(granted.body)}`);
  });
}

/**
 * Posts `events` usage events in batches and waits until the ledger has applied all of them. Progress is
 * read from the accounts' period_used (one indexed query over the phase's accounts, cheap enough to poll
 * every few milliseconds); afterwards usage_events must show every event applied and none rejected.
 */
export async function measureUsageThroughput(engine: BenchEngine, load: UsageLoad, cost: number): Promise<UsageThroughput> {
  const db = new pg.Client({ connectionString: withDefaultUser(engine.config.databaseUrl) });
  await db.connect();
  const agent = new http.Agent({ keepAlive: true, maxSockets: load.inFlight });
  const cpu = await new CpuMeter(engine).start();
  const waits = new PgWaits(engine.config.databaseUrl);
  try {
    const used = async () =>
      Number((await db.query('select coalesce(sum(period_used), 0) as used from accounts where user_id = any($1)', [load.userIds])).rows[0].used);
    const baseline = await used();
    const target = baseline + load.events * cost;

    // Bodies are serialised before the clock starts: the client's own work stays out of the figure.
    const bodies: string[] = [];
    for (let start = 0; start < load.events; start += load.batchSize) {
      const events = [];
      for (let n = start; n < Math.min(start + load.batchSize, load.events); n++) {
        events.push({ userId: load.userIds[n % load.userIds.length]!, feature: load.feature, idempotencyKey: `${load.label}-${n}` });
      }
      bodies.push(JSON.stringify({ events }));
    }

    await waits.start();
    const transactionsBefore = await usageTransactions(engine);
    const walBefore = await walCounters(db);
    const t0 = performance.now();
    await cpu.restart();
    await inParallel(bodies, load.inFlight, async (body) => {
      const r = await post(agent, `${engine.baseUrl}/v1/usage/batch`, body);
      if (r.status !== 202) throw new Error(`usage batch: ${r.status} ${r.text.slice(0, 500)}`);
    });
    const accepted = performance.now();

    let last = baseline;
    let progressAt = performance.now();
    for (;;) {
      const now = await used();
      if (now >= target) break;
      if (now !== last) [last, progressAt] = [now, performance.now()];
      else if (performance.now() - progressAt > 30_000) {
        const found = describe(await outcomes(db, load.label));
        throw new Error(`${load.label}: no progress for 30 s at ${now - baseline}/${target - baseline} tokens used (${found})`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const applied = performance.now();
    const cpuReading = await cpu.read();
    const pgWaits = await waits.stop();
    const walAfter = await walCounters(db);
    const transactionsAfter = await usageTransactions(engine);
    const transactions = transactionsAfter.transactions - transactionsBefore.transactions;

    const settled = await outcomes(db, load.label);
    if (settled.applied !== load.events || Object.keys(settled).length !== 1) {
      throw new Error(`${load.label}: expected ${load.events} events applied, found ${describe(settled)}`);
    }

    const acceptedSeconds = (accepted - t0) / 1000;
    const appliedSeconds = (applied - t0) / 1000;
    return {
      events: load.events,
      accounts: load.userIds.length,
      requests: bodies.length,
      acceptedSeconds,
      acceptedPerSecond: load.events / acceptedSeconds,
      appliedSeconds,
      eventsPerSecond: load.events / appliedSeconds,
      cpu: cpuReading,
      pgWaits,
      transactions,
      eventsPerTransaction: load.events / Math.max(1, transactions),
      jobsPerTransaction: (transactionsAfter.jobs - transactionsBefore.jobs) / Math.max(1, transactions),
      wal: {
        bytesPerEvent: (walAfter.bytes - walBefore.bytes) / load.events,
        recordsPerEvent: (walAfter.records - walBefore.records) / load.events,
        syncs: walAfter.syncs - walBefore.syncs,
      },
    };
  } finally {
    agent.destroy();
    await waits.stop().catch(() => {});
    await cpu.end();
    await db.end();
  }
}

/**
 * One POST on a kept-alive connection of node:http: the load generator shares the machine with the
 * engine, and fetch's web streams cost it several times the CPU for the same bytes.
 */
function post(agent: http.Agent, url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`POST ${url}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Settled events of a phase by outcome: `applied`, `rejected/insufficient_tokens`, ... */
async function outcomes(db: pg.Client, label: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ outcome: string; n: string }>(
    `select status || coalesce('/' || reason, '') as outcome, count(*) as n from usage_events
     where idempotency_key like $1 group by 1`,
    [`${label}-%`],
  );
  return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]));
}

const describe = (o: Record<string, number>) => Object.entries(o).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing settled';
