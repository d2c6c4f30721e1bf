import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { loadConfig, type Config } from '../src/config.js';
import { bullmqConnection, type Isolation } from './isolation.js';

const root = fileURLToPath(new URL('../', import.meta.url));
export const API_KEY = 'bench-api-key';
export const ADMIN_KEY = 'bench-admin-key';

export interface BenchEngine {
  config: Config;
  baseUrl: string;
  /** How the engine runs, for the report. */
  topology: string;
  call<T = any>(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
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

/** `npm start`'s entry point as its own OS process (node --import tsx, so signals reach the engine itself). */
function spawnRole(env: Record<string, string>): EngineProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
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
 * Runs the engine as two processes, the way it is deployed: an API process and a workers process
 * (workers + scheduler), both with quiet logs, a fixed loopback port and the system clock.
 */
export async function startEngine(iso: Isolation): Promise<BenchEngine> {
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: iso.databaseUrl,
    REDIS_URL: iso.redisUrl,
    TOKENS_QUEUE_PREFIX: iso.prefix,
    TOKENS_API_KEYS: API_KEY,
    TOKENS_ADMIN_KEYS: ADMIN_KEY,
    TOKENS_TEST_CLOCK: 'off',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'error',
  };
  const config = loadConfig({ ...process.env, ...env });
  const baseUrl = `http://127.0.0.1:${port}`;
  const call: BenchEngine['call'] = async (key, method, path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const procs: EngineProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
  };
  try {
    // The API first: it migrates and seeds the new database, so the workers process finds it ready.
    const api = spawnRole({ ...env, TOKENS_ROLES: 'api' });
    procs.push(api);
    await until('api', api, async () => {
      const r = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.status !== 200) throw new Error(`/health answered ${r.status} ${await r.text()}`);
    });

    const workers = spawnRole({ ...env, TOKENS_ROLES: 'workers,scheduler' });
    procs.push(workers);
    const usage = new Queue('usage', { connection: bullmqConnection(iso), prefix: iso.prefix });
    try {
      await until('workers', workers, async () => {
        if ((await usage.getWorkersCount()) === 0) throw new Error('no usage worker registered yet');
      });
    } finally {
      await usage.close();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { config, baseUrl, topology: 'api process + workers,scheduler process', call, stop };
}
