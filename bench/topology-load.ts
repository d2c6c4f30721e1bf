import { loadavg } from 'node:os';
import { API_KEY, type BenchEngine } from './engine.js';
import type { Isolation } from './isolation.js';
import type { Topology } from './topology.js';
import { withEngine, step } from './session.js';
import { featureCost, openAccounts } from './usage-throughput.js';
import { runHttpLoad, type HttpLoad, type HttpLoadResult } from './http-load.js';
import { ApplyLag, type ApplyLagResult } from './apply-lag.js';
import { LedgerProgress } from './ledger-progress.js';
import { usageJobs, usageJobsAdded, usageTransactions, type UsageJobs } from './usage-jobs.js';
import { RssSampler, type ProcessMemory } from './rss.js';
import { CpuMeter, type CpuReading } from './cpu.js';
import { PgWaits, type WaitShare } from './pg-waits.js';

export interface LoadSettings {
  connections: number;
  /** Seconds of each timed phase. */
  seconds: number;
  /** Seconds of untimed load on each endpoint first (JIT, pools, caches). */
  warmupSeconds: number;
  accounts: number;
  /** Every how many accepted events one is followed to the ledger. */
  lagEvery: number;
}

export const PLAN = 'enterprise_pro';
export const FEATURE = 'profile_basic';

/** 1-minute load average at the start and the end of a phase: other work on the machine skews every figure. */
export interface PhaseLoad {
  loadAtStart: number;
  loadAtEnd: number;
}

export interface UsageLoadResult extends HttpLoadResult, PhaseLoad {
  /** Events the ledger applied, 202s plus any request in flight when the load stopped. */
  applied: number;
  /** Applied events over load start → backlog drained. */
  appliedPerSecond: number;
  /** Load stopped → the last accepted event applied. */
  drainSeconds: number;
  lag: ApplyLagResult;
  jobs: UsageJobs;
  cpu: CpuReading;
  /** The engine's PostgreSQL sessions during the load, by state and wait event. */
  pgWaits: WaitShare[];
}

export interface CheckLoadResult extends HttpLoadResult, PhaseLoad {
  cpu: CpuReading;
  pgWaits: WaitShare[];
}

export interface TopologyLoad {
  topology: string;
  processes: Array<{ name: string; roles: string }>;
  usage: UsageLoadResult;
  check: CheckLoadResult;
  memory: ProcessMemory[];
}

/** Opens `n` accounts with enough tokens for `seconds` of load at up to 20,000 events a second. */
export async function openLoadAccounts(engine: BenchEngine, prefix: string, n: number, seconds: number): Promise<{ userIds: string[]; cost: number }> {
  const cost = await featureCost(engine, FEATURE);
  const userIds = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  await openAccounts(engine, userIds, PLAN, Math.min(10_000_000, Math.ceil((20_000 * seconds) / n) * cost));
  return { userIds, cost };
}

/** Single-event POST /v1/usage bodies, each with a new idempotency key `${label}-${n}`, round-robin over the accounts. */
export function usageLoad(engine: BenchEngine, userIds: string[], label: string): Omit<HttpLoad, 'connections' | 'seconds'> {
  let n = 0;
  return {
    urls: engine.baseUrls,
    path: '/v1/usage',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: () => {
      const i = n++;
      return JSON.stringify({ userId: userIds[i % userIds.length], feature: FEATURE, idempotencyKey: `${label}-${i}` });
    },
  };
}

function checkLoad(engine: BenchEngine, userIds: string[]): Omit<HttpLoad, 'connections' | 'seconds'> {
  let n = 0;
  return {
    urls: engine.baseUrls,
    path: '/v1/check',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: () => JSON.stringify({ userId: userIds[n++ % userIds.length], feature: FEATURE }),
  };
}

/** Usage load for `seconds`, then waits for the backlog to drain; the lag is sampled throughout. */
export async function measureUsageLoad(
  engine: BenchEngine,
  iso: Isolation,
  accounts: { userIds: string[]; cost: number },
  settings: LoadSettings,
  label: string,
): Promise<UsageLoadResult> {
  const progress = await new LedgerProgress(engine.config.databaseUrl, accounts.userIds, accounts.cost).start();
  const lag = await new ApplyLag(engine.config.databaseUrl, settings.lagEvery).start();
  const cpu = await new CpuMeter(engine).start();
  const waits = new PgWaits(engine.config.databaseUrl);
  try {
    const jobsBefore = await usageJobsAdded(iso);
    const transactionsBefore = await usageTransactions(engine);
    const loadAtStart = loadavg()[0]!;
    await cpu.restart();
    await waits.start();
    const fromMs = Date.now();
    const t0 = performance.now();
    const http = await runHttpLoad({ ...usageLoad(engine, accounts.userIds, label), connections: settings.connections, seconds: settings.seconds, onSuccess: (b) => lag.accepted(b) });
    const stopped = performance.now();
    const cpuUnderLoad = await cpu.read();
    const pgWaits = await waits.stop();
    await progress.waitFor(http.requests);
    const drained = performance.now();
    const loadAtEnd = loadavg()[0]!;
    const lagResult = await lag.stop();
    const outcomes = await progress.outcomes(label);
    const applied = outcomes.applied ?? 0;
    if (applied < http.requests || Object.keys(outcomes).length !== 1) {
      throw new Error(`${label}: ${http.requests} events accepted, settled ${JSON.stringify(outcomes)}`);
    }
    const jobs = await usageJobs(iso, { fromMs, toMs: Date.now(), jobsBefore, events: applied, transactionsBefore, engine });
    return {
      ...http,
      applied,
      appliedPerSecond: applied / ((drained - t0) / 1000),
      drainSeconds: (drained - stopped) / 1000,
      lag: lagResult,
      jobs,
      cpu: cpuUnderLoad,
      pgWaits,
      loadAtStart,
      loadAtEnd,
    };
  } finally {
    await lag.stop(0).catch(() => {});
    await waits.stop().catch(() => {});
    await cpu.end();
    await progress.end();
  }
}

async function measureCheckLoad(engine: BenchEngine, userIds: string[], settings: LoadSettings): Promise<CheckLoadResult> {
  const loadAtStart = loadavg()[0]!;
  const cpu = await new CpuMeter(engine).start();
  const waits = await new PgWaits(engine.config.databaseUrl).start();
  try {
    const http = await runHttpLoad({ ...checkLoad(engine, userIds), connections: settings.connections, seconds: settings.seconds });
    return { ...http, cpu: await cpu.read(), pgWaits: await waits.stop(), loadAtStart, loadAtEnd: loadavg()[0]! };
  } finally {
    await waits.stop().catch(() => {});
    await cpu.end();
  }
}

/** The HTTP load run on one topology: warm-up, single-event usage (with lag and drain), then checks. */
export function measureTopologyLoad(topology: Topology, settings: LoadSettings): Promise<TopologyLoad> {
  return withEngine(topology, async (engine, iso) => {
    const rss = new RssSampler(engine.processes).start();
    try {
      const phases = await loadPhases(engine, iso, topology, settings);
      return { ...phases, memory: rss.stop() };
    } finally {
      rss.stop(); // after an error: ends the sampling
    }
  });
}

async function loadPhases(engine: BenchEngine, iso: Isolation, topology: Topology, settings: LoadSettings): Promise<Omit<TopologyLoad, 'memory'>> {
  step(`${topology.name}: opening ${settings.accounts} ${PLAN} accounts`);
  const accounts = await openLoadAccounts(engine, 'load', settings.accounts, 2 * settings.warmupSeconds + 2 * settings.seconds);
  const probe = await engine.call(API_KEY, 'POST', '/v1/check', { userId: accounts.userIds[0], feature: FEATURE });
  if (probe.status !== 200 || probe.body.allowed !== true) throw new Error(`check: ${probe.status} ${JSON.stringify(probe.body)}`);

  step(`${topology.name}: warm-up, ${settings.warmupSeconds} s of usage then of checks (not timed)`);
  const warm = await new LedgerProgress(engine.config.databaseUrl, accounts.userIds, accounts.cost).start();
  try {
    const warmUsage = await runHttpLoad({ ...usageLoad(engine, accounts.userIds, 'warmup'), connections: settings.connections, seconds: settings.warmupSeconds });
    await warm.waitFor(warmUsage.requests);
  } finally {
    await warm.end();
  }
  await runHttpLoad({ ...checkLoad(engine, accounts.userIds), connections: settings.connections, seconds: settings.warmupSeconds });

  step(`${topology.name}: POST /v1/usage, ${settings.connections} connections, ${settings.seconds} s, then drain`);
  const usage = await measureUsageLoad(engine, iso, accounts, settings, 'load');
  step(`${topology.name}: POST /v1/check, ${settings.connections} connections, ${settings.seconds} s`);
  const check = await measureCheckLoad(engine, accounts.userIds, settings);
  return { topology: topology.name, processes: topology.processes.map(({ name, roles }) => ({ name, roles })), usage, check };
}
