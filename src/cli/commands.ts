import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { EngineError } from '../errors.js';
import { checkPostgres, checkRedis, migrateAndSeed } from '../startup.js';
import { createDb } from '../db/database.js';
import { ensureDatabase } from '../db/ensure-database.js';
import { migrateToLatest } from '../db/migrate.js';
import { seedCatalog } from '../catalog/seed.js';
import { createEngine, closeEngine, type Engine } from '../engine.js';
import { getAccountView } from '../accounts/accounts.js';
import { listLedger } from '../accounts/ledger-history.js';
import { grantManually } from '../ledger/manual-grant.js';
import { changeFeature } from '../catalog/change-feature.js';
import { isScheduledJob, scheduledJobs } from '../jobs/scheduled-jobs.js';
import { enqueueScheduledJob } from '../jobs/scheduler.js';
import { record, table } from './table.js';

type Options = Record<string, string | boolean | undefined>;
type Command = (config: Config, log: Logger, args: string[], options: Options) => Promise<void>;

const ACTOR = 'cli';

/** `--json`: the result as JSON, for scripts, instead of the tables and lines people read. */
function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

function wholeNumber(value: string | undefined, what: string): number {
  const n = Number(value);
  if (!value || !Number.isSafeInteger(n)) throw new EngineError('validation_failed', `${what} must be a whole number`);
  return n;
}

async function withEngine(config: Config, log: Logger, fn: (engine: Engine) => Promise<void>): Promise<void> {
  await checkPostgres(config);
  await checkRedis(config, log);
  await migrateAndSeed(config, log);
  const engine = await createEngine({ ...config, roles: ['api'] }, log);
  try {
    await fn(engine);
  } finally {
    await closeEngine(engine);
  }
}

export const commands: Record<string, Command> = {
  async migrate(config) {
    await ensureDatabase(config.databaseUrl);
    const db = createDb(config.databaseUrl, 1);
    try {
      const applied = await migrateToLatest(db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    } finally {
      await db.destroy();
    }
  },

  async seed(config) {
    const db = createDb(config.databaseUrl, 1);
    try {
      const seeded = await seedCatalog(db);
      console.log(`seeded ${seeded.plans} plans and ${seeded.features} features (existing ones untouched)`);
    } finally {
      await db.destroy();
    }
  },

  async account(config, log, [userId], options) {
    if (!userId) throw new EngineError('validation_failed', 'usage: tokens account <userId> [--json]');
    await withEngine(config, log, async (engine) => {
      const view = await getAccountView(engine.db, userId, await engine.clock.now());
      const { entries } = await listLedger(engine.db, userId, { limit: 10 });
      if (options.json) return print({ account: view, ledger: entries });
      console.log(
        record({
          userId: view.userId,
          plan: `${view.plan.name} (${view.plan.id}, ${view.plan.monthlyTokens} a month)`,
          balance: view.balance,
          held: view.held,
          period: `${view.period.start} to ${view.period.end}`,
          used: `${view.usedThisPeriod} of ${view.allocatedThisPeriod} (${view.percentUsed}%)`,
          warning: view.warning?.message ?? 'none',
          loyalty: `${view.loyalty.months} paid months, ${view.loyalty.bonusPercent}% bonus`,
        }),
      );
      console.log('latest ledger entries');
      console.log(table(entries.map((e) => ({ at: e.occurredAt, kind: e.kind, amount: e.amount, balance: e.balanceAfter, feature: e.feature ?? e.source }))));
    });
  },

  async grant(config, log, [userId, tokens], options) {
    if (!userId || typeof options.reason !== 'string') {
      throw new EngineError('validation_failed', 'usage: tokens grant <userId> <tokens> --reason "why" [--expires-at ISO]');
    }
    const amount = wholeNumber(tokens, 'tokens');
    if (amount < 1) throw new EngineError('validation_failed', 'tokens must be >= 1');
    await withEngine(config, log, async (engine) => {
      const expires = typeof options['expires-at'] === 'string' ? new Date(options['expires-at']) : undefined;
      const result = await grantManually(engine.ledger, { userId, tokens: amount, reason: options.reason as string, expiresAt: expires }, ACTOR, await engine.clock.now(), engine.accountGate);
      if (options.json) return print(result);
      console.log(`granted ${amount} tokens to ${userId}: balance ${result.balance}`);
    });
  },

  async 'set-cost'(config, log, [feature, cost], options) {
    if (!feature) throw new EngineError('validation_failed', 'usage: tokens set-cost <feature> <cost>');
    const value = wholeNumber(cost, 'cost');
    if (value < 0) throw new EngineError('validation_failed', 'cost must be >= 0');
    await withEngine(config, log, async (engine) => {
      const result = await changeFeature(engine.db, feature, { cost: value }, ACTOR, await engine.clock.now());
      if (options.json) return print(result);
      console.log(`${feature} now costs ${result.cost} (from ${result.effectiveFrom})`);
    });
  },

  async run(config, log, [name], options) {
    if (!name || !isScheduledJob(name)) {
      throw new EngineError('validation_failed', `usage: tokens run <job>; jobs: ${Object.keys(scheduledJobs).join(', ')}`);
    }
    await withEngine(config, log, async (engine) => {
      const asOf = typeof options['as-of'] === 'string' ? new Date(options['as-of']) : undefined;
      const id = await enqueueScheduledJob(engine, name, asOf);
      if (options.json) return print({ status: 'queued', name, jobId: id });
      console.log(`enqueued ${name} (job ${id}); a running worker applies it`);
    });
  },
};
