import { UnrecoverableError, type Job } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { LedgerInvariantViolated } from '../src/ledger/ledger-invariant.js';

/** The job's failure when applying it broke a ledger invariant: BullMQ does not retry an UnrecoverableError. */
export class LedgerInvariantJobFailed extends UnrecoverableError {
  readonly code = 'ledger_invariant_violated';

  constructor(message: string, cause?: unknown) {
    super(message);
    this.name = 'LedgerInvariantJobFailed';
    if (cause !== undefined) this.cause = cause;
  }
}

/** Logged as an error and counted: a broken invariant is an engine bug someone must look at. */
export function reportLedgerInvariant(engine: Engine, queue: string, error: LedgerInvariantViolated, ids: Record<string, unknown>): void {
  engine.metrics.ledgerInvariantViolations.inc({ queue });
  engine.log.error({ err: error, queue, ...ids, details: error.details }, `${queue}: ${error.message}; the job fails for good, nothing of it was written`);
}

/**
 * Wraps a processor so that a broken ledger invariant fails its job once, for good, instead of once per
 * attempt: the same job would compute the same state again. `onBroken` may record the failure (in a
 * transaction of its own: the job's rolled back).
 */
export function failOnceOnInvariant<T>(
  engine: Engine,
  queue: string,
  processor: (job: Job) => Promise<T>,
  onBroken?: (job: Job, error: LedgerInvariantViolated) => Promise<void>,
): (job: Job) => Promise<T> {
  return async (job) => {
    try {
      return await processor(job);
    } catch (error) {
      if (!(error instanceof LedgerInvariantViolated)) throw error;
      reportLedgerInvariant(engine, queue, error, { jobId: job.id });
      await onBroken?.(job, error);
      throw new LedgerInvariantJobFailed(error.message, error);
    }
  };
}
