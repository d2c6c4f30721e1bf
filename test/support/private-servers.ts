import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the process has exited; fails after `timeoutMs` instead of waiting forever. */
export async function untilExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => child.once('exit', () => resolve())),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const onExit = new Set<() => void>();
let hooked = false;

/**
 * Makes sure a server the test started does not outlive the test process, even when a test fails
 * before its cleanup: `stop` runs synchronously at exit. Returns a function that cancels it.
 */
export function whenExiting(what: ChildProcess | (() => void)): () => void {
  const stop = typeof what === 'function' ? what : () => void (what.exitCode === null && what.signalCode === null && what.kill('SIGKILL'));
  onExit.add(stop);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const s of onExit) {
        try {
          s();
        } catch {
          // best effort at exit
        }
      }
    });
  }
  return () => void onExit.delete(stop);
}
