import pg from 'pg';
import { EngineError } from '../errors.js';

/**
 * The ledger was asked to store a state its invariants forbid (a negative balance or hold, an overspent
 * grant, an entry that names no grant or account): a bug in the engine or rows changed by hand, never
 * the caller's data. Retrying writes the same state again, so the workers fail the job once, for good,
 * and count it (`tokens_ledger_invariant_violations_total`); reconcile (docs/reconcile.md) finds the rows.
 */
export class LedgerInvariantViolated extends EngineError {
  constructor(message: string, details?: Record<string, unknown>, cause?: unknown) {
    super('ledger_invariant_violated', `ledger invariant violated: ${message}`, details);
    this.name = 'LedgerInvariantViolated';
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * The schema's own statements of the ledger's invariants (migrations/2026-11-24T1210_create_accounts_and_ledger.ts):
 * a flush that breaks one of them computed a state that cannot be. Any other check a row fails is about a
 * value (as a constraint an operator adds would be): the usage worker splits such an event out and rejects it.
 */
const INVARIANT_CHECKS = new Set([
  'accounts_balance_check',
  'accounts_held_check',
  'accounts_period_allocated_check',
  'accounts_period_used_check',
  'accounts_check',
  'grants_check',
  'grants_tokens_check',
  'grants_source_check',
  'ledger_entries_balance_after_check',
  'ledger_entries_held_after_check',
  'ledger_entries_cost_check',
  'ledger_entries_kind_check',
]);

// 23502 not_null_violation and 23503 foreign_key_violation: the flush wrote a row without what it must name.
// A unique violation (23505) is not one: two transactions may race for one key, and a retry finds it taken.
const isInvariant = (e: pg.DatabaseError) =>
  e.code === '23502' || e.code === '23503' || (e.code === '23514' && e.constraint !== undefined && INVARIANT_CHECKS.has(e.constraint));

/** What the flush raises when PostgreSQL refuses the books' rows: an invariant broken, else the error itself. */
export function asLedgerInvariant(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError) || !isInvariant(error)) return error;
  return new LedgerInvariantViolated(
    `PostgreSQL refused the flush (${error.code}${error.constraint ? `, ${error.constraint}` : ''}): ${error.message}`,
    { sqlstate: error.code, table: error.table ?? null, constraint: error.constraint ?? null },
    error,
  );
}
