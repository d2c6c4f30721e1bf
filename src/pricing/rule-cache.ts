import type { Executor } from '../db/database.js';
import { loadRuleBook, RuleBook } from './rule-book.js';

/**
 * The rules as this process last loaded them, for /v1/check's hot path. The check query reads
 * pricing_state.version in the same round trip, so a change anywhere (a rule saved, a demand level
 * computed) is seen by the very next check: no TTL, no stale quote.
 */
export class RuleCache {
  private book: RuleBook = RuleBook.empty;
  private version = -1;
  private loading: Promise<RuleBook> | undefined;

  async at(exec: Executor, version: number, now: Date): Promise<RuleBook> {
    if (version === this.version) return this.book;
    this.loading ??= loadRuleBook(exec, { from: now, to: now }).then(
      (book) => {
        this.book = book;
        this.version = version;
        this.loading = undefined;
        return book;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }
}
