import { randomUUID } from 'node:crypto';
import type { Executor, Trx } from '../db/database.js';
import type { Hold } from '../db/schema.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import type { AccountBook, Allocation } from './account-book.js';
import { runLedger, type Ledger } from './run-ledger.js';
import type { AccountGate } from './account-gate.js';

export interface HoldRequest {
  userId: string;
  featureKey: string;
  cost: number;
  /** The base price and pricing rules behind `cost`: the hold keeps the price it quoted. */
  pricing: unknown;
  ttlSeconds: number;
  /** Open holds the account may have at once (TOKENS_MAX_OPEN_HOLDS). */
  maxOpenHolds: number;
}

/**
 * Holds `cost` tokens under the account's row lock, so concurrent callers can never be promised the
 * same tokens. Returns the hold, or null when the spendable balance is short. The caller has released
 * the account's holds past their time (releaseDueHolds), so every open hold counted here is live.
 */
export async function placeHold(trx: Trx, book: AccountBook, req: HoldRequest, now: Date): Promise<{ id: string; expiresAt: Date } | null> {
  book.expireDue(now);
  if (book.balance < req.cost) return null;
  const { open } = await trx
    .selectFrom('holds')
    .select((eb) => eb.fn.countAll<number>().as('open'))
    .where('user_id', '=', req.userId)
    .where('status', '=', 'open')
    .executeTakeFirstOrThrow();
  if (open >= req.maxOpenHolds) {
    throw new EngineError('too_many_holds', `account "${req.userId}" already has ${open} open holds (at most ${req.maxOpenHolds}); use or release one first`, {
      userId: req.userId,
      open,
      limit: req.maxOpenHolds,
    });
  }
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + req.ttlSeconds * 1000);
  const allocations = book.hold(req.cost, { occurredAt: now, featureKey: req.featureKey, holdId: id })!;
  await trx
    .insertInto('holds')
    .values({
      id,
      user_id: req.userId,
      feature_key: req.featureKey,
      cost: req.cost,
      status: 'open',
      allocations: JSON.stringify(allocations),
      pricing: JSON.stringify(req.pricing),
      expires_at: expiresAt,
      created_at: now,
    })
    .execute();
  return { id, expiresAt };
}

type Closing = { status: 'released' | 'expired' | 'used'; settledBy?: string | null };

/** Marks a hold closed after its tokens were released or spent by the account book. */
export async function closeHold(trx: Trx, holdId: string, closing: Closing, now: Date): Promise<void> {
  await trx
    .updateTable('holds')
    .set({ status: closing.status, settled_at: now, settled_by: closing.settledBy ?? null })
    .where('id', '=', holdId)
    .execute();
}

/**
 * Gives a hold's tokens back under its account's lock. An expired hold gives them back as of the instant
 * it expired, whoever writes the entry (the sweep, or the next transaction to lock the account).
 */
export async function releaseLocked(trx: Trx, book: AccountBook, hold: Hold, status: 'released' | 'expired', now: Date): Promise<void> {
  await book.releaseHold(trx, hold.cost, hold.allocations as Allocation[], {
    occurredAt: status === 'expired' ? hold.expires_at : now,
    featureKey: hold.feature_key,
    holdId: hold.id,
    metadata: { reason: status },
  });
  book.expireDue(now);
  await closeHold(trx, hold.id, { status }, now);
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An admin releasing a hold of one account: the hold must be that account's, and the release is audited. */
export interface AdminRelease {
  userId: string;
  actor: string;
}

/**
 * Releases a hold on request. Releasing twice is answered as released; a used or expired hold is closed
 * (one past its time is expired from that instant: its expiry is written, then refused as closed).
 */
export async function releaseHold(ledger: Ledger, holdId: string, now: Date, gate: AccountGate, admin?: AdminRelease): Promise<{ status: 'released' }> {
  if (!uuidPattern.test(holdId)) throw new EngineError('reservation_not_found', `no reservation "${holdId}"`);
  // A hold never changes account: whose it is can be read before waiting for that account.
  const found = await ledger.db.selectFrom('holds').select('user_id').where('id', '=', holdId).executeTakeFirst();
  if (!found || (admin && found.user_id !== admin.userId)) {
    throw new EngineError('reservation_not_found', admin ? `account "${admin.userId}" has no reservation "${holdId}"` : `no reservation "${holdId}"`);
  }
  const status = await gate.run(found.user_id, () => runLedger(ledger, now, [found.user_id], async (books, { trx }) => {
    const book = books.get(found.user_id)!;
    // Re-read under the account lock: every change to a hold happens under its account's lock.
    const hold = await trx.selectFrom('holds').selectAll().where('id', '=', holdId).executeTakeFirstOrThrow();
    if (hold.status !== 'open') return hold.status;
    const closing = hold.expires_at.getTime() <= now.getTime() ? 'expired' : 'released';
    await releaseLocked(trx, book, hold, closing, now);
    if (admin && closing === 'released') {
      await audit(trx, {
        actor: admin.actor,
        action: 'hold.release',
        subject: `account:${admin.userId}`,
        before: { reservationId: hold.id, feature: hold.feature_key, cost: hold.cost, status: 'open' },
        after: { reservationId: hold.id, status: 'released' },
        at: now,
      });
    }
    return closing;
  }));
  if (status === 'released') return { status };
  throw new EngineError('reservation_closed', `reservation "${holdId}" is already ${status}`, { status });
}

export interface OpenHoldView {
  reservationId: string;
  feature: string;
  cost: number;
  createdAt: string;
  expiresAt: string;
}

/** The account's live holds, soonest to expire first; one past its time is not open any more. */
export async function listOpenHolds(db: Executor, userId: string, now: Date): Promise<OpenHoldView[]> {
  const rows = await db
    .selectFrom('holds')
    .select(['id', 'feature_key', 'cost', 'created_at', 'expires_at'])
    .where('user_id', '=', userId)
    .where('status', '=', 'open')
    .where('expires_at', '>', now)
    .orderBy('expires_at')
    .orderBy('id')
    .execute();
  return rows.map((h) => ({ reservationId: h.id, feature: h.feature_key, cost: h.cost, createdAt: h.created_at.toISOString(), expiresAt: h.expires_at.toISOString() }));
}

/** The sweep: every open hold whose time has passed gives its tokens back. Returns how many expired. */
export async function expireHolds(ledger: Ledger, now: Date, batchSize = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const due = await ledger.db
      .selectFrom('holds')
      .select(['id', 'user_id'])
      .where('status', '=', 'open')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(batchSize)
      .execute();
    if (due.length === 0) return total;
    total += await runLedger(ledger, now, due.map((h) => h.user_id), async (books, { trx }) => {
      const holds = await trx
        .selectFrom('holds')
        .selectAll()
        .where('id', 'in', due.map((h) => h.id))
        .where('status', '=', 'open')
        .execute();
      for (const hold of holds) await releaseLocked(trx, books.get(hold.user_id)!, hold, 'expired', now);
      return holds.length;
    });
    if (due.length < batchSize) return total;
  }
}

/** The sweep for grants: every account holding tokens past their expiry loses them, with an entry. */
export async function expireGrants(ledger: Ledger, now: Date, batchSize = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const due = await ledger.db
      .selectFrom('grants')
      .select('user_id')
      .distinct()
      .where('remaining', '>', 0)
      .where('expires_at', '<=', now)
      .limit(batchSize)
      .execute();
    if (due.length === 0) return total;
    total += await runLedger(ledger, now, due.map((d) => d.user_id), async (books) => {
      let expired = 0;
      for (const book of books.values()) expired += book.expireDue(now);
      return expired;
    });
    if (due.length < batchSize) return total;
  }
}
