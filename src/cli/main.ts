import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { EngineError } from '../errors.js';
import { commands } from './commands.js';
import { simulate } from './simulate.js';

const usage = `tokens: operate the token engine (reads the same environment as npm start)

  tokens migrate                              create the database if missing and migrate it
  tokens seed                                 insert the default catalog where it is missing
  tokens account <userId>                     show an account and its latest ledger entries
  tokens grant <userId> <tokens> --reason R [--expires-at ISO]
  tokens set-cost <feature> <cost>            a new price, in force from now (audited)
  tokens run <job> [--as-of ISO]              run a scheduled job now (holds, renewals, rollups, ...)
  tokens simulate [--users 120] [--days 30] [--url http://127.0.0.1:3000]
                                              many users on every plan using features, through the API
                                              of a running engine (on its test clock when it has one)

  --json       print the result as JSON (for scripts) instead of tables and lines
  --verbose    show the engine's own log lines (LOG_LEVEL, info by default); without it only errors`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    reason: { type: 'string' },
    'expires-at': { type: 'string' },
    'as-of': { type: 'string' },
    users: { type: 'string' },
    days: { type: 'string' },
    url: { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  },
});
const [command, ...args] = positionals;

try {
  if (!command || values.help) {
    console.log(usage);
  } else if (command === 'simulate') {
    await simulate({
      url: values.url ?? process.env.TOKENS_URL ?? 'http://127.0.0.1:3000',
      users: Number(values.users ?? 120),
      days: Number(values.days ?? 30),
      json: values.json === true,
    });
  } else {
    const run = commands[command];
    if (!run) throw new EngineError('validation_failed', `unknown command "${command}"\n\n${usage}`);
    const config = loadConfig();
    // What the engine logs as it starts (Redis settings, migrations) is for `npm start`'s operator, not
    // for each CLI call: only errors, unless asked.
    await run(config, createLogger(values.verbose ? (process.env.LOG_LEVEL ?? 'info') : 'error'), args, values);
  }
  process.exit(0);
} catch (error) {
  console.error(error instanceof EngineError ? `${error.code}: ${error.message}` : (error as Error).message);
  process.exit(1);
}
