import type { Trx } from '../db/database.js';
import type { AccountBook } from '../ledger/account-book.js';
import type { LedgerUnit } from '../ledger/run-ledger.js';
import type { StripeEvent } from './stripe-objects.js';
import { renewDue } from './renewal.js';
import type { BillingRules } from './billing-rules.js';

/**
 * `waiting`: the event needs state that has not arrived (its `waitingFor` key) and is applied again when it
 * does. `retry`: the state arrived while the event was deciding to wait; it is queued again at once.
 */
export type EventStatus = 'applied' | 'ignored' | 'failed' | 'waiting' | 'retry';

/** What a Stripe event did, kept on the event for admins: a stable code and a sentence. */
export interface EventOutcome {
  status: EventStatus;
  code: string;
  message: string;
  userId?: string | null;
  waitingFor?: string;
}

export const applied = (code: string, message: string, userId: string): EventOutcome => ({ status: 'applied', code, message, userId });
export const ignored = (code: string, message: string, userId: string | null = null): EventOutcome => ({ status: 'ignored', code, message, userId });
/** An event that cannot be applied as sent (unknown account or plan, bad metadata): recorded, not retried. */
export const failed = (code: string, message: string, userId: string | null = null): EventOutcome => ({ status: 'failed', code, message, userId });
/** An event that is merely early: it waits for the state named by `key`, and is applied again when it arrives. */
export const waiting = (key: string, code: string, message: string, userId: string | null = null): EventOutcome => ({
  status: 'waiting',
  code,
  message,
  userId,
  waitingFor: key,
});
export const retry = (message: string): EventOutcome => ({ status: 'retry', code: 'retry', message });

/** The keys events wait under: the state each names is locked by whoever creates it. */
export const waitKeys = {
  subscription: (id: string) => `subscription:${id}`,
  paymentRef: (ref: string) => `ref:${ref}`,
  checkout: (id: string) => `checkout:${id}`,
};

/** One event being applied: its unit of work (which flushes the accounts it locked), its times. */
export class PaymentContext {
  private readonly books: AccountBook[] = [];
  readonly trx: Trx;
  readonly now: Date;
  /** Keys of state this event created: events waiting on them are applied again after it commits. */
  readonly wakes = new Set<string>();
  /** Waiting events this event settles without applying them again (an unpaid session its async payment answered). */
  readonly settles = new Map<string, EventOutcome>();

  constructor(
    private readonly unit: LedgerUnit,
    readonly event: StripeEvent,
    readonly rules: BillingRules,
  ) {
    this.trx = unit.trx;
    this.now = unit.now;
  }

  /** When Stripe created the event (its billing time), never after the engine's now. */
  get eventAt(): Date {
    const created = this.event.created;
    if (typeof created !== 'number') return this.now;
    return new Date(Math.min(created * 1000, this.now.getTime()));
  }

  /** Locks the account and first brings it up to date (renewals, an expired grace), so the payment lands in the right period. */
  async account(userId: string): Promise<AccountBook | undefined> {
    const known = this.books.find((b) => b.userId === userId);
    if (known) return known;
    const book = await this.unit.lockOne(userId);
    if (!book) return undefined;
    await renewDue(this.trx, book, this.now, this.rules);
    this.books.push(book);
    return book;
  }

  wake(key: string): void {
    this.wakes.add(key);
  }

  settle(key: string, outcome: EventOutcome): void {
    this.settles.set(key, outcome);
  }
}
