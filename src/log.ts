import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * The engine's logger: JSON lines (for a log pipeline) unless the output is a terminal, where a person
 * reads it: then pino-pretty's coloured lines, written synchronously so that nothing is lost at exit.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, opts: { pretty?: boolean } = {}): Logger {
  const options = { level, base: { pid: process.pid, ...base } };
  if (!(opts.pretty ?? process.stdout.isTTY === true)) return pino(options);
  return pino(options, pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
