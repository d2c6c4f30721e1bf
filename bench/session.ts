import { cleanup, isolation, type Isolation } from './isolation.js';
import { startEngine, type BenchEngine } from './engine.js';
import type { Topology } from './topology.js';

export const step = (what: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${what}`);

/** Tear-downs of sessions still open, for Ctrl-C. */
const open = new Set<() => Promise<void>>();

/** Stops every engine still running and drops its database and Redis keys (SIGINT). */
export const tidyOpenSessions = () => Promise.all([...open].map((tidy) => tidy()));

/**
 * Runs `fn` against the engine laid out as `topology`, on a database and Redis prefix of its own, and
 * always stops the processes, shows what they logged and cleans up afterwards.
 */
export async function withEngine<T>(topology: Topology, fn: (engine: BenchEngine, iso: Isolation) => Promise<T>, opts: { iso?: Pick<Isolation, 'env'> } = {}): Promise<T> {
  const iso = { ...isolation(), ...opts.iso };
  let engine: BenchEngine | undefined;
  let tidied: Promise<void> | undefined;
  const tidy = () =>
    (tidied ??= (async () => {
      await engine?.stop();
      const logs = engine?.logs().trim();
      if (logs) console.error(`engine (${topology.name}) logged (LOG_LEVEL=error):\n${logs.split('\n').slice(-40).join('\n')}`);
      const { keysDeleted } = await cleanup(iso);
      step(`cleaned up: dropped ${iso.databaseUrl.split('/').pop()}, deleted ${keysDeleted} Redis keys under ${iso.prefix}:`);
    })());
  open.add(tidy);
  try {
    step(`starting ${topology.name} (database ${iso.databaseUrl.split('/').pop()}, prefix ${iso.prefix})`);
    engine = await startEngine(iso, topology);
    return await fn(engine, iso);
  } finally {
    await tidy();
    open.delete(tidy);
  }
}
