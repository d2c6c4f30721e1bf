import { spawn, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { API_KEY, cpuProfileArgs, type BenchEngine, type RunningProcess } from './engine.js';
import type { Isolation } from './isolation.js';
import { API_ALONE } from './topology.js';
import { step, withEngine } from './session.js';
import { openLoadAccounts } from './topology-load.js';
import { RssSampler, type ProcessMemory } from './rss.js';
import type { ClientResult, ClientSpec } from './load-client.js';
import { CpuMeter } from './cpu.js';
import { spread } from './stats.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const FEATURE = 'profile_basic';

export type FloorPath = '/v1/check' | '/v1/usage';

export interface FloorSettings {
  paths: FloorPath[];
  /** Connections of each timed phase, e.g. [50, 1]. */
  connections: number[];
  seconds: number;
  /** One connection needs less time for a stable median. */
  secondsAlone: number;
  warmupSeconds: number;
  /**
   * Each side's timed seconds are split over this many runs, the two sides alternating (floor, engine,
   * engine, floor, ...), so that a machine whose speed drifts over seconds slows both alike.
   */
  rounds: number;
  accounts: number;
}

/** CPU per answered request during a timed phase, in microseconds: the server process, its PostgreSQL backends, Redis (the whole server). */
export interface CpuPerRequest {
  serverUs: number;
  postgresUs: number;
  redisUs: number;
}

/** One side of a phase, its runs pooled: the percentiles are of every timed answer of every run. */
export interface Measured extends Omit<ClientResult, 'timesUs'> {
  cpu: CpuPerRequest;
  /** Each run's own p50, in the order run. */
  runP50sUs: number[];
}

export interface FloorRow {
  path: FloorPath;
  connections: number;
  floor: Measured;
  engine: Measured;
  /** engine req/s ÷ floor req/s. */
  throughputRatio: number;
  /** engine p50 ÷ floor p50. */
  p50Ratio: number;
  loadAtStart: number;
  loadAtEnd: number;
}

export interface FloorComparison {
  rows: FloorRow[];
  /** Peak RSS of the floor server and of the engine's API process over the whole comparison. */
  memory: ProcessMemory[];
  loadAtStart: number;
  loadAtEnd: number;
}

export const FLOOR_TARGETS = { usage: 1.0, check: 0.9, checkAloneP50: 1.2 };

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

interface FloorServer {
  baseUrl: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** bench/floor-server.ts as its own OS process on the engine's database and Redis. */
export async function startFloor(iso: Isolation, databaseUrl: string): Promise<FloorServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...cpuProfileArgs(), '--import', 'tsx', 'bench/floor-server.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: iso.redisUrl, FLOOR_PREFIX: `${iso.prefix}:floor`, PORT: String(port), FLOOR_API_KEY: API_KEY, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = once(child, 'exit');
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`floor server exited with ${child.exitCode}:\n${output.join('')}`);
    const ok = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`floor server not ready after 30 s:\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    baseUrl,
    process: { name: 'floor', roles: 'api', pid: child.pid! } as RunningProcess,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs bench/load-client.ts in a process of its own with `spec`; its answer. */
export async function runClient(spec: ClientSpec, onTimed: () => void): Promise<ClientResult> {
  const child = fork(fileURLToPath(new URL('./load-client.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const answer = new Promise<{ result?: ClientResult; error?: string }>((resolve) => {
    child.on('message', (m: { timed?: true; result?: ClientResult; error?: string }) => (m.timed ? onTimed() : resolve(m)));
    child.once('exit', (code) => resolve({ error: `exited with ${code}` }));
  });
  child.send(spec);
  const message = await answer;
  await once(child, 'exit').catch(() => undefined);
  if (!message.result) throw new Error(`load client: ${message.error}`);
  return message.result;
}

/**
 * The floor comparison: the engine's API process alone (no workers: the floor applies nothing either)
 * and the floor server, both on the run's database with the same accounts and on the same Redis; for
 * each path and each connection count, the floor then the engine under the same closed loop.
 */
export function measureFloor(settings: FloorSettings): Promise<FloorComparison> {
  return withEngine(API_ALONE, async (engine: BenchEngine, iso) => {
    step(`floor: opening ${settings.accounts} accounts`);
    const accounts = await openLoadAccounts(engine, 'floor', settings.accounts, 60);
    const floor = await startFloor(iso, engine.config.databaseUrl);
    const rss = new RssSampler([floor.process, ...engine.processes]).start();
    try {
      const loadAtStart = loadavg()[0]!;
      const rows: FloorRow[] = [];
      let run = 0;
      for (const path of settings.paths) {
        for (const connections of settings.connections) {
          const seconds = connections === 1 ? settings.secondsAlone : settings.seconds;
          const phaseLoad = loadavg()[0]!;
          const runOnce = async (baseUrl: string, who: string, server: RunningProcess, round: number): Promise<ClientResult & { cpu: CpuPerRequest }> => {
            // The first run of each side warms it up; later runs only warm their new connections.
            const warmupSeconds = round === 0 ? settings.warmupSeconds : 1;
            step(`floor: ${path}, ${connections} connection(s), ${who}, run ${round + 1} of ${settings.rounds}: ${warmupSeconds} s warm-up + ${seconds / settings.rounds} s`);
            const meter = await new CpuMeter({ processes: [server], config: engine.config } as unknown as BenchEngine).start();
            try {
              const result = await client(baseUrl, warmupSeconds, seconds / settings.rounds, () => void meter.restart());
              const cpu = await meter.read();
              const per = (percentOfCore: number) => (percentOfCore / 100) * 1e6 / result.requestsPerSecond;
              return { ...result, cpu: { serverUs: per(cpu.engine[0]!.percentOfCore), postgresUs: per(cpu.postgres), redisUs: per(cpu.redis) } };
            } finally {
              await meter.end();
            }
          };
          const client = (baseUrl: string, warmupSeconds: number, timedSeconds: number, onTimed: () => void) =>
            runClient({
              baseUrl,
              path,
              apiKey: API_KEY,
              userIds: accounts.userIds,
              feature: FEATURE,
              keyPrefix: `floor-${run++}`,
              connections,
              warmupSeconds,
              seconds: timedSeconds,
            }, onTimed);
          const runs: Record<'floor' | 'engine', Array<ClientResult & { cpu: CpuPerRequest }>> = { floor: [], engine: [] };
          for (let round = 0; round < settings.rounds; round++) {
            const sides = round % 2 === 0 ? (['floor', 'engine'] as const) : (['engine', 'floor'] as const);
            for (const side of sides) {
              runs[side].push(side === 'floor' ? await runOnce(floor.baseUrl, 'floor', floor.process, round) : await runOnce(engine.baseUrl, 'engine', engine.processes[0]!, round));
            }
          }
          const floorResult = pooled(runs.floor);
          const engineResult = pooled(runs.engine);
          for (const [who, r] of [['floor', floorResult], ['engine', engineResult]] as const) {
            if (r.requests === 0 || r.errors > 0 || Object.keys(r.otherStatuses).length > 0) {
              throw new Error(`${who} ${path}: ${r.requests} 2xx, ${r.errors} errors, others ${JSON.stringify(r.otherStatuses)}`);
            }
          }
          rows.push({
            path,
            connections,
            floor: floorResult,
            engine: engineResult,
            throughputRatio: engineResult.requestsPerSecond / floorResult.requestsPerSecond,
            p50Ratio: engineResult.p50Us / floorResult.p50Us,
            loadAtStart: phaseLoad,
            loadAtEnd: loadavg()[0]!,
          });
        }
      }
      return { rows, memory: rss.stop(), loadAtStart, loadAtEnd: loadavg()[0]! };
    } finally {
      rss.stop();
      await floor.stop();
    }
  });
}

/** One side's runs as one result: counts and seconds summed, percentiles over every answer, CPU weighted by requests. */
function pooled(runs: Array<ClientResult & { cpu: CpuPerRequest }>): Measured {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const s = spread(runs.flatMap((r) => r.timesUs));
  const weighted = (pick: (c: CpuPerRequest) => number) => runs.reduce((sum, r) => sum + pick(r.cpu) * r.requests, 0) / requests;
  const otherStatuses: Record<string, number> = {};
  for (const r of runs) for (const [status, n] of Object.entries(r.otherStatuses)) otherStatuses[status] = (otherStatuses[status] ?? 0) + n;
  return {
    connections: runs[0]!.connections,
    seconds,
    requests,
    requestsPerSecond: requests / seconds,
    p50Us: s.p50,
    p90Us: s.p90,
    p99Us: s.p99,
    maxUs: s.max,
    otherStatuses,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    cpu: { serverUs: weighted((c) => c.serverUs), postgresUs: weighted((c) => c.postgresUs), redisUs: weighted((c) => c.redisUs) },
    runP50sUs: runs.map((r) => r.p50Us),
  };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const us = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} ms` : `${Math.round(n)} µs`);

/** Whether a row meets its target, and the target as words; undefined for rows without one. */
export function floorTarget(row: FloorRow): { met: boolean; target: string } | undefined {
  if (row.connections === 1) {
    return row.path === '/v1/check' ? { met: row.p50Ratio <= FLOOR_TARGETS.checkAloneP50, target: `p50 ≤ ${FLOOR_TARGETS.checkAloneP50} × floor` } : undefined;
  }
  const want = row.path === '/v1/check' ? FLOOR_TARGETS.check : FLOOR_TARGETS.usage;
  return { met: row.throughputRatio >= want, target: `req/s ≥ ${want.toFixed(1)} × floor` };
}

export function floorMarkdown(c: FloorComparison): string {
  const lines = [
    `Floor and engine, one API process each on the same PostgreSQL and Redis (engine: API role only, no workers), closed loop of keep-alive connections from a separate load process, each side's time split over ${c.rows[0]?.floor.runP50sUs.length ?? 0} runs that alternate with the other side's (floor, engine, engine, floor, ...), percentiles over every run's answers (load average ${c.loadAtStart.toFixed(2)} → ${c.loadAtEnd.toFixed(2)}):`,
    '',
    '| path | connections | floor req/s | floor p50 / p99 | engine req/s | engine p50 / p99 | engine / floor req/s | engine / floor p50 | target | load avg |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...c.rows.map((r) => {
      const t = floorTarget(r);
      const path = r.path === '/v1/usage' ? 'POST /v1/usage (1 event)' : 'POST /v1/check';
      return `| ${path} | ${r.connections} | ${int(r.floor.requestsPerSecond)} | ${us(r.floor.p50Us)} / ${us(r.floor.p99Us)} | ${int(r.engine.requestsPerSecond)} | ${us(r.engine.p50Us)} / ${us(r.engine.p99Us)} | ${r.throughputRatio.toFixed(2)} | ${r.p50Ratio.toFixed(2)} | ${t ? `${t.target}: ${t.met ? 'met' : 'MISSED'}` : ''} | ${r.loadAtStart.toFixed(2)} → ${r.loadAtEnd.toFixed(2)} |`;
    }),
    '',
    'Each run\'s own p50, in the order run:',
    '',
    '| path | connections | floor | engine |',
    '| --- | --- | --- | --- |',
    ...c.rows.map((r) => `| ${r.path} | ${r.connections} | ${r.floor.runP50sUs.map(us).join(', ')} | ${r.engine.runP50sUs.map(us).join(', ')} |`),
    '',
    'CPU per answered request (µs of one core, over the timed phase): the server process, its PostgreSQL backends, and the whole Redis server (shared with other work):',
    '',
    '| path | connections | floor: server / PostgreSQL / Redis | engine: server / PostgreSQL / Redis |',
    '| --- | --- | --- | --- |',
    ...c.rows.map((r) => {
      const cpu = (m: Measured) => `${Math.round(m.cpu.serverUs)} / ${Math.round(m.cpu.postgresUs)} / ${Math.round(m.cpu.redisUs)}`;
      return `| ${r.path} | ${r.connections} | ${cpu(r.floor)} | ${cpu(r.engine)} |`;
    }),
    '',
    '| process | peak RSS (VmHWM) | max RSS sampled | RSS at end |',
    '| --- | --- | --- | --- |',
    ...c.memory.map((m) => `| ${m.name === 'floor' ? 'floor server (under tsx)' : `engine ${m.name}`} | ${int(m.peakMb)} MB | ${int(m.maxSampledMb)} MB | ${int(m.endMb)} MB |`),
  ];
  return lines.join('\n');
}
