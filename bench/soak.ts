import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { describeMachine, type Machine } from './machine.js';
import { TWO_BY_TWO } from './topology.js';
import { step, withEngine } from './session.js';
import { runHttpLoad, type HttpLoadResult } from './http-load.js';
import { openLoadAccounts, usageLoad } from './topology-load.js';
import { ApplyLag, type ApplyLagResult } from './apply-lag.js';
import { LedgerProgress } from './ledger-progress.js';
import { readMemory, RssWindows, type RssWindow } from './rss.js';
import { autogroupScheduling, CpuMeter } from './cpu.js';
import { mean, slope } from './stats.js';

/** `npm run bench -- --soak` (10 minutes) or BENCH_SOAK_MINUTES=n: the soak alone, instead of the default run. */
export function soakMinutes(argv = process.argv, env = process.env): number | undefined {
  const minutes = env.BENCH_SOAK_MINUTES ? Number(env.BENCH_SOAK_MINUTES) : undefined;
  if (minutes !== undefined && !(minutes > 0)) throw new Error(`BENCH_SOAK_MINUTES must be a positive number, not ${env.BENCH_SOAK_MINUTES}`);
  return argv.includes('--soak') ? (minutes ?? 10) : minutes;
}

export interface SoakSample {
  /** Seconds since the load started, at the end of the window. */
  atSeconds: number;
  acceptedPerSecond: number;
  appliedPerSecond: number;
  /** Accepted but not yet applied at the end of the window. */
  backlog: number;
  lagP50Ms: number;
  lagP99Ms: number;
  /** Each engine process's VmRSS over the window, read every second. */
  rss: Record<string, RssWindow>;
  /** Percent of one core over the window, by engine process, plus `postgres`, `redis`, `loadGenerator`, `other`. */
  cpuPercentOfCore: Record<string, number>;
  machineBusyPercent: number;
  /** Share of the window during which some runnable task waited for a CPU (PSI). */
  cpuStallPercent: number;
  /** Redis INFO used_memory (the Redis is shared: other work on it shows here too). */
  redisUsedMb: number;
  load1m: number;
}

export interface SoakProcess {
  name: string;
  roles: string;
  /** Mean of the window floors (lowest RSS of each window) of the first and of the last minute. */
  firstMinuteMb: number;
  lastMinuteMb: number;
  /** Least-squares slope of the window floors after the first minute. */
  slopeMbPerMinute: number;
  peakMb: number;
  /** null: too short a soak to tell (fewer than two samples after the first minute). */
  flat: boolean | null;
}

export interface SoakResults {
  at: string;
  machine: Machine;
  topology: string;
  minutes: number;
  connections: number;
  scheduler: { autogroup: boolean; ownSessions: boolean };
  sampleSeconds: number;
  samples: SoakSample[];
  http: HttpLoadResult;
  applied: number;
  drainSeconds: number;
  lag: ApplyLagResult;
  throughput: { firstMinute: number; lastMinute: number; ratio: number; held: boolean };
  /**
   * Least-squares growth of the backlog (accepted, not yet applied) over the soak, in events per second:
   * about 0 when the workers keep up; the accepted rate minus the applied rate when they do not.
   */
  backlog: { growthPerSecond: number; atEnd: number; keptUp: boolean };
  memory: SoakProcess[];
  redis: { usedMbAtStart: number; usedMbAtEnd: number; usageKeysAtEnd: number };
}

/** Throughput "held" when the last minute accepted at least this share of the first minute's rate. */
const HELD_RATIO = 0.9;
/** The workers "kept up" when the backlog grew by less than this share of the accepted rate. */
const KEPT_UP_SHARE = 0.02;
/** Memory "flat" when the RSS floor grew less than this after the first minute. */
const FLAT_MB_PER_MINUTE = 1;

async function redisUsedMb(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN) / 2 ** 20;
}

async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let [cursor, n] = ['0', 0];
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    [cursor, n] = [next, n + keys.length];
  } while (cursor !== '0');
  return n;
}

/** Holds single-event usage load on two API and two worker processes, sampling every `sampleSeconds`. */
export function measureSoak(minutes: number, connections: number, sampleSeconds = 30): Promise<SoakResults> {
  return withEngine(TWO_BY_TWO, async (engine, iso) => {
    const machine = await describeMachine(engine.config.databaseUrl, engine.config.redisUrl, loadavg()[0]!);
    const redis = new Redis(iso.redisUrl);
    try {
      step('soak: opening 200 accounts and warming up for 5 s');
      const accounts = await openLoadAccounts(engine, 'soak', 200, minutes * 60 + 60);
      const warm = await new LedgerProgress(engine.config.databaseUrl, accounts.userIds, accounts.cost).start();
      await warm.waitFor((await runHttpLoad({ ...usageLoad(engine, accounts.userIds, 'warmup'), connections, seconds: 5 })).requests).finally(() => warm.end());

      const progress = await new LedgerProgress(engine.config.databaseUrl, accounts.userIds, accounts.cost).start();
      const lag = await new ApplyLag(engine.config.databaseUrl).start();
      const cpu = await new CpuMeter(engine).start();
      const samples: SoakSample[] = [];
      const redisAtStart = await redisUsedMb(redis);
      let accepted = 0;
      step(`soak: POST /v1/usage from ${connections} connections for ${minutes} min on ${TWO_BY_TWO.name}, a sample every ${sampleSeconds} s`);
      const t0 = performance.now();
      const load = runHttpLoad({
        ...usageLoad(engine, accounts.userIds, 'soak'),
        connections,
        seconds: minutes * 60,
        onSuccess: (body) => {
          accepted++;
          lag.accepted(body);
        },
      });
      let finished = false;
      void load.finally(() => (finished = true)).catch(() => {});
      await cpu.restart();
      const rssWindows = new RssWindows(engine.processes);
      let last = { at: t0, accepted: 0, applied: 0 };
      for (let k = 1; k <= Math.floor((minutes * 60) / sampleSeconds) && !finished; k++) {
        await new Promise((r) => setTimeout(r, Math.max(0, t0 + k * sampleSeconds * 1000 - performance.now())));
        const [at, acceptedNow, appliedNow] = [performance.now(), accepted, await progress.applied()];
        const seconds = (at - last.at) / 1000;
        const window = lag.window();
        const rss = rssWindows.take();
        const reading = await cpu.read();
        await cpu.restart();
        samples.push({
          atSeconds: (at - t0) / 1000,
          acceptedPerSecond: (acceptedNow - last.accepted) / seconds,
          appliedPerSecond: (appliedNow - last.applied) / seconds,
          backlog: acceptedNow - appliedNow,
          lagP50Ms: window.seen.p50,
          lagP99Ms: window.seen.p99,
          rss,
          cpuPercentOfCore: {
            ...Object.fromEntries(reading.engine.map((c) => [c.name, c.percentOfCore])),
            postgres: reading.postgres,
            redis: reading.redis,
            loadGenerator: reading.loadGenerator,
            other: reading.other,
          },
          machineBusyPercent: reading.machineBusyPercent,
          cpuStallPercent: reading.cpuStallPercent,
          redisUsedMb: await redisUsedMb(redis),
          load1m: loadavg()[0]!,
        });
        const s = samples.at(-1)!;
        step(`soak ${s.atSeconds.toFixed(0)} s: ${s.acceptedPerSecond.toFixed(0)} accepted/s, ${s.appliedPerSecond.toFixed(0)} applied/s, backlog ${s.backlog}, RSS floors ${Object.values(rss).map((m) => m.floorMb.toFixed(0)).join('/')} MB, load ${s.load1m.toFixed(2)}`);
        last = { at, accepted: acceptedNow, applied: appliedNow };
      }
      const http = await load.finally(() => rssWindows.stop());
      const stopped = performance.now();
      step(`soak: load stopped after ${http.requests} events accepted; waiting for the backlog`);
      await progress.waitFor(http.requests, 60_000);
      const drainSeconds = (performance.now() - stopped) / 1000;
      const lagResult = await lag.stop();
      await cpu.end();
      const outcomes = await progress.outcomes('soak');
      await progress.end();
      const applied = outcomes.applied ?? 0;
      if (applied < http.requests || Object.keys(outcomes).length !== 1) throw new Error(`soak: ${http.requests} accepted, settled ${JSON.stringify(outcomes)}`);

      const perMinute = Math.max(1, Math.round(60 / sampleSeconds));
      const first = samples.slice(0, perMinute);
      const lastMinute = samples.slice(-perMinute);
      const throughput = { firstMinute: mean(first.map((s) => s.acceptedPerSecond)), lastMinute: mean(lastMinute.map((s) => s.acceptedPerSecond)) };
      const ratio = throughput.lastMinute / throughput.firstMinute;
      const growthPerSecond = slope(samples.map((s) => [s.atSeconds, s.backlog]));
      const memory = engine.processes.map((p) => {
        const floor = (s: SoakSample) => s.rss[p.name]!.floorMb;
        const series = samples.map((s) => [s.atSeconds / 60, floor(s)] as [number, number]);
        const slopeMbPerMinute = slope(series.filter(([minute]) => minute > 1.01));
        return {
          name: p.name,
          roles: p.roles,
          firstMinuteMb: mean(first.map(floor)),
          lastMinuteMb: mean(lastMinute.map(floor)),
          slopeMbPerMinute,
          peakMb: readMemory(p.pid)?.peakMb ?? NaN,
          flat: Number.isNaN(slopeMbPerMinute) ? null : slopeMbPerMinute < FLAT_MB_PER_MINUTE,
        };
      });
      const redisStats = { usedMbAtStart: redisAtStart, usedMbAtEnd: await redisUsedMb(redis), usageKeysAtEnd: await countKeys(redis, `${iso.prefix}:usage-key:*`) };
      return {
        at: new Date().toISOString(),
        machine,
        topology: TWO_BY_TWO.name,
        minutes,
        connections,
        scheduler: { autogroup: autogroupScheduling(), ownSessions: process.env.BENCH_OWN_SESSIONS === '1' },
        sampleSeconds,
        samples,
        http,
        applied,
        drainSeconds,
        lag: lagResult,
        throughput: { ...throughput, ratio, held: ratio >= HELD_RATIO },
        backlog: { growthPerSecond, atEnd: samples.at(-1)?.backlog ?? 0, keptUp: growthPerSecond < KEPT_UP_SHARE * throughput.lastMinute },
        memory,
        redis: redisStats,
      };
    } finally {
      redis.disconnect();
    }
  });
}
