// `npm run bench -- --analytics-contention`: POST /v1/check latency alone, then while admins load
// GET /admin/api/analytics in closed loops, on an API process and a workers process. Analytics read through
// a pool of their own (TOKENS_DATABASE_READ_POOL_SIZE) or the replica (DATABASE_READ_URL, when set in the
// environment). BENCH_ENGINE_ROOT=/path/to/another/checkout measures that build instead (an older one, to
// compare). Knobs: BENCH_ANALYTICS_EVENTS (30000), BENCH_ANALYTICS_LOOPS (4), BENCH_CHECK_SECONDS (10).
import { ADMIN_KEY } from './engine.js';
import { measureCheckLatency, type CheckLatency } from './check-latency.js';
import { measureUsageThroughput, openAccounts } from './usage-throughput.js';
import { step, withEngine } from './session.js';
import { SPLIT } from './topology.js';
import { ascending, percentile } from './stats.js';

const EVENTS = Number(process.env.BENCH_ANALYTICS_EVENTS ?? 30_000);
const LOOPS = Number(process.env.BENCH_ANALYTICS_LOOPS ?? 4);
const SECONDS = Number(process.env.BENCH_CHECK_SECONDS ?? 10);
const FEATURE = 'profile_basic';

export async function runAnalyticsContention(): Promise<number> {
  const rows = await withEngine(SPLIT, async (engine) => {
    const userIds = Array.from({ length: 200 }, (_, i) => `contention-${i}`);
    await openAccounts(engine, userIds, 'enterprise_pro', 1_000_000);
    // A pricing rule on the feature, so every use carries a rule for analytics' pricing-rule effects.
    const rule = await engine.call(ADMIN_KEY, 'PUT', '/admin/api/pricing-rules/bench-double', { match: { features: [FEATURE] }, multiplier: 2 });
    if (rule.status !== 200 && rule.status !== 201) throw new Error(`pricing rule: ${rule.status} ${JSON.stringify(rule.body)}`);
    step(`applying ${EVENTS} uses`);
    await measureUsageThroughput(engine, { label: 'contention', events: EVENTS, userIds, feature: FEATURE, batchSize: 1000, inFlight: 4 }, 2);
    const run = await engine.call(ADMIN_KEY, 'POST', '/admin/api/jobs/rollups/run', {});
    if (run.status !== 202) throw new Error(`rollups: ${run.status}`);

    const load = { userId: userIds[0]!, feature: FEATURE, connections: 10, seconds: SECONDS, warmupSeconds: 2 };
    step('check alone');
    const alone = await measureCheckLatency(engine, load);
    step(`check while ${LOOPS} analytics loops run`);
    let stop = false;
    const analyticsMs: number[] = [];
    let failed = 0;
    const loops = Array.from({ length: LOOPS }, async () => {
      while (!stop) {
        const t0 = performance.now();
        const r = await engine.call(ADMIN_KEY, 'GET', '/admin/api/analytics');
        if (r.status === 200) analyticsMs.push(performance.now() - t0);
        else failed++;
      }
    });
    const during = await measureCheckLatency(engine, load);
    stop = true;
    await Promise.all(loops);
    return { alone, during, analyticsMs: ascending(analyticsMs), failed };
  });
  const line = (what: string, c: CheckLatency) =>
    `| ${what} | ${c.requestsPerSecond.toFixed(0)} | ${c.p50Ms.toFixed(1)} | ${c.p99Ms.toFixed(1)} | ${c.maxMs.toFixed(0)} | ${c.non2xx + c.errors} |`;
  console.log(`engine: ${process.env.BENCH_ENGINE_ROOT ?? 'this checkout'}; read pool ${process.env.TOKENS_DATABASE_READ_POOL_SIZE ?? 'default'}; replica ${process.env.DATABASE_READ_URL ? 'yes' : 'no'}`);
  console.log('| POST /v1/check, 10 connections | req/s | p50 ms | p99 ms | max ms | errors |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(line('alone', rows.alone));
  console.log(line(`while ${LOOPS} analytics loops run`, rows.during));
  const a = rows.analyticsMs;
  console.log(`analytics answered: ${a.length} (${rows.failed} failed), p50 ${a.length ? percentile(a, 50).toFixed(0) : '-'} ms, p99 ${a.length ? percentile(a, 99).toFixed(0) : '-'} ms`);
  return 0;
}
