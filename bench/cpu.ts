import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { Redis } from 'ioredis';
import { withDefaultUser } from '../src/db/database.js';
import type { BenchEngine, RunningProcess } from './engine.js';

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat and of /proc/stat (100 on Linux). */
const TICKS_PER_SECOND = 100;
/** The bench's own PostgreSQL sessions say so, and are not counted as the engine's. */
export const BENCH_APPLICATION = 'bench';

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0; // gone: a PostgreSQL backend that closed, say
  }
}

/** Busy and total CPU seconds of the whole machine, all cores (/proc/stat). */
function machineSeconds(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = ticks.slice(0, 8).map(Number);
  const total = n.reduce((s, v) => s + v, 0);
  return { busy: (total - n[3]! - n[4]!) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** Microseconds during which some runnable task waited for a CPU (Linux PSI, /proc/pressure/cpu). */
function cpuStallMicros(): number {
  try {
    return Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
  } catch {
    return Number.NaN;
  }
}

/** Whether the kernel shares the CPU between sessions first (autogroup), then between their processes. */
export function autogroupScheduling(): boolean {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export interface ProcessCpu {
  name: string;
  /** Share of one core over the phase: 100 = one core busy the whole time. */
  percentOfCore: number;
}

/** Where the machine's CPU went during a phase, each in percent of one core except `machineBusyPercent`. */
export interface CpuReading {
  engine: ProcessCpu[];
  /** The PostgreSQL backends serving the engine's database (the bench's own sessions left out). */
  postgres: number;
  /** The whole Redis server (shared with whatever else uses it). */
  redis: number;
  /** This process: autocannon and the lag poller. */
  loadGenerator: number;
  /** Everything else on the machine: other work, PostgreSQL's background processes. */
  other: number;
  /** Busy share of all cores (100 = every core busy). */
  machineBusyPercent: number;
  /** Share of the phase during which some runnable task waited for a CPU (PSI "some"; NaN without PSI). */
  cpuStallPercent: number;
}

/** Measures CPU from `start()` to `read()`: the engine's processes, its PostgreSQL backends, Redis, the load generator. */
export class CpuMeter {
  private t0 = 0;
  private engine0: number[] = [];
  private backends0 = new Map<number, number>();
  private redis0 = 0;
  private self0 = process.cpuUsage();
  private machine0 = { busy: 0, total: 0 };
  private stall0 = 0;
  private readonly db: pg.Client;
  private readonly redis: Redis;

  constructor(private readonly engine: BenchEngine) {
    this.db = new pg.Client({ connectionString: withDefaultUser(engine.config.databaseUrl), application_name: BENCH_APPLICATION });
    this.redis = new Redis(engine.config.redisUrl);
  }

  private get processes(): RunningProcess[] {
    return this.engine.processes;
  }

  private async backends(): Promise<Map<number, number>> {
    const { rows } = await this.db.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = current_database() and application_name <> $1',
      [BENCH_APPLICATION],
    );
    return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]));
  }

  private async redisSeconds(): Promise<number> {
    const info = await this.redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    return field('used_cpu_sys') + field('used_cpu_user');
  }

  async start(): Promise<this> {
    await this.db.connect();
    await this.restart();
    return this;
  }

  /** CPU since start() (or the last restart()). */
  async read(): Promise<CpuReading> {
    const seconds = (performance.now() - this.t0) / 1000;
    const machine = machineSeconds();
    const self = process.cpuUsage(this.self0);
    const engineNow = this.processes.map((p) => cpuSeconds(p.pid));
    const backends = await this.backends();
    const redis = await this.redisSeconds();
    const pct = (cpu: number) => (100 * cpu) / seconds;
    const engine = this.processes.map((p, i) => ({ name: p.name, percentOfCore: pct(engineNow[i]! - this.engine0[i]!) }));
    // A backend that opened during the phase counts from zero; one that closed is lost (pools keep theirs).
    const postgres = pct([...backends].reduce((s, [pid, cpu]) => s + cpu - (this.backends0.get(pid) ?? 0), 0));
    const reading = {
      engine,
      postgres,
      redis: pct(redis - this.redis0),
      loadGenerator: pct((self.user + self.system) / 1e6),
      machineBusyPercent: (100 * (machine.busy - this.machine0.busy)) / (machine.total - this.machine0.total),
      cpuStallPercent: (cpuStallMicros() - this.stall0) / 1e4 / seconds,
    };
    const machineCores = (reading.machineBusyPercent / 100) * availableParallelism() * 100;
    const accounted = engine.reduce((s, e) => s + e.percentOfCore, 0) + reading.postgres + reading.redis + reading.loadGenerator;
    return { ...reading, other: Math.max(0, machineCores - accounted) };
  }

  /** Starts a new interval from now (the soak's windows). */
  async restart(): Promise<void> {
    this.backends0 = await this.backends();
    this.redis0 = await this.redisSeconds();
    this.engine0 = this.processes.map((p) => cpuSeconds(p.pid));
    this.self0 = process.cpuUsage();
    this.machine0 = machineSeconds();
    this.stall0 = cpuStallMicros();
    this.t0 = performance.now();
  }

  async end(): Promise<void> {
    await this.db.end();
    this.redis.disconnect();
  }
}
