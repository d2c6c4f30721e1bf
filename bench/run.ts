// npm run bench: end-to-end usage throughput (200 accounts, then one hot account), BullMQ's no-op
// ceiling on the same Redis, and POST /v1/check latency, on a throwaway database and Redis prefix.
// Then the HTTP load run: single-event POST /v1/usage and POST /v1/check from many connections on one
// process and on two API + two worker processes (bench/topology-load.ts).
// Knobs: BENCH_EVENTS (30000), BENCH_CHECK_SECONDS (10), BENCH_LOAD_SECONDS (15), BENCH_LOAD_CONNECTIONS
// (50); TOKENS_* settings reach the engine as they are. `-- --soak` or BENCH_SOAK_MINUTES: bench/soak.ts.
// `-- --redis-bytes`: what Redis keeps per accepted event (bench/redis-bytes.ts), alone.
// `-- --analytics-contention`: /v1/check latency while analytics run (bench/analytics-contention.ts), alone.
import { loadavg } from 'node:os';
import { cleanup, isolation } from './isolation.js';
import { startEngine, type BenchEngine } from './engine.js';
import { describeMachine } from './machine.js';
import { featureCost, measureUsageThroughput, openAccounts } from './usage-throughput.js';
import { measureBullmqCeiling } from './bullmq-ceiling.js';
import { measureCheckLatency } from './check-latency.js';
import { markdown, TARGETS, type BenchResults } from './report.js';
import { ONE_PROCESS, TWO_BY_TWO } from './topology.js';
import { measureTopologyLoad, PLAN as LOAD_PLAN, FEATURE as LOAD_FEATURE } from './topology-load.js';
import { loadMarkdown, type LoadResults } from './load-report.js';
import { tidyOpenSessions } from './session.js';
import { soakMinutes } from './soak.js';
import { runSoak } from './soak-run.js';
import { LATEST, readLatest, writeLatest } from './results-file.js';
import { autogroupScheduling } from './cpu.js';
import { runRedisBytes } from './redis-bytes.js';
import { runAnalyticsContention } from './analytics-contention.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 30_000);
/** Applied before the timed phases (not timed), so neither phase pays for JIT and cold caches. */
const WARMUP_EVENTS = 2_000;
const ACCOUNTS = 200;
const PLAN = 'enterprise_pro';
const FEATURE = 'profile_basic';
const BATCH_SIZE = 1000;
const BATCHES_IN_FLIGHT = 4;
const CHECK = { connections: 10, seconds: Number(process.env.BENCH_CHECK_SECONDS ?? 10), warmupSeconds: 2 };
/** The same check from a single connection: the service time without queueing behind other requests. */
const CHECK_ALONE = { connections: 1, seconds: Math.ceil(CHECK.seconds / 2), warmupSeconds: 1 };
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

// The soak runs alone (bench/soak.ts), instead of everything below.
const SOAK_MINUTES = soakMinutes();
if (SOAK_MINUTES !== undefined) process.exit(await runSoak(SOAK_MINUTES));

const step = (what: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${what}`);

const loadAtStart = loadavg()[0]!;
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

  const load = { feature: FEATURE, events: EVENTS, batchSize: BATCH_SIZE, inFlight: BATCHES_IN_FLIGHT };
  step(`warm-up: ${WARMUP_EVENTS} events (not timed)`);
  await measureUsageThroughput(engine, { ...load, events: WARMUP_EVENTS, label: 'warmup', userIds: spreadIds }, cost);
  step(`usage, spread: ${EVENTS} events over ${ACCOUNTS} accounts`);
  const usageSpread = await measureUsageThroughput(engine, { ...load, label: 'spread', userIds: spreadIds }, cost);
  step(`usage, hot: ${EVENTS} events to one account`);
  const usageHot = await measureUsageThroughput(engine, { ...load, label: 'hot', userIds: [hotId] }, cost);

  step(`POST /v1/check: ${CHECK.connections} connections, ${CHECK.seconds} s`);
  const check = await measureCheckLatency(engine, { ...CHECK, userId: spreadIds[0]!, feature: FEATURE });
  step(`POST /v1/check: ${CHECK_ALONE.connections} connection, ${CHECK_ALONE.seconds} s`);
  const checkAlone = await measureCheckLatency(engine, { ...CHECK_ALONE, userId: spreadIds[0]!, feature: FEATURE });

  await engine.stop();
  step(`BullMQ no-op ceiling: ${EVENTS} jobs, concurrency ${config.usageConcurrency} (engine stopped)`);
  const bullmqNoop = await measureBullmqCeiling(iso, { jobs: EVENTS, bulk: BATCH_SIZE, concurrency: config.usageConcurrency });

  const httpLoad: LoadResults = {
    settings: { ...LOAD, plan: LOAD_PLAN, feature: LOAD_FEATURE },
    topologies: [],
    cores: machine.cores,
    scheduler: { autogroup: autogroupScheduling(), ownSessions: process.env.BENCH_OWN_SESSIONS === '1' },
  };
  for (const topology of [ONE_PROCESS, TWO_BY_TWO]) httpLoad.topologies.push(await measureTopologyLoad(topology, LOAD));

  const ratios = {
    spreadOverNoop: usageSpread.eventsPerSecond / bullmqNoop.jobsPerSecond,
    hotOverSpread: usageHot.eventsPerSecond / usageSpread.eventsPerSecond,
  };
  const results: BenchResults = {
    at: new Date().toISOString(),
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
    bullmqNoop,
    ratios,
    check,
    checkAlone,
    targets: {
      spreadOverNoop: ratios.spreadOverNoop >= TARGETS.spreadOverNoop,
      hotOverSpread: ratios.hotOverSpread >= TARGETS.hotOverSpread,
      checkP99: check.p99Ms < TARGETS.checkP99Ms,
    },
    load: httpLoad,
  };
  // The last soak's figures stay (they carry their own date); `npm run bench -- --soak` replaces them.
  writeLatest({ ...results, soak: readLatest().soak });
  console.log(`${markdown(results)}\n\n${loadMarkdown(httpLoad)}`);
  step(`wrote ${LATEST}`);
} catch (error) {
  process.exitCode = 1;
  console.error(error);
} finally {
  await tidy();
}
