import type { FastifyInstance } from 'fastify';
import type { Worker } from 'bullmq';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createEngine, closeEngine, type Engine } from './engine.js';
import { buildApp, buildOpsApp } from './http/app.js';
import { startScheduler } from './jobs/scheduler.js';
import { startWorkers, stopWorkers } from '../workers/index.js';
import { checkPostgres, checkRedis, ensureKeys, migrateAndSeed } from './startup.js';

export interface RunningEngine {
  engine: Engine;
  app: FastifyInstance | null;
  /** The port the API listens on (useful with PORT=0). */
  port: number | null;
  /** Where a process without the api role serves /health and /metrics (TOKENS_METRICS_PORT), if anywhere. */
  metricsPort: number | null;
  stop(): Promise<void>;
}

/**
 * Starts the roles this process was given: checks both services, migrates and seeds, then the API,
 * the workers and the scheduler. `stop` drains in the safe order: stop taking requests, flush what was
 * accepted to the queue, let in-flight jobs finish, close the pools.
 */
export async function runEngine(baseConfig: Config, log: Logger): Promise<RunningEngine> {
  await checkPostgres(baseConfig);
  await checkRedis(baseConfig, log);
  await migrateAndSeed(baseConfig, log);
  const config = baseConfig.roles.includes('api') ? ensureKeys(baseConfig, log) : baseConfig;
  const engine = await createEngine(config, log);

  let workers: Worker[] = [];
  if (config.roles.includes('workers')) workers = startWorkers(engine);
  const scheduler = config.roles.includes('scheduler') ? startScheduler(engine) : null;
  let app: FastifyInstance | null = null;
  let port: number | null = null;
  if (config.roles.includes('api')) {
    app = await buildApp(engine);
    port = await listen(app, config.port, config.host);
  }
  let opsApp: FastifyInstance | null = null;
  let metricsPort: number | null = null;
  if (!app && config.metricsPort !== undefined) {
    opsApp = buildOpsApp(engine);
    metricsPort = await listen(opsApp, config.metricsPort, config.host);
  }
  log.info({ roles: config.roles, port, metricsPort, testClock: config.testClock }, 'token engine running');

  let stopping: Promise<void> | undefined;
  return {
    engine,
    app,
    port,
    metricsPort,
    stop() {
      stopping ??= (async () => {
        if (app) {
          // Keep-alive connections that finish their last request during the drain go idle after
          // close() has already swept the idle ones; keep sweeping so the drain ends.
          const sweeper = setInterval(() => app!.server.closeIdleConnections(), 100);
          await app.close();
          clearInterval(sweeper);
        }
        await opsApp?.close();
        log.debug('api closed');
        await scheduler?.stop();
        log.debug('scheduler stopped');
        await stopWorkers(workers, config.shutdownTimeoutMs, log);
        log.debug('workers stopped');
        await closeEngine(engine);
        log.debug('connections closed');
      })();
      return stopping;
    },
  };
}

/** Listens and returns the port it got (PORT=0 asks for any free one). */
async function listen(app: FastifyInstance, port: number, host: string): Promise<number> {
  await app.listen({ port, host });
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : port;
}
