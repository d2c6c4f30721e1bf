// npm run bench -- --cluster: single-event POST /v1/usage on a private Redis Cluster (three masters, three
// replicas on loopback) with WAIT for a replica (TOKENS_REDIS_WAIT_REPLICAS=1, the cluster's default) and
// without (0), and on the single shared Redis, all three side by side in the same run: three API processes
// (cluster WAIT 0, cluster WAIT 1, one Redis), the two cluster ones on one database with one workers
// process, the single-Redis one on its own database with its own. Side by side, a machine that gets busier
// or quieter during the run weighs on the three alike, which figures taken one after another cannot say.
// 1. One request at a time, in turn to each API: the service time of one accept, without queueing.
// 2. Load on all three at once, BENCH_LOAD_CONNECTIONS (48) split evenly, for BENCH_LOAD_SECONDS (15).
// 3. WAIT alone, on the queues' master: a write, and a write followed by WAIT 1 (one pipeline each, in
//    turn), so that what WAIT adds to a flush shows apart from the engine's own work.
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createRedis } from '../src/redis.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startPrivateCluster } from '../test/support/private-cluster.js';
import { API_KEY, startEngine, type BenchEngine } from './engine.js';
import { cleanup, isolation } from './isolation.js';
import { step } from './session.js';
import { SPLIT, type Topology } from './topology.js';
import { FEATURE, openLoadAccounts, usageLoad } from './topology-load.js';
import { runHttpLoad, type HttpLoadResult } from './http-load.js';
import { LedgerProgress } from './ledger-progress.js';
import { spread, type Spread } from './stats.js';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_LOAD_CONNECTIONS ?? 48);
const SEQUENTIAL_ROUNDS = 600;
const ACCOUNTS = 200;
const RESULTS = fileURLToPath(new URL('./results/cluster.json', import.meta.url));
const API_ONLY: Topology = { name: 'api process', processes: [{ name: 'api', roles: 'api' }] };

interface Variant {
  name: string;
  engine: BenchEngine;
  userIds: string[];
}

interface VariantResult {
  name: string;
  /** One request at a time (ms, measured by the bench around each request). */
  alone: Spread;
  /** Under load beside the other two. */
  load: HttpLoadResult;
}

export async function runClusterBench(): Promise<number> {
  step('starting a private Redis Cluster (3 masters, 3 replicas)');
  const cluster = await startPrivateCluster();
  const onCluster = isolation();
  const onSingle = isolation();
  const engines: BenchEngine[] = [];
  const progresses: LedgerProgress[] = [];
  try {
    const clusterNoWait = await startEngine({ ...onCluster, env: { ...cluster.env, TOKENS_REDIS_WAIT_REPLICAS: '0' } }, SPLIT);
    engines.push(clusterNoWait);
    const clusterWait = await startEngine({ ...onCluster, env: { ...cluster.env, TOKENS_REDIS_WAIT_REPLICAS: '1' } }, API_ONLY);
    engines.push(clusterWait);
    const single = await startEngine(onSingle, SPLIT);
    engines.push(single);
    const clusterAccounts = await openLoadAccounts(clusterNoWait, 'cluster', ACCOUNTS, 2 * SECONDS);
    const singleAccounts = await openLoadAccounts(single, 'single', ACCOUNTS, SECONDS);
    const variants: Variant[] = [
      { name: 'Redis Cluster 3+3, WAIT 0', engine: clusterNoWait, userIds: clusterAccounts.userIds },
      { name: 'Redis Cluster 3+3, WAIT 1', engine: clusterWait, userIds: clusterAccounts.userIds },
      { name: 'one Redis, WAIT 0', engine: single, userIds: singleAccounts.userIds },
    ];
    const clusterProgress = await new LedgerProgress(onCluster.databaseUrl, clusterAccounts.userIds, clusterAccounts.cost).start();
    const singleProgress = await new LedgerProgress(onSingle.databaseUrl, singleAccounts.userIds, singleAccounts.cost).start();
    progresses.push(clusterProgress, singleProgress);
    const loadAtStart = loadavg()[0]!;

    step(`${SEQUENTIAL_ROUNDS} rounds of one single-event POST /v1/usage to each API in turn`);
    const alone = variants.map(() => [] as number[]);
    for (let round = 0; round < SEQUENTIAL_ROUNDS; round++) {
      for (const [i, v] of variants.entries()) {
        const t0 = performance.now();
        const r = await v.engine.call(API_KEY, 'POST', '/v1/usage', { userId: v.userIds[round % v.userIds.length], feature: FEATURE, idempotencyKey: `alone-${i}-${round}` });
        if (r.status !== 202) throw new Error(`${v.name}: ${r.status} ${JSON.stringify(r.body)}`);
        if (round >= 50) alone[i]!.push(performance.now() - t0); // the first 50: warm-up
      }
    }

    step(`${SECONDS} s of single-event usage on the three APIs at once, ${CONNECTIONS / variants.length} connections each`);
    const loads = await Promise.all(
      variants.map((v, i) => runHttpLoad({ ...usageLoad(v.engine, v.userIds, `load-${i}`), connections: CONNECTIONS / variants.length, seconds: SECONDS })),
    );
    const loadAtEnd = loadavg()[0]!;
    step('waiting for every accepted event to be applied');
    await clusterProgress.waitFor(loads[0]!.requests + loads[1]!.requests + 2 * SEQUENTIAL_ROUNDS);
    await singleProgress.waitFor(loads[2]!.requests + SEQUENTIAL_ROUNDS);

    step('a write with and without WAIT 1 on the queues\' master, in turn');
    const redis = createRedis(clusterNoWait.config, 'failFast');
    const waitCost = { write: [] as number[], writeAndWait: [] as number[] };
    try {
      await once(redis, 'ready');
      const key = `${clusterNoWait.config.queuePrefix}:bench-wait`;
      for (let i = 0; i < 2_050; i++) {
        for (const withWait of [false, true]) {
          const t0 = performance.now();
          const pipeline = redis.pipeline().set(key, String(i));
          if (withWait) pipeline.wait(1, 500);
          await pipeline.exec();
          if (i >= 50) (withWait ? waitCost.writeAndWait : waitCost.write).push(performance.now() - t0);
        }
      }
    } finally {
      redis.disconnect();
    }
    const wait = { write: spread(waitCost.write), writeAndWait: spread(waitCost.writeAndWait) };

    const results: VariantResult[] = variants.map((v, i) => ({ name: v.name, alone: spread(alone[i]!), load: loads[i]! }));
    const f = (ms: number) => ms.toFixed(ms < 10 ? 2 : 0);
    console.log(
      [
        `Single-event POST /v1/usage, side by side in one run (1-minute load average ${loadAtStart.toFixed(1)} → ${loadAtEnd.toFixed(1)})`,
        '',
        `| API | alone p50 ms | alone p90 ms | alone p99 ms | under load: req/s (202) | p50 ms | p99 ms | other answers |`,
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...results.map(
          (r) =>
            `| ${r.name} | ${f(r.alone.p50)} | ${f(r.alone.p90)} | ${f(r.alone.p99)} | ${r.load.requestsPerSecond.toFixed(0)} | ${f(r.load.p50Ms)} | ${f(r.load.p99Ms)} | ${Object.keys(r.load.otherStatuses).length ? JSON.stringify(r.load.otherStatuses) : '-'} |`,
        ),
        '',
        `| on the queues' master, 2,000 each in turn | p50 ms | p90 ms | p99 ms |`,
        '| --- | --- | --- | --- |',
        `| SET | ${wait.write.p50.toFixed(3)} | ${wait.write.p90.toFixed(3)} | ${wait.write.p99.toFixed(3)} |`,
        `| SET + WAIT 1 500 | ${wait.writeAndWait.p50.toFixed(3)} | ${wait.writeAndWait.p90.toFixed(3)} | ${wait.writeAndWait.p99.toFixed(3)} |`,
      ].join('\n'),
    );
    mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
    writeFileSync(RESULTS, JSON.stringify({ measuredAt: new Date().toISOString(), loadAtStart, loadAtEnd, results, wait }, null, 2));
    return 0;
  } finally {
    for (const p of progresses) await p.end();
    for (const e of engines.reverse()) await e.stop();
    await cleanup(onCluster);
    await cleanup(onSingle);
    await cluster.stop();
  }
}
