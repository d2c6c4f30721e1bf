// npm run bench: end-to-end usage throughput (200 accounts, then one hot account) with the engine's RSS,
// BullMQ's no-op ceiling on the same Redis at concurrencies 1 to 500 (the best kept), then the floor
// comparison (bench/floor.ts): the engine's API process against a bare Fastify server doing the least
// I/O for POST /v1/check and single-event POST /v1/usage, at 50 connections and at one, timed to the
// microsecond by a load process of its own. All on throwaway databases and Redis prefixes.
// Knobs: BENCH_EVENTS (30000), BENCH_CEILING_JOBS (10000), BENCH_CEILING_CONCURRENCY (1,10,50,100,200,500),
// BENCH_FLOOR_SECONDS (10), BENCH_FLOOR_SECONDS_ALONE (5), BENCH_FLOOR_ROUNDS (4), BENCH_FLOOR_PATHS, BENCH_LOAD_CONNECTIONS (50),
// BENCH_CPU_PROF=<dir> (a V8 CPU profile of every engine process and of the floor server); TOKENS_* settings reach the engine as
// they are. `-- --floor`: the floor comparison alone. `-- --topologies`: also the autocannon HTTP load on
// one process and on two API + two worker processes (bench/topology-load.ts; BENCH_LOAD_SECONDS, 15).
// `-- --soak` or BENCH_SOAK_MINUTES: bench/soak.ts. `-- --redis-bytes`: what Redis keeps per accepted
// event (bench/redis-bytes.ts), alone. `-- --cluster`: single-event usage on a private Redis Cluster with and
// without WAIT (bench/cluster.ts), alone.
// `-- --usage`: the end-to-end phases and the BullMQ ceiling only (no floor comparison).
// `-- --analytics-contention`: /v1/check latency while analytics run (bench/analytics-contention.ts), alone.
import { loadavg } from 'node:os';
import { cleanup, isolation } from './isolation.js';
import { startEngine, type BenchEngine } from './engine.js';
import { describeMachine } from './machine.js';
import { featureCost, measureUsageThroughput, openAccounts } from './usage-throughput.js';
import { sweepBullmqCeiling } from './bullmq-ceiling.js';
import { apiPeakMb, markdown, TARGETS, type BenchResults } from './report.js';
import { RssSampler } from './rss.js';
import { ONE_PROCESS, TWO_BY_TWO } from './topology.js';
import { measureTopologyLoad, PLAN as LOAD_PLAN, FEATURE as LOAD_FEATURE } from './topology-load.js';
import { loadMarkdown, type LoadResults } from './load-report.js';
import { tidyOpenSessions } from './session.js';
import { soakMinutes } from './soak.js';
import { runSoak } from './soak-run.js';
import { LATEST, readLatest, writeLatest } from './results-file.js';
import { autogroupScheduling } from './cpu.js';
import { runRedisBytes } from './redis-bytes.js';
import { runClusterBench } from './cluster.js';
import { floorMarkdown, measureFloor, type FloorPath, type FloorSettings } from './floor.js';
import { runAnalyticsContention } from './analytics-contention.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 30_000);
/** Applied before the timed phases (not timed), so neither phase pays for JIT and cold caches. */
const WARMUP_EVENTS = 2_000;
const ACCOUNTS = 200;
const PLAN = 'enterprise_pro';
const FEATURE = 'profile_basic';
const BATCH_SIZE = 1000;
const BATCHES_IN_FLIGHT = 4;
/** The BullMQ no-op ceiling is taken at each of these worker concurrencies, and the best kept. */
const CEILING_CONCURRENCY = (process.env.BENCH_CEILING_CONCURRENCY ?? '1,10,50,100,200,500').split(',').map(Number);
const CEILING_JOBS = Number(process.env.BENCH_CEILING_JOBS ?? 10_000);
/** `-- --topologies`: the autocannon HTTP load on one process and on two API + two worker processes too. */
const TOPOLOGIES = process.argv.includes('--topologies');
const LOAD = {
  connections: Number(process.env.BENCH_LOAD_CONNECTIONS ?? 50),
  seconds: Number(process.env.BENCH_LOAD_SECONDS ?? 15),
  warmupSeconds: 3,
  accounts: ACCOUNTS,
  /** Every 20th accepted event is followed to the ledger for the accepted → applied lag. */
  lagEvery: 20,
};

if (process.argv.includes('--redis-bytes')) process.exit(await runRedisBytes());
if (process.argv.includes('--analytics-contention')) process.exit(await runAnalyticsContention());
if (process.argv.includes('--cluster')) process.exit(await runClusterBench());

const FLOOR: FloorSettings = {
  paths: (process.env.BENCH_FLOOR_PATHS ?? '/v1/check,/v1/usage').split(',') as FloorPath[],
  connections: [LOAD.connections, 1],
  seconds: Number(process.env.BENCH_FLOOR_SECONDS ?? 10),
  secondsAlone: Number(process.env.BENCH_FLOOR_SECONDS_ALONE ?? 5),
  warmupSeconds: 3,
  rounds: Number(process.env.BENCH_FLOOR_ROUNDS ?? 4),
  accounts: ACCOUNTS,
};
// `-- --floor`: the floor comparison alone (bench/floor.ts).
if (process.argv.includes('--floor')) {
  const floor = await measureFloor(FLOOR);
  console.log(floorMarkdown(floor));
  process.exit(0);
}

// The soak runs alone (bench/soak.ts), instead of everything below.
const SOAK_MINUTES = soakMinutes();
if (SOAK_MINUTES !== undefined) process.exit(await runSoak(SOAK_MINUTES));

const step = (what: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${what}`);

const loadAtStart = loadavg()[0]!;
const startedAt = performance.now();
const iso = isolation();
let engine: BenchEngine | undefined;
let cleaned: Promise<void> | undefined;
const tidy = () =>
  (cleaned ??= (async () => {
    await engine?.stop();
    const logs = engine?.logs().trim();
    if (logs) console.error(`engine logged (LOG_LEVEL=error):\n${logs.split('\n').slice(-40).join('\n')}`);
    const { keysDeleted } = await cleanup(iso);
    step(`cleaned up: dropped ${iso.databaseUrl.split('/').pop()}, deleted ${keysDeleted} Redis keys under ${iso.prefix}:`);
  })());
process.once('SIGINT', () => void Promise.all([tidy(), tidyOpenSessions()]).finally(() => process.exit(130)));

try {
  step(`starting the engine (database ${iso.databaseUrl.split('/').pop()}, prefix ${iso.prefix})`);
  engine = await startEngine(iso);
  const { config } = engine;
  const machine = await describeMachine(config.databaseUrl, config.redisUrl, loadAtStart);
  const cost = await featureCost(engine, FEATURE);

  const spreadIds = Array.from({ length: ACCOUNTS }, (_, i) => `bench-spread-${String(i).padStart(3, '0')}`);
  const hotId = 'bench-hot';
  step(`opening ${ACCOUNTS + 1} ${PLAN} accounts`);
  await openAccounts(engine, spreadIds, PLAN, Math.ceil((WARMUP_EVENTS + EVENTS) / ACCOUNTS) * cost);
  await openAccounts(engine, [hotId], PLAN, EVENTS * cost);

  const rss = new RssSampler(engine.processes).start();
  const load = { feature: FEATURE, events: EVENTS, batchSize: BATCH_SIZE, inFlight: BATCHES_IN_FLIGHT };
  step(`warm-up: ${WARMUP_EVENTS} events (not timed)`);
  await measureUsageThroughput(engine, { ...load, events: WARMUP_EVENTS, label: 'warmup', userIds: spreadIds }, cost);
  step(`usage, spread: ${EVENTS} events over ${ACCOUNTS} accounts`);
  const usageSpread = await measureUsageThroughput(engine, { ...load, label: 'spread', userIds: spreadIds }, cost);
  step(`usage, hot: ${EVENTS} events to one account`);
  const usageHot = await measureUsageThroughput(engine, { ...load, label: 'hot', userIds: [hotId] }, cost);
  const usageMemory = rss.stop();

  await engine.stop();
  step(`BullMQ no-op ceiling: ${CEILING_JOBS} jobs at each concurrency of ${CEILING_CONCURRENCY.join(', ')} (engine stopped)`);
  const bullmq = await sweepBullmqCeiling(iso, { jobs: CEILING_JOBS, bulk: BATCH_SIZE }, CEILING_CONCURRENCY);

  const floor = process.argv.includes('--usage') ? undefined : await measureFloor(FLOOR);

  let httpLoad: LoadResults | undefined;
  if (TOPOLOGIES) {
    httpLoad = {
      settings: { ...LOAD, plan: LOAD_PLAN, feature: LOAD_FEATURE },
      topologies: [],
      cores: machine.cores,
      scheduler: { autogroup: autogroupScheduling(), ownSessions: process.env.BENCH_OWN_SESSIONS === '1' },
    };
    for (const topology of [ONE_PROCESS, TWO_BY_TWO]) httpLoad.topologies.push(await measureTopologyLoad(topology, LOAD));
  }

  const ratios = {
    spreadOverNoop: usageSpread.eventsPerSecond / bullmq.best.jobsPerSecond,
    hotOverSpread: usageHot.eventsPerSecond / usageSpread.eventsPerSecond,
  };
  const partial = { usageMemory, ...(floor ? { floor } : {}) };
  const results: BenchResults = {
    at: new Date().toISOString(),
    seconds: (performance.now() - startedAt) / 1000,
    machine,
    setup: {
      topology: engine.topology,
      plan: PLAN,
      feature: FEATURE,
      batchSize: BATCH_SIZE,
      batchesInFlight: BATCHES_IN_FLIGHT,
      usageConcurrency: config.usageConcurrency,
      usageShards: config.usageShards,
      batchMaxEvents: config.batchMaxEvents,
    },
    usageSpread,
    usageHot,
    usageMemory,
    bullmq,
    ratios,
    ...(floor ? { floor } : {}),
    targets: {
      e2e: usageSpread.eventsPerSecond >= TARGETS.e2eEventsPerSecond,
      spreadOverNoop: ratios.spreadOverNoop >= TARGETS.spreadOverNoop,
      hotOverSpread: ratios.hotOverSpread >= TARGETS.hotOverSpread,
      apiRss: apiPeakMb(partial) <= TARGETS.apiRssMb,
    },
    loadAtEnd: loadavg()[0]!,
    ...(httpLoad ? { load: httpLoad } : {}),
  };
  // The last soak's figures stay (they carry their own date); `npm run bench -- --soak` replaces them.
  writeLatest({ ...results, soak: readLatest().soak });
  console.log(`${markdown(results)}${httpLoad ? `\n\n${loadMarkdown(httpLoad)}` : ''}`);
  step(`wrote ${LATEST}`);
} catch (error) {
  process.exitCode = 1;
  console.error(error);
} finally {
  await tidy();
}
