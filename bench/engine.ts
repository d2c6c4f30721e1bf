import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { loadConfig, type Config } from '../src/config.js';
import { createRedis } from '../src/redis.js';
import { bullmqConnection, type Isolation } from './isolation.js';
import { startArgs } from '../scripts/start-args.js';
import { hasRole, SPLIT, type EngineRole, type Topology } from './topology.js';

// BENCH_ENGINE_ROOT: the build of another checkout (an older one, to compare); by default this one's.
const root = process.env.BENCH_ENGINE_ROOT ?? fileURLToPath(new URL('../', import.meta.url));
// The engine's node flags and entry point, exactly as `npm start` runs them (package.json's start script).
const engineArgs = startArgs(root);
// Production settings (NODE_ENV=production) require keys of at least 32 characters.
export const API_KEY = 'bench-api-key-padded-to-32-characters';
export const ADMIN_KEY = 'bench-admin-key-padded-to-32-characters';

export interface RunningProcess extends EngineRole {
  pid: number;
}

export interface BenchEngine {
  config: Config;
  baseUrl: string;
  /** Every API process's base URL (baseUrl is the first). */
  baseUrls: string[];
  /** How the engine runs, for the report. */
  topology: string;
  /** The engine's OS processes, for memory and CPU readings. */
  processes: RunningProcess[];
  /** Each process's /metrics (an API's own port; TOKENS_METRICS_PORT for the others). */
  metricsUrls: Array<{ role: EngineRole; url: string }>;
  call<T = any>(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** What the processes logged (LOG_LEVEL=error: nothing, unless something went wrong). */
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

interface EngineProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** BENCH_CPU_PROF=<dir>: every engine process, and the floor server, writes a V8 CPU profile there when it exits (node --cpu-prof). */
export function cpuProfileArgs(): string[] {
  return process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
}

/** What `npm start` runs (the build; prebench makes it) as its own OS process, so signals reach the engine itself. */
function spawnRole(env: Record<string, string>): EngineProcess {
  const child = spawn(process.execPath, [...cpuProfileArgs(), ...engineArgs], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // BENCH_OWN_SESSIONS=1: each process in a session of its own. Linux's autogroup scheduler shares the
    // CPU between sessions, so by default every engine process shares the bench's one share of a busy
    // machine; on their own they compete as separate machines' processes would (and take more of it).
    detached: process.env.BENCH_OWN_SESSIONS === '1',
  });
  const output: string[] = [];
  const keep = (d: Buffer) => output.push(d.toString());
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** Polls `check` (which throws to say why it is not ready yet) until it passes, the process dies, or time runs out. */
async function until(what: string, proc: EngineProcess, check: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`engine (${what}) exited with ${proc.child.exitCode}:\n${proc.output.join('')}`);
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`engine (${what}) not ready after ${timeoutMs} ms (${String(error)}):\n${proc.output.join('')}`);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopProcess(proc: EngineProcess, timeoutMs = 20_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  await proc.exited;
  clearTimeout(timer);
}

/**
 * Runs the engine as OS processes laid out as `topology` (by default the way it is deployed: an API
 * process and a workers process), each with quiet logs, its own loopback port and the system clock.
 */
export async function startEngine(iso: Isolation, topology: Topology = SPLIT): Promise<BenchEngine> {
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: iso.databaseUrl,
    REDIS_URL: iso.redisUrl,
    TOKENS_QUEUE_PREFIX: iso.prefix,
    TOKENS_API_KEYS: API_KEY,
    TOKENS_ADMIN_KEYS: ADMIN_KEY,
    TOKENS_TEST_CLOCK: 'off',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    ...iso.env,
  };
  const config = loadConfig({ ...process.env, ...env });
  const ports = new Map<EngineRole, number>();
  for (const role of topology.processes) {
    let port = await freePort();
    while ([...ports.values()].includes(port)) port = await freePort();
    ports.set(role, port);
  }
  const baseUrls = topology.processes.filter((r) => hasRole(r, 'api')).map((r) => `http://127.0.0.1:${ports.get(r)}`);
  const metricsUrls = topology.processes.map((role) => ({ role, url: `http://127.0.0.1:${ports.get(role)}/metrics` }));
  const baseUrl = baseUrls[0];
  if (!baseUrl) throw new Error(`topology ${topology.name} runs no API process`);
  const call: BenchEngine['call'] = async (key, method, path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      signal: AbortSignal.timeout(30_000),
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const procs: EngineProcess[] = [];
  const running: RunningProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
  };
  const launch = async (role: EngineRole) => {
    const port = ports.get(role);
    const proc = spawnRole({ ...env, TOKENS_ROLES: role.roles, ...(hasRole(role, 'api') ? { PORT: String(port) } : { PORT: '0', TOKENS_METRICS_PORT: String(port) }) });
    procs.push(proc);
    running.push({ ...role, pid: proc.child.pid! });
    await until(role.name, proc, async () => {
      const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.status !== 200) throw new Error(`/health answered ${r.status} ${await r.text()}`);
    });
  };
  try {
    // An API first: it migrates and seeds the new database, so the other processes find it ready.
    const [first, ...rest] = [...topology.processes].sort((a, b) => Number(hasRole(b, 'api')) - Number(hasRole(a, 'api')));
    await launch(first!);
    await Promise.all(rest.map(launch));

    const workerProcesses = topology.processes.filter((p) => hasRole(p, 'workers')).length;
    const cluster = config.redisClusterNodes ? createRedis(config, 'blocking') : undefined;
    const usage = new Queue('usage', { connection: cluster ?? bullmqConnection(iso), prefix: config.queuePrefix });
    try {
      await until('workers', procs[0]!, async () => {
        const dead = procs.find((p) => p.child.exitCode !== null);
        if (dead) throw new Error(`an engine process exited with ${dead.child.exitCode}:\n${dead.output.join('')}`);
        const n = await usage.getWorkersCount();
        if (n < workerProcesses) throw new Error(`${n} of ${workerProcesses} usage workers registered`);
      });
    } finally {
      await usage.close();
      cluster?.disconnect();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    config,
    baseUrl,
    baseUrls,
    topology: topology.name,
    processes: running,
    metricsUrls,
    call,
    logs: () => procs.flatMap((p) => p.output).join(''),
    stop,
  };
}
