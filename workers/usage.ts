import { UnrecoverableError, Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { cappedBackoff, usageJobSchema } from '../src/queues.js';
import { applyUsage, type UsageOutcome } from '../src/usage/apply-usage.js';
import { ApplyLanes } from '../src/usage/apply-lanes.js';
import { queuedUsageEventSchema, type QueuedUsageEvent } from '../src/usage/usage-event.js';
import { recordable, rejectUnapplicable, type UnapplicableEvent } from '../src/usage/unapplicable.js';
import { isDataError } from '../src/db/database-errors.js';
import { runLedger } from '../src/ledger/run-ledger.js';
import { LiveFeedPublisher } from '../src/insight/live-feed.js';
import { runStandalone } from './standalone.js';
import { observeWorker } from './observe.js';
import { LedgerInvariantJobFailed, reportLedgerInvariant } from './ledger-invariant.js';
import { LedgerInvariantViolated } from '../src/ledger/ledger-invariant.js';

/**
 * Applies usage jobs to the ledger. The worker holds up to `usagePrefetch` jobs at once and applies them
 * in at most `usageConcurrency` transactions, merging the jobs that wait on a lane (ApplyLanes). An event
 * the worker cannot apply is settled `rejected` (`invalid_event`) on its own; the rest of its job goes on.
 */
export function startUsageWorker(engine: Engine): Worker {
  const feed = new LiveFeedPublisher(engine.redis, engine.config.keyPrefix, engine.log);
  const reject = async (event: Partial<UnapplicableEvent>, error: unknown): Promise<UsageOutcome> => {
    if (error instanceof LedgerInvariantViolated) {
      reportLedgerInvariant(engine, 'usage', error, { idempotencyKey: event.idempotencyKey, userId: event.userId });
      return { idempotencyKey: String(event.idempotencyKey), userId: String(event.userId), status: 'rejected', cost: 0, unrecorded: true, brokeInvariant: true };
    }
    engine.log.warn({ err: error, idempotencyKey: event.idempotencyKey, userId: event.userId }, 'usage event cannot be applied; rejected as invalid_event');
    const unrecorded: UsageOutcome = { idempotencyKey: String(event.idempotencyKey), userId: String(event.userId), status: 'rejected', reason: 'invalid_event', cost: 0, unrecorded: true };
    if (!recordable(event)) return unrecorded;
    try {
      const now = await engine.clock.now();
      return await engine.db.transaction().execute((trx) => rejectUnapplicable(trx, event, now));
    } catch (recordError) {
      if (!isDataError(recordError)) throw recordError;
      return unrecorded;
    }
  };
  const lanes = new ApplyLanes(
    async (events) => {
      const now = await engine.clock.now();
      return runLedger(
        engine.ledger,
        now,
        [],
        (_, unit) => applyUsage(unit, events),
        (outcomes) => feed.published(events, outcomes, now),
      );
    },
    {
      lanes: engine.config.usageConcurrency,
      maxEvents: engine.config.usageTransactionMaxEvents,
      // An event that breaks a ledger invariant is split out like one whose data is refused: it fails
      // alone (its job for good, unrecorded), and the other events of its transaction are applied.
      isDataError: (error) => isDataError(error) || error instanceof LedgerInvariantViolated,
      reject,
      onTransaction: (jobs) => engine.metrics.usageTransactionJobs.observe(jobs),
    },
  );
  const worker = new Worker(
    'usage',
    async (job) => {
      const parsed = usageJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed usage job: ${parsed.error.message}`);
      const valid: QueuedUsageEvent[] = [];
      const invalid: UsageOutcome[] = [];
      for (const raw of parsed.data.events) {
        const event = queuedUsageEventSchema.safeParse(raw);
        if (event.success) valid.push(event.data);
        else invalid.push(await reject((raw ?? {}) as Partial<UnapplicableEvent>, event.error));
      }
      const outcomes = [...invalid, ...(valid.length > 0 ? await lanes.apply(laneOf(job.name), valid) : [])];
      const counts = { applied: 0, rejected: 0, duplicate: 0 };
      for (const o of outcomes) {
        if (o.brokeInvariant) continue; // not settled: counted as a broken invariant instead
        counts[o.status]++;
        engine.metrics.usageEvents.inc({ outcome: o.status, reason: o.reason ?? '' });
      }
      engine.backlog.settled(parsed.data.events.length);
      engine.intake.forgetSettled(outcomes.filter((o) => !o.unrecorded).map((o) => o.idempotencyKey));
      const unrecorded = outcomes.filter((o) => o.unrecorded).length;
      // Kept in the failed set, payload and all, for an operator: the rest of the job has settled.
      const broken = outcomes.filter((o) => o.brokeInvariant).map((o) => o.idempotencyKey);
      if (broken.length > 0) throw new LedgerInvariantJobFailed(`applying ${broken.join(', ')} broke a ledger invariant; the job's other events settled`);
      if (unrecorded > 0) throw new UnrecordedEvents(unrecorded);
      return counts;
    },
    {
      connection: engine.workerConnection,
      prefix: engine.config.queuePrefix,
      concurrency: engine.config.usagePrefetch,
      // A job whose worker died (SIGKILL, OOM, lost host) keeps its lock until it expires; stalled-job
      // detection then hands it to another worker, which settles it once (settled keys are skipped), so
      // a job may stall many times before BullMQ gives up on it.
      lockDuration: engine.config.workerLockMs,
      stalledInterval: engine.config.workerLockMs,
      maxStalledCount: 20,
      settings: { backoffStrategy: cappedBackoff },
    },
  );
  // A job that failed for good no longer waits to be applied (its events settled, or wait for an operator).
  worker.on('failed', (job, error) => {
    if (!job) return;
    if (error instanceof UnrecordedEvents || error instanceof LedgerInvariantJobFailed) return; // counted off when its other events settled
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    const events = (job.data as { events?: unknown }).events;
    if (final && Array.isArray(events)) engine.backlog.settled(events.length);
  });
  return observeWorker(engine, worker, 'usage');
}

/** A job whose other events settled but some of which cannot even be recorded as rejected. */
class UnrecordedEvents extends UnrecoverableError {
  constructor(count: number) {
    super(`${count} event(s) of this job have no storable idempotencyKey or userId; the job's other events settled`);
  }
}

/** The batcher names a job after its shard (`shard-3`): one shard, one lane, disjoint accounts per lane. */
function laneOf(jobName: string): number {
  const shard = /^shard-(\d+)$/.exec(jobName);
  return shard ? Number(shard[1]) : 0;
}

runStandalone(import.meta.url, 'usage', startUsageWorker);
