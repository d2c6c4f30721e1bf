import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, untilExit, whenExiting } from './private-servers.js';

/** What the engine asks of a Redis that holds queued usage (README, "Failure behaviour"). */
export const durableRedis = ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'];

export interface PrivateRedis {
  port: number;
  url: string;
  /** Its working directory: the append-only file lives here and survives kill() and restart(). */
  dir: string;
  /** Whatever the server printed, for a failing test's message. */
  output: string[];
  running(): boolean;
  /** SIGKILL: no shutdown, no final save; what the append-only file holds is all that remains. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory, with the same settings. */
  start(): Promise<void>;
  /** Removes the server and its directory. */
  remove(): Promise<void>;
}

/**
 * A redis-server of the test's own, on a free port with its own directory, for tests that break it.
 * The shared server is never touched. `settings` are redis-server arguments (`durableRedis` by default).
 */
export async function startPrivateRedis(settings: string[] = durableRedis): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tokens-redis-'));
  const output: string[] = [];
  let child: ChildProcess | null = null;
  let stopWatching = () => {};

  const start = async () => {
    if (child) throw new Error('private redis is already running');
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...settings], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    stopWatching = whenExiting(proc);
    proc.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
    await untilReady(port, output, 10_000);
  };
  const kill = async () => {
    const proc = child;
    if (!proc) return;
    proc.kill('SIGKILL');
    await untilExit(proc, 5_000);
    stopWatching();
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    output,
    running: () => child !== null,
    kill,
    start,
    async remove() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls PING until the server answers, loading its append-only file included (bounded). */
async function untilReady(port: number, output: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not listening yet, or still loading the append-only file (LOADING)
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`private redis on ${port} did not start:\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
