import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cloneTemplate } from './databases.js';
import { startArgs } from '../../scripts/start-args.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// What `npm start` runs: the build (test/support/global-setup.ts makes it), one OS process per engine
// with nothing in between, so signals reach the engine itself.
const nodeArgs = startArgs(root);

export interface EngineProcess {
  child: ChildProcess;
  port: number | null;
  output: string[];
  /** Sends SIGTERM and waits for the process to exit; returns its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Runs `npm start`'s entry point as a separate OS process with the given environment and roles. */
export async function spawnEngine(env: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<EngineProcess> {
  if (env.DATABASE_URL) await cloneTemplate(env.DATABASE_URL);
  return startEngineCommand([process.execPath, ...nodeArgs], { cwd: root, env, timeoutMs: opts.timeoutMs });
}

/**
 * Runs a command that starts the engine (its entry point, or `npm start` in an installed copy) and
 * resolves once the engine says it runs; the database is left to the engine to create and migrate.
 */
export async function startEngineCommand(command: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number | undefined }): Promise<EngineProcess> {
  const [file, ...args] = command;
  const child = spawn(file!, args, {
    cwd: opts.cwd,
    // The readiness line is logged at info.
    env: { ...process.env, ...opts.env, LOG_LEVEL: process.env.CHILD_LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine process did not start:\n${output.join('\n')}`)), opts.timeoutMs ?? 90_000);
    const onLine = (line: string) => {
      output.push(line);
      if (line.includes('token engine running')) {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number | null }).port);
        } catch {
          resolve(null);
        }
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`engine process exited with ${code}:\n${output.join('\n')}`));
    });
  });
  const port = await ready;
  return {
    child,
    port,
    output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the engine's entry expecting it to fail at start; resolves with its exit code and output. */
export async function runToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  if (env.DATABASE_URL) await cloneTemplate(env.DATABASE_URL);
  const child = spawn(process.execPath, nodeArgs, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, output };
}
