import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { describeMachine, type Machine } from './machine.js';
import { TWO_BY_TWO } from './topology.js';
import { step, withEngine } from './session.js';
import { runHttpLoad, type HttpLoadResult } from './http-load.js';
import { openLoadAccounts, usageLoad } from './topology-load.js';
import { ApplyLag, type ApplyLagResult } from './apply-lag.js';
import { LedgerProgress } from './ledger-progress.js';
import { RssWindows, type RssWindow } from './rss.js';
import { autogroupScheduling, CpuMeter } from './cpu.js';
import { soakVerdicts, type SoakVerdicts } from './soak-verdicts.js';
import type { BenchEngine } from './engine.js';

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

export interface SoakResults extends SoakVerdicts {
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
  redis: { usedMbAtStart: number; usedMbAtEnd: number; usageKeysAtEnd: number };
}

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
    step('soak: opening 200 accounts and warming up for 5 s');
    const accounts = await openLoadAccounts(engine, 'soak', 200, minutes * 60 + 60);
    const warm = await new LedgerProgress(engine.config.databaseUrl, accounts.userIds, accounts.cost).start();
    try {
      await warm.waitFor((await runHttpLoad({ ...usageLoad(engine, accounts.userIds, 'warmup'), connections, seconds: 5 })).requests);
    } finally {
      await warm.end();
    }

    const redis = new Redis(iso.redisUrl);
    const progress = new LedgerProgress(engine.config.databaseUrl, accounts.userIds, accounts.cost);
    const lag = new ApplyLag(engine.config.databaseUrl);
    const cpu = new CpuMeter(engine);
    try {
      await Promise.all([progress.start(), lag.start(), cpu.start()]);
      const redisAtStart = await redisUsedMb(redis);
      step(`soak: POST /v1/usage from ${connections} connections for ${minutes} min on ${TWO_BY_TWO.name}, a sample every ${sampleSeconds} s`);
      const { http, samples } = await holdLoad({ engine, accounts, connections, minutes, sampleSeconds, progress, lag, cpu, redis });
      const stopped = performance.now();
      step(`soak: load stopped after ${http.requests} events accepted; waiting for the backlog`);
      await progress.waitFor(http.requests, 60_000);
      const drainSeconds = (performance.now() - stopped) / 1000;
      const lagResult = await lag.stop();
      const outcomes = await progress.outcomes('soak');
      const applied = outcomes.applied ?? 0;
      if (applied < http.requests || Object.keys(outcomes).length !== 1) throw new Error(`soak: ${http.requests} accepted, settled ${JSON.stringify(outcomes)}`);
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
        ...soakVerdicts(samples, sampleSeconds, engine.processes),
        redis: { usedMbAtStart: redisAtStart, usedMbAtEnd: await redisUsedMb(redis), usageKeysAtEnd: await countKeys(redis, `${iso.prefix}:usage-key:*`) },
      };
    } finally {
      await lag.stop(0).catch(() => {});
      await cpu.end().catch(() => {});
      await progress.end().catch(() => {});
      redis.disconnect();
    }
  });
}

interface Hold {
  engine: BenchEngine;
  accounts: { userIds: string[] };
  connections: number;
  minutes: number;
  sampleSeconds: number;
  progress: LedgerProgress;
  lag: ApplyLag;
  cpu: CpuMeter;
  redis: Redis;
}

/** The load itself, and a sample at the end of every window until it stops. */
async function holdLoad(h: Hold): Promise<{ http: HttpLoadResult; samples: SoakSample[] }> {
  let accepted = 0;
  const t0 = performance.now();
  const load = runHttpLoad({
    ...usageLoad(h.engine, h.accounts.userIds, 'soak'),
    connections: h.connections,
    seconds: h.minutes * 60,
    onSuccess: (body) => {
      accepted++;
      h.lag.accepted(body);
    },
  });
  let finished = false;
  void load.finally(() => (finished = true)).catch(() => {});
  await h.cpu.restart();
  const rssWindows = new RssWindows(h.engine.processes);
  const samples: SoakSample[] = [];
  try {
    let last = { at: t0, accepted: 0, applied: 0 };
    for (let k = 1; k <= Math.floor((h.minutes * 60) / h.sampleSeconds) && !finished; k++) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + k * h.sampleSeconds * 1000 - performance.now())));
      const [at, acceptedNow, appliedNow] = [performance.now(), accepted, await h.progress.applied()];
      const seconds = (at - last.at) / 1000;
      const lag = h.lag.window();
      const rss = rssWindows.take();
      const cpu = await h.cpu.read();
      await h.cpu.restart();
      samples.push({
        atSeconds: (at - t0) / 1000,
        acceptedPerSecond: (acceptedNow - last.accepted) / seconds,
        appliedPerSecond: (appliedNow - last.applied) / seconds,
        backlog: acceptedNow - appliedNow,
        lagP50Ms: lag.seen.p50,
        lagP99Ms: lag.seen.p99,
        rss,
        cpuPercentOfCore: {
          ...Object.fromEntries(cpu.engine.map((c) => [c.name, c.percentOfCore])),
          postgres: cpu.postgres,
          redis: cpu.redis,
          loadGenerator: cpu.loadGenerator,
          other: cpu.other,
        },
        machineBusyPercent: cpu.machineBusyPercent,
        cpuStallPercent: cpu.cpuStallPercent,
        redisUsedMb: await redisUsedMb(h.redis),
        load1m: loadavg()[0]!,
      });
      const s = samples.at(-1)!;
      const floors = Object.values(rss).map((m) => m.floorMb.toFixed(0)).join('/');
      step(`soak ${s.atSeconds.toFixed(0)} s: ${s.acceptedPerSecond.toFixed(0)} accepted/s, ${s.appliedPerSecond.toFixed(0)} applied/s, backlog ${s.backlog}, RSS floors ${floors} MB, load ${s.load1m.toFixed(2)}`);
      last = { at, accepted: acceptedNow, applied: appliedNow };
    }
    return { http: await load, samples };
  } finally {
    rssWindows.stop();
  }
}
