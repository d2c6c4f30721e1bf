import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { runEngine } from './run.js';

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
})();
const log = createLogger(config.logLevel);

try {
  const running = await runEngine(config, log);
  const shutdown = (signal: string) => {
    log.info({ signal }, 'draining: finishing in-flight requests and jobs');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  console.error(`token engine cannot start: ${(error as Error).message}`);
  process.exit(1);
}
