import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'bullmq';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { createEngine, closeEngine, type Engine } from '../src/engine.js';
import { checkPostgres, checkRedis, migrateAndSeed } from '../src/startup.js';

/** Runs one worker as its own process when its file is the entry point (`node dist/workers/usage.js`). */
export function runStandalone(moduleUrl: string, name: string, start: (engine: Engine) => Worker): void {
  const entry = process.argv[1];
  if (!entry || realpathSync(entry) !== realpathSync(fileURLToPath(moduleUrl))) return;
  void (async () => {
    const config = loadConfig();
    const log = createLogger(config.logLevel, { role: `worker:${name}` });
    await checkPostgres(config);
    await checkRedis(config, log);
    await migrateAndSeed(config, log);
    const engine = await createEngine(config, log);
    const worker = start(engine);
    log.info(`${name} worker running`);
    process.once('SIGTERM', () => void worker.close().then(() => closeEngine(engine)).then(() => process.exit(0)));
    process.once('SIGINT', () => void worker.close().then(() => closeEngine(engine)).then(() => process.exit(0)));
  })().catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
